"""Reference exports: RIS (rispy), BibTeX (bibtexparser 2), CSL-JSON and synth's own JSONL.

Every identifier travels in the place reference managers and synth's importers read it:
  RIS:      DO doi · N1 "PMID: n" · C2 "PMCID: PMCn" · N1 "OpenAlex: W…" · UR links
  BibTeX:   doi · pmid (+ eprint/eprinttype=pubmed for biblatex) · pmcid · openalex · url
  CSL-JSON: DOI · PMID · PMCID · openalex · URL
  JSONL:    every stored field, provenance, relevance, design, mechanisms, screening
A retracted study says so in every format (synth.retractions): RIS N1 "RETRACTED (...)",
BibTeX note, CSL-JSON status "retracted" and note, JSONL `retraction` (null when not retracted)
and `retraction_notice` (for a record that is itself a retraction notice).
Values are single lines (a newline could end an RIS entry early) and BibTeX values are
LaTeX-escaped, so no record text can break the file's structure.
"""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Iterator, TextIO

from synth.errors import SynthError

FORMATS = ("ris", "bibtex", "csl-json", "jsonl")
def one_line(text) -> str:
    return " ".join(str(text or "").split())


def split_name(name: str) -> tuple[str, str]:
    """('Walker', 'Janet S') from 'Walker, Janet S' or 'Walker JS'."""
    name = one_line(name)
    if "," in name:
        family, given = name.split(",", 1)
        return family.strip(), given.strip()
    parts = name.split(" ")
    if len(parts) > 1 and re.fullmatch(r"[A-Z]{1,4}", parts[-1]):  # MEDLINE style 'Walker JS'
        return " ".join(parts[:-1]), " ".join(parts[-1])
    if len(parts) > 1:
        return parts[-1], " ".join(parts[:-1])
    return name, ""


def _name(family: str, given: str) -> str:
    return f"{family}, {given}" if given else family


# ---------------------------------------------------------------------- record selection
def iter_export_records(store, project=None, mechanism: str | None = None, include_excluded: bool = True) -> Iterator[dict]:
    """Live records in id order; only those coded with MECHANISM when given; excluded ones unless asked."""
    from synth.screening import excluded_ids

    excluded = set() if include_excluded else excluded_ids(store)
    wanted = None
    if mechanism:
        from synth.mechanisms import codes
        from synth.tables import check_mechanism

        check_mechanism(project, mechanism)
        wanted = codes.records_with(store, mechanism)
    for rec in store.iter_records():
        if rec["id"] in excluded or (wanted is not None and rec["id"] not in wanted):
            continue
        yield rec


# ---------------------------------------------------------------------- RIS
def ris_entry(rec: dict) -> dict:
    notes = []
    if rec.get("pmid"):
        notes.append(f"PMID: {rec['pmid']}")
    if rec.get("openalex"):
        notes.append(f"OpenAlex: {rec['openalex']}")
    if rec.get("retraction"):
        notes.append(_retraction_note(rec))
    urls = []
    if rec.get("doi"):
        urls.append(f"https://doi.org/{rec['doi']}")
    if rec.get("pmid"):
        urls.append(f"https://pubmed.ncbi.nlm.nih.gov/{rec['pmid']}/")
    if rec.get("url") and rec["url"] not in urls:
        urls.append(one_line(rec["url"]))
    e: dict = {"type_of_reference": "JOUR", "title": one_line(rec.get("title")), "id": rec["id"]}
    if rec.get("authors"):
        e["authors"] = [_name(*split_name(a)) for a in rec["authors"]]
    if rec.get("year"):
        e["year"] = str(rec["year"])
    if rec.get("journal"):
        e["secondary_title"] = one_line(rec["journal"])
    if rec.get("abstract"):
        e["abstract"] = one_line(rec["abstract"])
    if rec.get("doi"):
        e["doi"] = rec["doi"]
    if rec.get("pmcid"):
        e["custom2"] = f"PMCID: {rec['pmcid']}"
    if notes:
        e["notes"] = notes
    if urls:
        e["urls"] = urls
    kw = [one_line(k) for k in (rec.get("keywords") or []) + (rec.get("mesh") or []) if one_line(k)]
    if kw:
        e["keywords"] = list(dict.fromkeys(kw))
    if rec.get("language"):
        e["language"] = rec["language"]
    return e


