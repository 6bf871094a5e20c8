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
import itertools
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from synth.errors import SynthError
from synth.citations import citation, short_citation
from synth.spreadsheet import fit_cell, neutralise_row

FORMATS = ("csv", "xlsx", "md", "html", "json")
_EXT = {".csv": "csv", ".xlsx": "xlsx", ".md": "md", ".markdown": "md", ".html": "html", ".htm": "html", ".json": "json"}
NO_CODE = "(none coded)"
NO_LINK = "(no linked outcome)"


# ---------------------------------------------------------------------- building rows
@dataclass
class Tables:
    rows: list[dict]  # the review table: one row per (mechanism, outcome, direction) over primary studies
    secondary: list[dict]  # the same from reviews: secondary evidence, never added to primary counts
    configurations: list[dict]  # per study (linked, with quotes)
    ongoing: list[dict]  # protocols (citations): listed, not counted
    summary: list[dict]  # one per mechanism
    evidence: list[dict]  # the curation sheet's rows (synth.mechanisms.sheet)
    mechanism: str | None = None
    names: dict = field(default_factory=dict)
    left_out: dict = field(default_factory=dict)  # {"excluded": n, "retracted": n}
    retracted: list[dict] = field(default_factory=list)  # citations of retracted studies, with the retraction, left out



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


def build_tables(project, mechanism: str | None = None, store=None, evidence: bool = True) -> Tables:
    from synth.mechanisms import sheet
    from synth.retractions import describe, notice_ids, retracted_ids, retractions
    from synth.screening import excluded_ids

    theory = check_mechanism(project, mechanism)
    names = theory.names()
    cmoc, codes = _mech_api()
    own = store is None
    store = store or project.store()
    try:
        excluded, retracted = excluded_ids(store), retracted_ids(store)
        skip = excluded | retracted | notice_ids(store)  # a retraction notice is not a study
        view = codes.coded(store, skip)  # read once: configurations, summary and sheet all need it
        configs = cmoc.study_configurations(store, theory, mechanism, skip, view)
        recs = store.records_by_id(sorted({c["record_id"] for c in configs}), brief=True)
        short = {rid: short_citation(r) for rid, r in recs.items()}  # once per study, not per configuration
        for c in configs:
            c["citation"] = short.get(c["record_id"], c["record_id"])
        rows = []
        for row in cmoc.review_rows(configs, theory):
            row["records"] = [citation(recs[rid]) for rid in sorted(row["study_ids"], key=lambda r: (-(recs[r].get("year") or 0), r))
                              if rid in recs]
            for q in row["quotes"]:
                q["citation"] = short.get(q["record_id"], q["record_id"])
            rows.append(row)
        ongoing = [citation(r) for r in cmoc.ongoing_studies(store, skip)]
        info = retractions(store, sorted(retracted - excluded))
        gone = [{**citation(r), "retraction": describe(info.get(r["id"]))}
                for r in store.records_by_id(sorted(retracted - excluded), brief=True).values()]
        summary = mechanism_summary(store, theory, skip, mechanism, view)
        ev = sheet.evidence_rows(store, theory, skip, mechanism, configs, view) if evidence else []
    finally:
        if own:
            store.close()
    primary = [r for r in rows if not r["secondary"]]
    return Tables(primary, [r for r in rows if r["secondary"]], configs, ongoing, summary, ev, mechanism, names,
                  {"excluded": len(excluded), "retracted": len(retracted)}, sorted(gone, key=lambda c: c["id"]))


def _name(names: dict, code: str | None) -> str:
    if not code:
        return NO_CODE
    return names.get(code, code.replace("_", " "))


def mechanism_summary(store, theory, excluded: set[str], mechanism: str | None = None, view=None) -> list[dict]:
    """Per mechanism: records, evidence fragments, curated records, most frequent outcomes and contexts."""
    _, codes = _mech_api()
    names = theory.names()
    out = []
    for s in codes.summary(store, excluded, view):
        if mechanism and s["id"] != mechanism:
            continue
        out.append({"mechanism": s["id"], "name": s["name"], "records": s["records"], "fragments": s["fragments"],
                    "curated": s.get("curated", 0),
                    "top_outcomes": [{**o, "name": names.get(o["id"], o["id"])} for o in s["top_outcomes"]],
                    "top_contexts": [{**c, "name": names.get(c["id"], c["id"])} for c in s["top_contexts"]]})
    return out


