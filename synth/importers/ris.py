"""RIS (Embase, Scopus, ProQuest, EBSCO, Ovid, Zotero, WoS-as-RIS) and Web of Science plain text.

rispy reads the tags of each entry; we cut the file into entries ourselves so that
every entry keeps its line number and a broken one (no `ER`, no `TY`) is reported
and quarantined instead of silently swallowing its neighbour.
"""

from __future__ import annotations

import re

import rispy

from synth.importers.base import (
    Collector,
    ImportFileError,
    ImportResult,
    database_from_urls,
    find_doi,
    find_pmcid,
    find_pmid,
    one_line,
    page_range,
    split_list,
    structure_abstract,
)
from synth.records import Record

_RIS_LINE = re.compile(r"^([A-Z][A-Z0-9]) {1,2}-(?: (.*)|\s*)$")
_WOK_LINE = re.compile(r"^([A-Z][A-Z0-9])(?: (.*))?$")


class _Identity(dict):
    """Keep raw tags as keys: the mapping to Record fields below is per database."""

    def __missing__(self, key):
        return key


class _Everything:
    """Every tag is a list tag: repeated tags and continuation lines are kept, never overwritten."""

    def __contains__(self, tag) -> bool:
        return True


class _RisTags(rispy.RisParser):
    def parse_line(self, line: str):
        m = _RIS_LINE.match(line)
        return (m.group(1), (m.group(2) or "").strip()) if m else (None, line.strip())


def _rispy_tags(impl, lines: list[str]) -> dict[str, list[str]]:
    parser = impl(mapping=_Identity(), list_tags=_Everything(), delimiter_tags_mapping={}, ignore=[])
    parsed = parser.parse_lines(iter(lines))
    out: dict[str, list[str]] = {}
    for k, v in (parsed[0] if parsed else {}).items():
        if isinstance(k, str):
            vals = v if isinstance(v, list) else [v]
            out[k] = [str(x) for x in vals if str(x).strip()]
    return out


def _entries(lines: list[str], tag_of, start: str, end: str, col: Collector):
    """Yield (first line number, entry lines); report entries without start or end tag."""
    cur: tuple[int, list[str]] | None = None
    stray: list[tuple[int, str]] = []
    for i, line in enumerate(lines, 1):
        tag = tag_of(line)
        if tag == start:
            if cur:
                col.problem(cur[0], f"entry has no {end} end tag (the next entry starts at line {i})", "\n".join(cur[1]))
            cur, stray = (i, [line]), []
        elif tag == end:
            if cur:
                cur[1].append(line)
                yield cur
                cur = None
            elif stray:
                col.problem(stray[0][0], f"entry has no {start} start tag", "\n".join(s for _, s in stray + [(i, line)]))
                stray = []
        elif cur:
            cur[1].append(line)
        elif line.strip():
            stray.append((i, line))  # headers (e.g. "Provider: ...") are fine unless an ER follows
    if cur:
        col.problem(cur[0], f"entry is not closed by {end} (file truncated?)", "\n".join(cur[1]))


def _ris_tag(line: str) -> str | None:
    m = _RIS_LINE.match(line)
    return m.group(1) if m else None


def _wok_tag(line: str) -> str | None:
    if line.startswith(" "):
        return None
    m = _WOK_LINE.match(line)
    return m.group(1) if m else None


def is_wok(text: str) -> bool:
    head = [ln for ln in text.split("\n", 400)[:400] if ln.strip()]
    return not any(_ris_tag(ln) == "TY" for ln in head) and any(re.match(r"^(FN|VR|PT) \S", ln) for ln in head[:5])


def parse(text: str, name: str = "<text>", database: str | None = None) -> ImportResult:
    col = Collector(name, "ris", database)
    lines = text.lstrip("\ufeff").split("\n")
    wok = is_wok(text)
    tag_of, start, impl = (_wok_tag, "PT", rispy.WokParser) if wok else (_ris_tag, "TY", _RisTags)
    entries = list(_entries(lines, tag_of, start, "ER", col))
    if not entries and not col.result.problems:
        from synth.importers.detect import describe

        raise ImportFileError(f"{name}: no RIS entries found ({describe(text)})")
    converted = []
    for line_no, entry in entries:
        raw = "\n".join(entry)
        tags = _rispy_tags(impl, entry)
        rec, native, db = (_from_wok if wok else _from_ris)(tags)
        converted.append((rec, line_no, raw, native, db))
    # A record with no database hint takes the file's when most records agree
    # (a WoS export holds the odd record without AN or WE).
    dbs = [c[4] for c in converted if c[4]]
    file_db = max(set(dbs), key=dbs.count) if dbs else ""
    if dbs.count(file_db) * 2 <= len(converted):
        file_db = ""
    for rec, line_no, raw, native, db in converted:
        col.add(rec, line_no, raw, native, db or file_db)
    col.result.format = "ris"
    return col.result


def _first(tags: dict, *keys: str) -> str:
    for k in keys:
        v = one_line(tags.get(k))
        if v:
            return v
    return ""


