"""CMOC review tables: one row per (context, mechanism, outcome) configuration, and a
mechanism summary, written as CSV, XLSX, Markdown, HTML or JSON.

The configurations come from the mechanisms package (`cmoc.configurations`, automatic
codes with human curation applied); this module turns their record ids into formatted
citations, leaves out records excluded at screening, and writes the files. Record text
is untrusted: CSV/XLSX cells are defused against formula injection (synth.spreadsheet),
Markdown and HTML are escaped.
"""

from __future__ import annotations

import csv
import html
import io
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

from synth.errors import SynthError
from synth.spreadsheet import fit_cell, neutralise_row

FORMATS = ("csv", "xlsx", "md", "html", "json")
_EXT = {".csv": "csv", ".xlsx": "xlsx", ".md": "md", ".markdown": "md", ".html": "html", ".htm": "html", ".json": "json"}
NO_CODE = "(none coded)"


# ---------------------------------------------------------------------- citations
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


# ---------------------------------------------------------------------- building rows
@dataclass
class Tables:
    rows: list[dict]  # CMOC configurations
    summary: list[dict]  # one per mechanism
    mechanism: str | None = None
    names: dict = field(default_factory=dict)


def _mech_api():
    from synth.mechanisms import cmoc, codes

    return cmoc, codes


def check_mechanism(project, mechanism: str | None):
    """The theory; a clear one-line error (exit 2) for an unknown mechanism id."""
    from synth.mechanisms.theory import load_theory

    theory = load_theory(project)
    if mechanism is None:
        return theory
    if theory.mechanism(mechanism) is None:
        # An emergent mechanism promoted later is in the theory too; codes for other ids do not exist.
        known = ", ".join(m.id for m in theory.mechanisms)
        raise SynthError(f"unknown mechanism {mechanism!r}; known: {known}")
    return theory


def build_tables(project, mechanism: str | None = None, store=None) -> Tables:
    from synth.screening import excluded_ids

    theory = check_mechanism(project, mechanism)
    names = theory.names()
    cmoc, _ = _mech_api()
    own = store is None
    store = store or project.store()
    try:
        excluded = excluded_ids(store)
        cache: dict[str, dict | None] = {}

        def rec(rid):
            if rid not in cache:
                cache[rid] = store.get(rid)
            return cache[rid]

        rows = []
        for cfg in cmoc.configurations(project, mechanism=mechanism):
            live = []
            for rid in cfg.get("records") or []:
                r = rec(rid)
                if r and r["id"] not in excluded and r["id"] not in {x["id"] for x in live}:
                    live.append(r)
            if not live:
                continue
            keep = {r["id"] for r in live} | set(cfg.get("records") or [])
            frags = [f for f in cfg.get("fragments") or []
                     if f.get("record_id") in keep and (rec(f["record_id"]) or {}).get("id") not in excluded]
            designs = Counter(r.get("design") or "unknown" for r in live)
            years = [r["year"] for r in live if r.get("year")]
            mid = cfg.get("mechanism")
            rows.append({
                "context": cfg.get("context"), "context_name": _name(names, cfg.get("context")),
                "mechanism": mid, "mechanism_name": cfg.get("mechanism_name") or _name(names, mid),
                "outcome": cfg.get("outcome"), "outcome_name": _name(names, cfg.get("outcome")),
                "studies": len(live),
                "designs": dict(sorted(designs.items(), key=lambda kv: (-kv[1], kv[0]))),
                "year_min": min(years) if years else None, "year_max": max(years) if years else None,
                "curated": bool(cfg.get("curated")),
                "records": [citation(r) for r in sorted(live, key=lambda r: (-(r.get("year") or 0), r["id"]))],
                "fragments": [{"record_id": (rec(f["record_id"]) or {}).get("id", f["record_id"]), "idx": f.get("idx"),
                               "role": f.get("role"), "text": f.get("text", "")} for f in frags],
            })
        rows.sort(key=lambda r: (r["mechanism_name"] or "", -r["studies"], r["context_name"], r["outcome_name"]))
        summary = mechanism_summary(store, theory, excluded, mechanism)
    finally:
        if own:
            store.close()
    return Tables(rows, summary, mechanism, names)


def _name(names: dict, code: str | None) -> str:
    if not code:
        return NO_CODE
    return names.get(code, code.replace("_", " "))