# ---------------------------------------------------------------------- flat views
CMOC_COLUMNS = ["Mechanism", "Outcome", "Direction", "Primary studies", "Study designs", "Contexts", "Years",
                "If-then-because", "Supporting quotes", "Studies", "Human-curated", "Record ids", "Mechanism id", "Outcome id"]
# CSV and XLSX hold primary and review rows in one sheet: a column says which, and a review row's count
# is in "Reviews", never in "Primary studies" (so a sum or a filter over that column stays right).
FILE_COLUMNS = [*CMOC_COLUMNS[:3], "Evidence", "Primary studies", "Reviews", *CMOC_COLUMNS[4:]]
SUMMARY_COLUMNS = ["Mechanism", "Mechanism id", "Records", "Evidence fragments", "Human-curated records",
                   "Top outcomes", "Top contexts"]
DIRECTION_LABEL = {"improved": "improved", "no_change": "no change", "worse": "worse", "mixed": "mixed", None: ""}


def designs_text(designs: dict) -> str:
    return "; ".join(f"{d.replace('_', ' ')} ({n})" for d, n in designs.items())


def years_text(row: dict) -> str:
    a, b = row.get("year_min"), row.get("year_max")
    if not a:
        return ""
    return str(a) if a == b else f"{a}–{b}"


def top_text(items: list[dict]) -> str:
    return "; ".join(f"{i['name']} ({i['records']})" for i in items)


def contexts_text(items: list[dict], limit: int = 6) -> str:
    """The commonest contexts first, with study counts; the rest counted (JSON has them all)."""
    text = "; ".join(f"{c['name']} ({c['studies']})" for c in items[:limit])
    return text + (f"; +{len(items) - limit} more" if len(items) > limit else "")


def quote_text(q: dict) -> str:
    return f"{q.get('citation', q['record_id'])} [{q['record_id']} s{q['idx']}]: “{q['text']}”"


def cmoc_flat(row: dict, sep: str = "\n") -> list:
    return [row["mechanism_name"], row["outcome_name"] or NO_LINK, DIRECTION_LABEL.get(row["direction"], row["direction"]),
            row["studies"], designs_text(row["designs"]), contexts_text(row["contexts"]), years_text(row), row["statement"],
            sep.join(quote_text(q) for q in row["quotes"]), sep.join(c["text"] for c in row["records"]),
            "yes" if row["curated"] else "no", "; ".join(row["study_ids"]), row["mechanism"], row["outcome"] or ""]


def file_flat(row: dict, review: bool = False) -> list:
    """A configuration as a CSV/XLSX row (FILE_COLUMNS)."""
    base = cmoc_flat(row)
    counts = ["", base[3]] if review else [base[3], ""]
    return [*base[:3], "reviews" if review else "primary studies", *counts, *base[4:]]


def summary_flat(s: dict) -> list:
    return [s["name"], s["mechanism"], s["records"], s["fragments"], s["curated"], top_text(s["top_outcomes"]),
            top_text(s["top_contexts"])]


# ---------------------------------------------------------------------- writers
def to_json(t: Tables) -> str:
    return json.dumps({"mechanism_filter": t.mechanism, "rows": t.rows, "secondary": t.secondary,
                       "configurations": t.configurations, "ongoing": t.ongoing, "mechanisms": t.summary,
                       "left_out": t.left_out, "retracted": t.retracted}, ensure_ascii=False, indent=2) + "\n"


def _write_csv(fh, header: list[str], rows) -> None:
    w = csv.writer(fh, lineterminator="\r\n")
    w.writerow(header)
    w.writerows(neutralise_row(r) for r in rows)


def _csv_text(header: list[str], rows) -> str:
    buf = io.StringIO(newline="")
    _write_csv(buf, header, rows)
    return buf.getvalue()


def _csv_parts(t: Tables) -> dict[str, tuple[list[str], object]]:
    """The three CSV files of a table: {part: (header, rows)}, rows generated as they are written."""
    from synth.mechanisms.sheet import COLUMNS, flat

    rows = itertools.chain((file_flat(r) for r in t.rows), (file_flat(r, review=True) for r in t.secondary))
    return {"table": (FILE_COLUMNS, rows),
            "summary": (SUMMARY_COLUMNS, (summary_flat(s) for s in t.summary)),
            "evidence": (COLUMNS, (flat(r) for r in t.evidence))}


def to_csv(t: Tables) -> str:
    return _csv_text(*_csv_parts(t)["table"])


