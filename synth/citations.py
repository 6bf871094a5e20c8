"""How studies are cited in tables, sheets and the report (Vancouver-style authors, short citations)."""

from __future__ import annotations

import re


def short_author(name: str) -> str:
    """'Walker, Janet S' or 'Walker JS' -> 'Walker JS' (Vancouver style)."""
    name = " ".join((name or "").split())
    if "," in name:
        family, given = (p.strip() for p in name.split(",", 1))
        initials = "".join(w[0].upper() for w in re.split(r"[\s\-.]+", given) if w and w[0].isalpha())
        return f"{family} {initials}".strip()
    return name


def format_authors(authors: list[str], keep: int = 2) -> str:
    names = [short_author(a) for a in authors or [] if a and a.strip()]
    if not names:
        return ""
    if len(names) <= keep + 1:
        return ", ".join(names)
    return ", ".join(names[:keep]) + ", et al."


def record_link(rec: dict) -> str:
    if rec.get("doi"):
        return f"https://doi.org/{rec['doi']}"
    if rec.get("pmid"):
        return f"https://pubmed.ncbi.nlm.nih.gov/{rec['pmid']}/"
    if rec.get("pmcid"):
        return f"https://www.ncbi.nlm.nih.gov/pmc/articles/{rec['pmcid']}/"
    if rec.get("openalex"):
        return f"https://openalex.org/{rec['openalex']}"
    url = (rec.get("url") or "").strip()
    return url if re.match(r"^https?://", url, re.I) else ""  # never a javascript: or data: link


def citation(rec: dict) -> dict:
    """The parts of a formatted citation, and the whole as one line of text."""
    authors = format_authors(rec.get("authors") or [])
    year = rec.get("year")
    title = (rec.get("title") or "").strip().rstrip(".")
    journal = (rec.get("journal") or "").strip().rstrip(".")
    link = record_link(rec)
    parts = [p for p in (authors.rstrip(".") + "." if authors else "", f"({year})." if year else "",
                         f"{title}." if title else "", f"{journal}." if journal else "", link) if p]
    return {"id": rec["id"], "authors": authors, "year": year, "title": title, "journal": journal,
            "doi": rec.get("doi"), "pmid": rec.get("pmid"), "link": link, "design": rec.get("design") or "",
            "text": " ".join(parts)}


_PARTICLES = {"de", "da", "das", "dos", "di", "du", "del", "della", "van", "von", "der", "den", "ten", "ter", "la", "le", "al", "el", "bin", "ibn"}


def family_of(name) -> str:
    """The family name as written: 'de Vries, Sanne' / 'de Vries S' / 'Sanne de Vries' -> 'de Vries'."""
    if isinstance(name, dict):
        return str(name.get("family") or "").strip()
    name = " ".join(str(name or "").split())
    if "," in name:
        return name.split(",", 1)[0].strip()
    words = name.split(" ")
    if len(words) > 1 and len(words[-1]) <= 3 and words[-1].replace(".", "").isupper():
        return " ".join(words[:-1])  # Vancouver: family name, then initials
    for i, w in enumerate(words[:-1]):
        if w.lower() in _PARTICLES and i > 0:
            return " ".join(words[i:])  # "Sanne de Vries"
    return words[-1] if words else ""


def short_citation(rec: dict) -> str:
    """'Walker et al. 2019', 'Ito 2023', 'Lindqvist & Nørgaard 2021', 'de Vries et al. 2023' (for quotes
    in table cells and fragment lists)."""
    fams = [f for f in (family_of(a) for a in rec.get("authors") or [] if a) if f]
    who = fams[0] if len(fams) == 1 else f"{fams[0]} & {fams[1]}" if len(fams) == 2 else f"{fams[0]} et al." if fams else (rec.get("title") or rec["id"])[:40]
    return f"{who} {rec.get('year') or 'n.d.'}"