def write_ris(records, fh: TextIO) -> int:
    import rispy

    class Writer(rispy.RisWriter):
        def set_header(self, count):  # no "1." counter lines between entries: some readers choke on them
            return None

    from synth.store import chunked

    n = 0
    for chunk in chunked(records):  # 500 entries at a time: bounded memory
        fh.write(rispy.dumps([ris_entry(rec) for rec in chunk], implementation=Writer))
        n += len(chunk)
    return n


# ---------------------------------------------------------------------- BibTeX
_LATEX = {"\\": r"\textbackslash{}", "{": r"\{", "}": r"\}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
          "_": r"\_", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}"}
_LATEX_RE = re.compile(r"[\\{}&%$#_~^]")


def latex_escape(text) -> str:
    """Plain text as a safe BibTeX value: braces balanced, LaTeX specials escaped (UTF-8 kept)."""
    return _LATEX_RE.sub(lambda m: _LATEX[m.group(0)], one_line(text))


def cite_key(rec: dict, used: set[str]) -> str:
    family = split_name(rec["authors"][0])[0] if rec.get("authors") else ""
    word = next((w for w in re.findall(r"[^\W\d_]{4,}", rec.get("title") or "") if w.lower() not in _STOP), "")
    base = "".join(c for c in unicodedata.normalize("NFKD", f"{family}{rec.get('year') or ''}{word}").lower()
                   if c.isascii() and c.isalnum()) or rec["id"]
    key, n = base, 0
    while key in used:
        n += 1
        key = f"{base}{chr(96 + n) if n <= 26 else n}"
    used.add(key)
    return key


_STOP = {"with", "from", "that", "this", "their", "what", "when", "which", "among", "into", "about", "does", "peer"}


def bibtex_entry(rec: dict, used: set[str]):
    from bibtexparser import model

    fields = [("title", rec.get("title")),
              ("author", " and ".join(_name(*split_name(a)) for a in rec.get("authors") or [])),
              ("year", rec.get("year")), ("journal", rec.get("journal")), ("abstract", rec.get("abstract")),
              ("doi", rec.get("doi")), ("pmid", rec.get("pmid")), ("pmcid", rec.get("pmcid")),
              ("openalex", rec.get("openalex")),
              ("eprint", rec.get("pmid")), ("eprinttype", "pubmed" if rec.get("pmid") else None),
              ("url", f"https://doi.org/{rec['doi']}" if rec.get("doi") else rec.get("url")),
              ("keywords", "; ".join((rec.get("keywords") or []) + (rec.get("mesh") or []))),
              ("language", rec.get("language")),
              ("note", "; ".join(x for x in (_retraction_note(rec), f"synth id: {rec['id']}") if x))]
    out = []
    for k, v in fields:
        if v in (None, ""):
            continue
        val = latex_escape(v)
        # A title keeps its capitalisation (BibTeX styles would otherwise lower-case it).
        out.append(model.Field(k, "{" + val + "}" if k == "title" else val))
    return model.Entry("article", cite_key(rec, used), out)


def write_bibtex(records, fh: TextIO) -> int:
    """Entries written 500 at a time (bounded memory); the entries are built here, so the writer may
    modify them in place (bibtexparser's default deep-copies every block: most of the export's time)."""
    import bibtexparser
    from bibtexparser.middlewares.parsestack import default_unparse_stack
    from bibtexparser.writer import BibtexFormat

    from synth.store import chunked

    fmt = BibtexFormat()
    fmt.indent = "  "
    fmt.block_separator = "\n"  # an entry ends with a newline: one blank line between entries
    used: set[str] = set()
    n = 0
    for chunk in chunked(records):
        lib = bibtexparser.Library([bibtex_entry(rec, used) for rec in chunk])
        fh.write(bibtexparser.write_string(lib, unparse_stack=default_unparse_stack(allow_inplace_modification=True),
                                           bibtex_format=fmt).strip() + "\n\n")
        n += len(chunk)
    return n


# ---------------------------------------------------------------------- CSL-JSON
def csl_item(rec: dict) -> dict:
    item: dict = {"id": rec["id"], "type": "article-journal", "title": one_line(rec.get("title"))}
    authors = []
    for a in rec.get("authors") or []:
        family, given = split_name(a)
        authors.append({"family": family, "given": given} if given else {"literal": family})
    if authors:
        item["author"] = authors
    if rec.get("year"):
        item["issued"] = {"date-parts": [[int(rec["year"])]]}
    if rec.get("journal"):
        item["container-title"] = one_line(rec["journal"])
    if rec.get("abstract"):
        item["abstract"] = rec["abstract"]
    for key, col in (("DOI", "doi"), ("PMID", "pmid"), ("PMCID", "pmcid"), ("openalex", "openalex")):
        if rec.get(col):
            item[key] = rec[col]
    if rec.get("doi"):
        item["URL"] = f"https://doi.org/{rec['doi']}"
    elif rec.get("url"):
        item["URL"] = rec["url"]
    kw = (rec.get("keywords") or []) + (rec.get("mesh") or [])
    if kw:
        item["keyword"] = ", ".join(kw)
    if rec.get("language"):
        item["language"] = rec["language"]
    if rec.get("retraction"):
        item["status"] = "retracted"  # CSL 1.0.2: "status" ... e.g. "retracted"
    note = "; ".join(x for x in (_retraction_note(rec), f"OpenAlex: {rec['openalex']}" if rec.get("openalex") else "") if x)
    if note:
        item["note"] = note
    return item