def summary_csv(t: Tables) -> str:
    return _csv_text(*_csv_parts(t)["summary"])


def evidence_csv(t: Tables) -> str:
    return _csv_text(*_csv_parts(t)["evidence"])


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


def counts_line(t: Tables) -> str:
    n = len(t.rows)
    studies = len({rid for r in t.rows for rid in r["study_ids"]})
    left = ", ".join(f"{v} {k}" for k, v in t.left_out.items() if v)
    return (f"{n} row{'s' if n != 1 else ''} (mechanism, outcome, direction) from {studies} primary "
            f"stud{'ies' if studies != 1 else 'y'}; {len(t.secondary)} from reviews (secondary evidence, not counted); "
            f"{len(t.ongoing)} ongoing (protocols)" + (f"; left out: {left}" if left else "") + ".")


def to_md(t: Tables, title: str = "CMOC review table") -> str:
    scope = f" — mechanism {md_escape(t.mechanism)}" if t.mechanism else ""
    cols = CMOC_COLUMNS[:10]
    parts = [f"# {md_escape(title)}{scope}", "", md_escape(counts_line(t)), "", "## Primary studies", "",
             _md_table(cols, [cmoc_flat(r)[:10] for r in t.rows]) if t.rows else "_No configurations coded yet._", ""]
    if t.secondary:
        parts += ["## Reviews (secondary evidence)", "", _md_table(cols, [cmoc_flat(r)[:10] for r in t.secondary]), ""]
    if t.ongoing:
        parts += ["## Ongoing studies (protocols)", "", *[f"- {md_escape(c['text'])}" for c in t.ongoing], ""]
    if t.retracted:
        parts += ["## Retracted studies (left out of every count)", "",
                  *[f"- {md_escape(c['text'])} — {md_escape(c['retraction'])}" for c in t.retracted], ""]
    parts += ["## Mechanism summary", "", _md_table(SUMMARY_COLUMNS, [summary_flat(s) for s in t.summary]), ""]
    return "\n".join(parts)