def mechanism_summary(store, theory, excluded: set[str], mechanism: str | None = None) -> list[dict]:
    """Per mechanism: records, evidence fragments, curated records, most frequent outcomes and contexts."""
    _, codes = _mech_api()
    names = theory.names()
    out = []
    for s in codes.summary(store, excluded):
        if mechanism and s["id"] != mechanism:
            continue
        out.append({"mechanism": s["id"], "name": s["name"], "records": s["records"], "fragments": s["fragments"],
                    "curated": s.get("curated", 0),
                    "top_outcomes": [{**o, "name": names.get(o["id"], o["id"])} for o in s["top_outcomes"]],
                    "top_contexts": [{**c, "name": names.get(c["id"], c["id"])} for c in s["top_contexts"]]})
    return out


# ---------------------------------------------------------------------- flat views
CMOC_COLUMNS = ["Mechanism", "Context", "Outcome", "Studies", "Study designs", "Years", "Human-curated",
                "Supporting records", "Evidence fragments", "Record ids", "Mechanism id", "Context id", "Outcome id"]
SUMMARY_COLUMNS = ["Mechanism", "Mechanism id", "Records", "Evidence fragments", "Human-curated records",
                   "Top outcomes", "Top contexts"]
EVIDENCE_COLUMNS = ["Mechanism", "Context", "Outcome", "Record id", "Sentence", "Role", "Evidence", "Authors", "Year",
                    "Title", "Journal", "Design", "Link"]


def designs_text(designs: dict) -> str:
    return "; ".join(f"{d.replace('_', ' ')} ({n})" for d, n in designs.items())


def years_text(row: dict) -> str:
    a, b = row.get("year_min"), row.get("year_max")
    if not a:
        return ""
    return str(a) if a == b else f"{a}–{b}"


def top_text(items: list[dict]) -> str:
    return "; ".join(f"{i['name']} ({i['records']})" for i in items)


def cmoc_flat(row: dict, sep: str = "\n") -> list:
    return [row["mechanism_name"], row["context_name"], row["outcome_name"], row["studies"], designs_text(row["designs"]),
            years_text(row), "yes" if row["curated"] else "no",
            sep.join(c["text"] for c in row["records"]),
            sep.join(f"[{f['record_id']}] {f['text']}" for f in row["fragments"]),
            "; ".join(c["id"] for c in row["records"]),
            row["mechanism"] or "", row["context"] or "", row["outcome"] or ""]


def summary_flat(s: dict) -> list:
    return [s["name"], s["mechanism"], s["records"], s["fragments"], s["curated"], top_text(s["top_outcomes"]),
            top_text(s["top_contexts"])]


def evidence_flat(t: Tables) -> list[list]:
    out = []
    for row in t.rows:
        cites = {c["id"]: c for c in row["records"]}
        for f in row["fragments"]:
            c = cites.get(f["record_id"], {})
            out.append([row["mechanism_name"], row["context_name"], row["outcome_name"], f["record_id"],
                        f["idx"] if f["idx"] is not None else "", f.get("role") or "", f["text"], c.get("authors", ""),
                        c.get("year") or "", c.get("title", ""), c.get("journal", ""), (c.get("design") or "").replace("_", " "),
                        c.get("link", "")])
    return out


# ---------------------------------------------------------------------- writers
def to_json(t: Tables) -> str:
    return json.dumps({"mechanism_filter": t.mechanism, "configurations": t.rows, "mechanisms": t.summary},
                      ensure_ascii=False, indent=2) + "\n"


def _csv_text(header: list[str], rows: list[list]) -> str:
    buf = io.StringIO(newline="")
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(header)
    for r in rows:
        w.writerow(neutralise_row(r))
    return buf.getvalue()


def to_csv(t: Tables) -> str:
    return _csv_text(CMOC_COLUMNS, [cmoc_flat(r) for r in t.rows])


def summary_csv(t: Tables) -> str:
    return _csv_text(SUMMARY_COLUMNS, [summary_flat(s) for s in t.summary])


_MD_SPECIAL = re.compile(r"([\\`*_\[\]|~])")  # what can open inline markup or end a cell


def md_escape(text) -> str:
    """Markdown-safe cell text: HTML escaped (no live tags), markdown syntax and pipes backslash-escaped."""
    s = html.escape(str(text if text is not None else ""), quote=False)
    s = _MD_SPECIAL.sub(r"\\\1", s)
    return s.replace("\r", " ").replace("\n", "<br>")