def _from_ris(t: dict[str, list[str]]) -> tuple[Record, str | None, str]:
    links = t.get("UR", []) + t.get("L1", []) + t.get("L2", []) + t.get("L3", [])
    notes = t.get("N1", []) + t.get("C2", []) + t.get("M2", [])
    abstracts = [one_line(t.get("AB")), one_line(t.get("N2"))]
    an = _first(t, "AN")
    db = next((one_line(v) for v in t.get("DB", []) if one_line(v)), "")
    db = EBSCO_DATABASES.get(db.lower(), db) or database_from_urls(t.get("UR"))
    if not db and _first(t, "DP").lower() in ("nlm", "pubmed", "national library of medicine"):
        db = "PubMed"  # EndNote's PubMed import: `DP  - NLM`, the PMID in `AN`
    native = None
    pmid = find_pmid(notes)
    if an.upper().startswith("WOS:"):
        native, db = an.split()[0], db or "Web of Science"
    elif an:
        first = re.split(r"[;\s]", an)[0]
        if first.isdigit() and db.lower() in ("pubmed", "medline", "nlm"):
            pmid = pmid or first
            native = None if pmid == first else f"AN:{first}"  # the PMID is the id: PubMed:pmid:…
        else:
            native = f"AN:{first}"
    else:
        eid = next((m.group(1) for u in t.get("UR", []) for m in [re.search(r"eid=(2-s2\.0-\d+)", u)] if m), None)
        emb = next((m.group(1) for u in t.get("UR", []) for m in [re.search(r"embase\.com/.*[?&]id=(L\d+)", u)] if m), None)
        native = f"EID:{eid}" if eid else f"AN:{emb}" if emb else None
    authors = [one_line(a) for a in t.get("A1", []) + t.get("AU", [])]
    rec = Record(
        title=_first(t, "TI", "T1", "CT", "BT"),
        abstract=structure_abstract(max(abstracts, key=len)),
        doi=find_doi(t.get("DO")) or find_doi(t.get("DI")) or find_doi(links),
        pmid=pmid,
        pmcid=find_pmcid(t.get("C2", [])),
        openalex=_openalex(notes + links),
        authors=list(dict.fromkeys(a for a in authors if a)),
        year=_year(_first(t, "PY", "Y1", "DA", "Y2")),
        journal=_first(t, "JF", "T2", "JO", "JA", "J2", "J1"),
        pub_types=split_list(t.get("M3")) or ([_TY_NAMES.get(one_line(t.get("TY")).upper(), one_line(t.get("TY")))] if t.get("TY") else []),
        keywords=split_list(t.get("KW")),
        language=_first(t, "LA"),
        url=(one_line(t.get("UR", [""])[:1]).split() or [""])[0].rstrip(";"),
        volume=_first(t, "VL"),
        issue=_first(t, "IS", "CP"),
        pages=page_range(_first(t, "SP"), _first(t, "EP")),
    )
    return rec, native, db


def _openalex(values: list[str]) -> str | None:
    """synth's own RIS export notes `OpenAlex: W…`; OpenAlex links carry it too."""
    for v in values:
        m = re.search(r"(?:OpenAlex:\s*|openalex\.org/)(W\d+)", v or "", re.I)
        if m:
            return m.group(1)
    return None


def _from_wok(t: dict[str, list[str]]) -> tuple[Record, str | None, str]:
    ut = _first(t, "UT")
    pmid = _first(t, "PM")
    if ut.upper().startswith("MEDLINE:") and not pmid:
        pmid = ut.split(":", 1)[1]
    authors = t.get("AF") or t.get("AU") or []
    rec = Record(
        title=_first(t, "TI"),
        abstract=structure_abstract(_first(t, "AB")),
        doi=find_doi(t.get("DI")) or find_doi(t.get("D2")),
        pmid=pmid or None,
        authors=[one_line(a) for a in authors if one_line(a)],
        year=_year(_first(t, "PY", "EY", "PD")),
        journal=_first(t, "SO", "SE"),
        pub_types=split_list(" ".join(t.get("DT", []))),
        keywords=split_list(" ".join(t.get("DE", []))) + split_list(" ".join(t.get("ID", []))),
        language=_first(t, "LA"),
        volume=_first(t, "VL"),
        issue=_first(t, "IS"),
        pages=page_range(_first(t, "BP"), _first(t, "EP")) or _first(t, "AR"),
    )
    return rec, (ut or None), "Web of Science"


def _year(value: str) -> int | None:
    m = re.search(r"(1[89]\d\d|20\d\d|21\d\d)", value or "")
    return int(m.group(1)) if m else None


_TY_NAMES = {"JOUR": "Journal Article", "JFULL": "Journal Article", "EJOUR": "Journal Article", "BOOK": "Book",
             "CHAP": "Book Chapter", "CONF": "Conference Proceeding", "CPAPER": "Conference Paper",
             "THES": "Thesis", "RPRT": "Report", "GEN": "Generic", "ABST": "Abstract", "NEWS": "News",
             "ELEC": "Web Page", "UNPB": "Unpublished Work", "SER": "Serial", "MGZN": "Magazine Article"}

# EBSCOhost writes its short database codes in DB.
EBSCO_DATABASES = {"psyh": "APA PsycInfo", "pdh": "APA PsycArticles", "cin20": "CINAHL", "ccm": "CINAHL",
                   "rzh": "CINAHL", "eric": "ERIC", "mdc": "MEDLINE", "cmedm": "MEDLINE", "a9h": "Academic Search Complete",
                   "asn": "Academic Search Ultimate", "sih": "SocINDEX", "eue": "Education Source"}