def write_csl_json(records, fh: TextIO) -> int:
    """A JSON array, written item by item (bounded memory)."""
    n = 0
    fh.write("[")
    for rec in records:
        fh.write(("\n" if n == 0 else ",\n") + json.dumps(csl_item(rec), ensure_ascii=False))
        n += 1
    fh.write("\n]\n" if n else "]\n")
    return n


# ---------------------------------------------------------------------- JSONL
def record_json(rec: dict, sources: list[dict], mechanisms: list[dict], screening: dict | None) -> dict:
    """The JSONL export shape: identifiers, bibliographic fields, provenance, codes and screening
    (REC as with_retractions yields it; the rest read for a whole chunk of records by write_jsonl)."""
    out = {k: rec.get(k) for k in ("id", "doi", "pmid", "pmcid", "openalex", "title", "abstract", "authors",
                                   "year", "journal", "pub_types", "keywords", "mesh", "language", "url")}
    out["sources"] = sources
    out["content_hash"] = rec["content_hash"]
    out["relevance"] = rec.get("relevance")
    out["design"] = rec.get("design")
    out["mechanisms"] = [{"id": m["id"], "name": m.get("name"), "score": m.get("score"), "curated": bool(m.get("curated")),
                          "evidence": m.get("evidence") or []} for m in mechanisms]
    out["screening"] = screening
    out["retraction"] = rec.get("retraction")
    out["retraction_notice"] = rec.get("retraction_notice")
    return out


def _retraction_note(rec: dict) -> str:
    from synth.retractions import describe

    return describe(rec.get("retraction"))


def with_retractions(store, records) -> Iterator[dict]:
    """Records with `retraction` (retraction_of, or None) and `retraction_notice` (notice_of, or None)
    attached, read once for the whole export."""
    from synth import retractions as R

    known = R.retractions(store)
    notices = R.notice_ids(store)
    for rec in records:
        rec["retraction"] = known.get(rec["id"])
        rec["retraction_notice"] = R.notice_of(store, rec["id"]) if rec["id"] in notices else None
        yield rec


def write_jsonl(records, fh: TextIO, store) -> int:
    """One JSON object a line; provenance, codes and screening read per chunk of 500 records, not per record."""
    from synth.mechanisms.codes import mechanisms_of
    from synth.screening import decisions_of
    from synth.store import chunked

    n = 0
    for chunk in chunked(records):
        ids = [r["id"] for r in chunk]
        prov, mechs, decided = store.provenance_of_many(ids), mechanisms_of(store, ids), decisions_of(store, ids)
        for rec in chunk:
            rid = rec["id"]
            fh.write(json.dumps(record_json(rec, prov[rid], mechs.get(rid, []), decided.get(rid)), ensure_ascii=False) + "\n")
            n += 1
    return n


def export(project, fmt: str, fh: TextIO, mechanism: str | None = None, include_excluded: bool | None = None) -> int:
    """Write records in FMT to FH; returns how many.

    JSONL is the complete dump (every record, with its screening decision); the reference
    formats leave out records excluded at screening unless include_excluded.
    """
    if fmt not in FORMATS:
        raise SynthError(f"unknown export format {fmt!r}; choose from {', '.join(FORMATS)}")
    if include_excluded is None:
        include_excluded = fmt == "jsonl"
    if mechanism:
        from synth.tables import check_mechanism

        check_mechanism(project, mechanism)
    store = project.store()
    try:
        records = with_retractions(store, iter_export_records(store, project, mechanism, include_excluded))
        if fmt == "ris":
            return write_ris(records, fh)
        if fmt == "bibtex":
            return write_bibtex(records, fh)
        if fmt == "csl-json":
            return write_csl_json(records, fh)
        return write_jsonl(records, fh, store)
    finally:
        store.close()