def _md_table(header: list[str], rows: list[list]) -> str:
    out = ["| " + " | ".join(md_escape(h) for h in header) + " |", "|" + "---|" * len(header)]
    out += ["| " + " | ".join(md_escape(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def to_md(t: Tables, title: str = "CMOC review table") -> str:
    scope = f" — mechanism {md_escape(t.mechanism)}" if t.mechanism else ""
    n = len(t.rows)
    parts = [f"# {md_escape(title)}{scope}", "", f"{n} configuration{'s' if n != 1 else ''} (context, mechanism, outcome); "
             "records excluded at screening are left out.", "", "## Configurations", "",
             _md_table(CMOC_COLUMNS[:10], [cmoc_flat(r)[:10] for r in t.rows]) if t.rows else "_No configurations coded yet._",
             "", "## Mechanism summary", "", _md_table(SUMMARY_COLUMNS, [summary_flat(s) for s in t.summary]), ""]
    return "\n".join(parts)


def _jinja_env():
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("synth", "templates"),
                             autoescape=True,  # every template, whatever its name: record text is untrusted
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["designs"] = designs_text
    env.filters["years"] = years_text
    env.filters["top"] = top_text
    return env


def to_html(t: Tables, title: str = "CMOC review table") -> str:
    return _jinja_env().get_template("table.html.j2").render(t=t, title=title)


def to_xlsx(t: Tables, path: Path) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    wb = Workbook()
    sheets = [
        ("CMOC configurations", CMOC_COLUMNS, [cmoc_flat(r) for r in t.rows],
         {"Supporting records": 60, "Evidence fragments": 80, "Record ids": 24}),
        ("Mechanism summary", SUMMARY_COLUMNS, [summary_flat(s) for s in t.summary], {"Top outcomes": 40, "Top contexts": 40}),
        ("Evidence", EVIDENCE_COLUMNS, evidence_flat(t), {"Evidence": 80, "Title": 50, "Authors": 24, "Link": 30}),
    ]
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDE7F0")
    wrap = Alignment(wrap_text=True, vertical="top")
    for n, (name, header, rows, widths) in enumerate(sheets):
        ws = wb.active if n == 0 else wb.create_sheet()
        ws.title = name
        ws.append(header)
        for r in rows:
            ws.append([fit_cell(v) for v in neutralise_row(r)])
        for cell in ws[1]:
            cell.font, cell.fill = bold, fill
        for row in ws.iter_rows(min_row=2):
            for cell in row:
                cell.alignment = wrap
                if isinstance(cell.value, str):
                    cell.data_type = "s"  # never a formula, whatever the text
        ws.freeze_panes = "A2"
        ws.auto_filter.ref = ws.dimensions
        for i, h in enumerate(header, 1):
            longest = max([len(h)] + [min(len(str(r[i - 1])), 60) for r in rows[:500]])
            ws.column_dimensions[ws.cell(1, i).column_letter].width = widths.get(h, max(10, min(longest + 2, 40)))
    wb.save(path)


def infer_format(path: str | None, fmt: str | None) -> str:
    if fmt:
        return fmt
    if path:
        ext = Path(path).suffix.lower()
        if ext in _EXT:
            return _EXT[ext]
        raise SynthError(f"cannot tell the format from {path!r}; use --format {'|'.join(FORMATS)}")
    return "md"


def write_table(project, path, fmt: str | None = None, mechanism: str | None = None) -> Path:
    """Write the CMOC table (and mechanism summary) to PATH; returns the path.

    CSV holds the configurations; the mechanism summary goes beside it as <stem>-mechanisms.csv.
    """
    path = Path(path)
    fmt = infer_format(str(path), fmt)
    if fmt not in FORMATS:
        raise SynthError(f"unknown table format {fmt!r}; choose from {', '.join(FORMATS)}")
    t = build_tables(project, mechanism)
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "xlsx":
        to_xlsx(t, path)
    elif fmt == "csv":
        # utf-8-sig: the BOM makes Excel read the file as UTF-8 (names like Nørgaard, Öztürk).
        path.write_text(to_csv(t), encoding="utf-8-sig", newline="")
        summary_path(path).write_text(summary_csv(t), encoding="utf-8-sig", newline="")
    else:
        text = {"md": to_md, "html": to_html, "json": to_json}[fmt](t)
        path.write_text(text, encoding="utf-8")
    return path


def summary_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}-mechanisms{path.suffix}")


def render(project, fmt: str, mechanism: str | None = None) -> str:
    """Text formats for stdout."""
    t = build_tables(project, mechanism)
    if fmt == "csv":
        return to_csv(t)
    return {"md": to_md, "html": to_html, "json": to_json}[fmt](t)
