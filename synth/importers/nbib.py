"""MEDLINE / PubMed `.nbib` (and PMC MEDLARS) text: `TAG - value`, 6-space continuations.

A small line parser rather than Bio.Medline: it keeps each record's line
numbers, so a broken record is reported at its line and quarantined while the
rest import, and it needs no extra dependency.
"""

from __future__ import annotations

import re

from synth.importers.base import (
    Collector,
    ImportFileError,
    ImportResult,
    find_doi,
    one_line,
    structure_abstract,
)
from synth.records import Record
from synth.retractions import from_medline

_TAG = re.compile(r"^([A-Z][A-Z0-9]{0,3}) *- ?(.*)$")


def parse(text: str, name: str = "<text>", database: str | None = None) -> ImportResult:
    col = Collector(name, "nbib", database)
    groups = list(_groups(text.lstrip("\ufeff").split("\n")))
    if not any(any(_is_id_line(ln) for _, ln in g) for g in groups):
        from synth.importers.detect import describe

        raise ImportFileError(f"{name}: no MEDLINE records found (no PMID- line; {describe(text)})")
    # PubMed writes SO (the citation) last in every record: a record without one, in a file whose
    # other records carry SO, or last in a file that ends mid-line, was cut short (a truncated
    # download) and is not stored as complete.
    expect_so = any(_tag(ln) == "SO" for g in groups for _, ln in g)
    ends_mid_line = not text.endswith("\n")
    for group in groups:
        start = group[0][0]
        raw = "\n".join(ln for _, ln in group)
        tags: dict[str, list[str]] = {}
        last = None
        bad = None
        for no, line in group:
            m = _TAG.match(line) if not line[:1].isspace() else None
            if m and len(line) > 4 and "-" in line[:6]:
                last = m.group(1)
                tags.setdefault(last, []).append(m.group(2).strip())
            elif line[:1].isspace() and last:
                tags[last][-1] = f"{tags[last][-1]} {line.strip()}".strip()
            else:
                bad = no
                break
        if bad is not None:
            col.problem(bad, f"line {bad} is neither a MEDLINE tag nor a continuation line", raw)
            continue
        if not (tags.get("PMID") or tags.get("PMC")):
            col.problem(start, "record has no PMID or PMC identifier", raw)
            continue
        if "SO" not in tags and (expect_so or (ends_mid_line and group is groups[-1])):
            col.problem(start, f"record is cut short (no SO line; it ends at line {group[-1][0]}: file truncated?)", raw)
            continue
        rec = _record(tags)
        db = "PubMed" if rec.pmid else "PMC"
        col.add(rec, start, raw, None, db)
    return col.result


def _tag(line: str) -> str | None:
    m = _TAG.match(line) if not line[:1].isspace() else None
    return m.group(1) if m else None


def _is_id_line(line: str) -> bool:
    return bool(re.match(r"^(PMID|PMC ?) ?- ?\S", line))


def _groups(lines: list[str]):
    """Records: runs of non-blank lines; a repeated PMID-/PMC line also starts a new record.

    (PMC can sit mid-record in older MEDLINE files, so only a repeat counts.)
    """
    cur: list[tuple[int, str]] = []
    seen_ids: set[str] = set()
    for i, line in enumerate(lines, 1):
        if not line.strip():
            if cur:
                yield cur
            cur, seen_ids = [], set()
            continue
        tag = line[:4].strip() if _is_id_line(line) else None
        if tag and tag in seen_ids and cur:  # records run together without a blank line
            yield cur
            cur, seen_ids = [], set()
        if tag:
            seen_ids.add(tag)
        cur.append((i, line))
    if cur:
        yield cur


def _record(t: dict[str, list[str]]) -> Record:
    ids = t.get("LID", []) + t.get("AID", [])
    doi = find_doi([v.split(" [")[0] for v in ids if v.endswith("[doi]")])
    mesh = [re.sub(r"^\*", "", m.split("/")[0]).strip() for m in t.get("MH", [])]
    return Record(
        title=one_line(t.get("TI") or t.get("BTI") or t.get("TT") or []),
        abstract=structure_abstract(one_line(t.get("AB"))),
        doi=doi,
        pmid=one_line(t.get("PMID", [""])[:1]) or None,
        pmcid=one_line(t.get("PMC", [""])[:1]) or None,
        authors=[one_line(a) for a in (t.get("FAU") or t.get("AU") or [])],
        year=_year(one_line(t.get("DP", [""])[:1])),
        journal=one_line((t.get("JT") or t.get("TA") or [""])[:1]),
        pub_types=[one_line(p) for p in t.get("PT", [])],
        keywords=[one_line(k) for k in t.get("OT", [])],
        mesh=mesh,
        language=one_line(t.get("LA", [""])[:1]),
        volume=one_line(t.get("VI", [""])[:1]),
        issue=one_line(t.get("IP", [""])[:1]),
        pages=one_line(t.get("PG", [""])[:1]),
        url=f"https://pubmed.ncbi.nlm.nih.gov/{one_line(t['PMID'][:1])}/" if t.get("PMID") else "",
        retractions=from_medline(t),  # RIN / ROF (PT "Retracted Publication" is read from pub_types)
    )


def _year(value: str) -> int | None:
    m = re.search(r"(1[89]\d\d|20\d\d|21\d\d)", value or "")
    return int(m.group(1)) if m else None