def _jinja_env():
    import jinja2

    env = jinja2.Environment(loader=jinja2.PackageLoader("synth", "templates"),
                             autoescape=True,  # every template, whatever its name: record text is untrusted
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["designs"] = designs_text
    env.filters["years"] = years_text
    env.filters["top"] = top_text
    env.filters["contexts"] = contexts_text
    env.filters["direction"] = lambda d: DIRECTION_LABEL.get(d, d or "")
    return env


def to_html(t: Tables, title: str = "CMOC review table") -> str:
    return _jinja_env().get_template("table.html.j2").render(t=t, title=title, counts=counts_line(t), no_link=NO_LINK)


EXCEL_ROWS = 1_048_576  # rows in a worksheet, the header included


def to_xlsx(t: Tables, path: Path) -> None:
    """The workbook: review table, curation sheet, mechanism summary, ongoing and retracted studies.

    Written with XlsxWriter in constant-memory mode: rows stream to the file as they are written
    (a 20,000-record corpus has a ~230,000-row evidence sheet), about 3× faster than openpyxl's
    write-only mode. `synth code --from` reads it back with openpyxl."""
    import xlsxwriter

    from synth.mechanisms.sheet import COLUMNS, SHEET_NAME

    parts = {k: (header, list(rows)) for k, (header, rows) in _csv_parts(t).items()}  # the CSV files' rows, as sheets
    sheets = [
        ("Review table", *parts["table"],
         {"Supporting quotes": 80, "Studies": 60, "If-then-because": 50, "Record ids": 24, "Contexts": 30}),
        (SHEET_NAME, *parts["evidence"], {"quote": 80, "linked": 24, "note": 30, "citation": 20}),
        ("Mechanism summary", *parts["summary"], {"Top outcomes": 40, "Top contexts": 40}),
        ("Ongoing studies", ["Citation", "Record id"], [[c["text"], c["id"]] for c in t.ongoing], {"Citation": 100}),
    ]
    if t.retracted:
        sheets.append(("Retracted (left out)", ["Citation", "Retraction", "Record id"],
                       [[c["text"], c["retraction"], c["id"]] for c in t.retracted], {"Citation": 90, "Retraction": 60}))
    for name, _, rows, _ in sheets:
        if len(rows) >= EXCEL_ROWS:  # caught before writing anything
            raise SynthError(f"the sheet {name!r} would have {len(rows):,} rows, more than Excel's {EXCEL_ROWS - 1:,}; "
                             "write CSV instead (-o review.csv) or one mechanism at a time (--mechanism M)")
    # Record text is never a formula, a URL or a number: strings stay strings.
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_formulas": False,
                                        "strings_to_urls": False, "strings_to_numbers": False})
    head_fmt = wb.add_format({"bold": True, "bg_color": "#DDE7F0", "text_wrap": True, "valign": "top"})
    decide_fmt = wb.add_format({"bold": True, "bg_color": "#FFF4CC", "text_wrap": True, "valign": "top"})
    wrap = wb.add_format({"text_wrap": True, "valign": "top"})
    try:
        for name, header, rows, widths in sheets:
            ws = wb.add_worksheet(name)
            for i, h in enumerate(header):
                longest = max([len(h)] + [min(len(str(r[i])), 60) for r in rows[:500]])
                ws.set_column(i, i, widths.get(h, max(10, min(longest + 2, 40))))
            ws.freeze_panes(1, 0)
            ws.autofilter(0, 0, len(rows), len(header) - 1)
            to_fill = {COLUMNS.index(c) for c in ("decision", "change_to", "note")} if name == SHEET_NAME else set()
            if name == SHEET_NAME and rows:  # the decision column offers accept/reject; the columns to fill stand out
                col = COLUMNS.index("decision")
                ws.data_validation(1, col, len(rows), col, {"validate": "list", "source": ["accept", "reject"],
                                                            "ignore_blank": True})
            for i, h in enumerate(header):
                ws.write_string(0, i, h, decide_fmt if i in to_fill else head_fmt)
            text, number = ws.write_string, ws.write_number
            for n, r in enumerate(rows, 1):
                for i, v in enumerate(neutralise_row(r)):
                    if v is None or v == "":
                        continue
                    if isinstance(v, str):
                        v = fit_cell(str(v))  # str(): a str subclass is written as plain text
                        # Only text long enough to wrap gets a style: wrapping a short id just costs time.
                        if len(v) > 30:
                            text(n, i, v, wrap)
                        else:
                            text(n, i, v)
                    elif isinstance(v, (int, float)) and not isinstance(v, bool):
                        number(n, i, v)
                    else:
                        text(n, i, str(v))
    finally:
        wb.close()


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
    t = build_tables(project, mechanism, evidence=fmt in ("xlsx", "csv", "json"))
    path.parent.mkdir(parents=True, exist_ok=True)
    if fmt == "xlsx":
        _replace(path, lambda tmp: to_xlsx(t, tmp))
    elif fmt == "csv":
        # utf-8-sig: the BOM makes Excel read the file as UTF-8 (names like Nørgaard, Öztürk).
        parts = _csv_parts(t)
        for target, part in ((path, "table"), (summary_path(path), "summary"), (evidence_path(path), "evidence")):
            def write(tmp, part=part):
                with tmp.open("w", encoding="utf-8-sig", newline="") as fh:
                    _write_csv(fh, *parts[part])
            _replace(target, write)
    else:
        text = {"md": to_md, "html": to_html, "json": to_json}[fmt](t)
        _replace(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return path


def _replace(path: Path, write) -> None:
    """WRITE a temporary file beside PATH, then rename it over PATH: a failure never leaves a
    half-written file in place of a reviewer's earlier table (and its curation decisions)."""
    import os

    from xlsxwriter.exceptions import FileCreateError

    tmp = path.with_name(f".{path.name}.tmp{os.getpid()}{path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    except (OSError, FileCreateError) as e:
        reason = getattr(e, "strerror", None) or getattr(e.args[0] if e.args else None, "strerror", None) or str(e)
        raise SynthError(f"cannot write {path}: {reason}") from None
    finally:
        tmp.unlink(missing_ok=True)


def summary_path(path: Path) -> Path:
    return path.with_name(f"{path.stem}-mechanisms{path.suffix}")


def evidence_path(path: Path) -> Path:
    """Beside a CSV table: the curation sheet `synth code --from` reads."""
    return path.with_name(f"{path.stem}-evidence{path.suffix}")


def render(project, fmt: str, mechanism: str | None = None) -> str:
    """Text formats for stdout."""
    t = build_tables(project, mechanism, evidence=fmt == "json")
    if fmt == "csv":
        return to_csv(t)
    return {"md": to_md, "html": to_html, "json": to_json}[fmt](t)
