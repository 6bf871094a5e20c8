"""CSV / TSV exports: Scopus, Web of Science tab-delimited, Covidence, Rayyan, EPPI, Zotero, spreadsheets.

Columns are matched by name, case- and punctuation-insensitively ("Source title",
"source_title", "SO" are one column). The delimiter is read from the header line.
"""

from __future__ import annotations

import csv
import io
import re
from urllib.parse import parse_qsl

from synth.importers.base import (
    Collector,
    ImportFileError,
    ImportResult,
    database_from_urls,
    find_doi,
    find_pmcid,
    one_line,
    page_range,
    split_list,
    structure_abstract,
)
from synth.importers.columns import _delimiter, _mapping
from synth.records import Record

# Record field -> accepted column names (normalised: lower-case letters and digits only).
def parse(text: str, name: str = "<text>", database: str | None = None) -> ImportResult:
    col = Collector(name, "csv", database)
    text = text.lstrip("\ufeff")
    csv.field_size_limit(1 << 26)  # Scopus/WoS cells holding whole reference lists exceed the 128 KiB default
    header_line = text.split("\n", 1)[0]
    offset = 0
    sep = re.fullmatch(r"sep=(.)", header_line.strip())
    if sep:  # Excel's "sep=;" hint line
        text = text.split("\n", 1)[1] if "\n" in text else ""
        header_line, offset = text.split("\n", 1)[0], 1
    delim = sep.group(1) if sep else _delimiter(header_line)
    if not delim:
        from synth.importers.detect import describe

        raise ImportFileError(f"{name}: no CSV header row found ({describe(text)})")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim)
    try:
        headers = next(reader)
    except (csv.Error, StopIteration) as e:
        raise ImportFileError(f"{name}: cannot read the CSV header row ({e})") from None
    cols = _mapping(headers)
    if "title" not in cols:
        shown = ", ".join(h.strip() for h in headers[:8] if h.strip()) or "none"
        raise ImportFileError(f"{name}: no title column in the CSV header (columns: {shown}); "
                              f"expected one of Title, Article Title, Document Title, TI")
    width = len(headers)
    while width and not headers[width - 1].strip():  # a trailing delimiter in the header names nothing
        width -= 1
    prev_end = reader.line_num + offset
    while True:
        start = prev_end + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as e:
            col.problem(start, f"malformed CSV row: {e}")
            prev_end = reader.line_num + offset
            continue
        prev_end = reader.line_num + offset
        if not any(c.strip() for c in row):
            continue
        raw = delim.join(row)
        if len(row) > len(headers):
            col.problem(start, f"row has {len(row)} fields but the header has {len(headers)}", raw)
            continue
        if len(row) < width:  # cut short (a truncated file, an unclosed quote): not stored as complete
            spans = f"; an unclosed quote runs to line {prev_end}" if prev_end > start else ""
            col.problem(start, f"row is cut short: {len(row)} of the header's {width} fields{spans}", raw)
            continue
        rec, native, db = _record(row, cols)
        col.add(rec, start, raw, native, db)
    return col.result


def _cell(row: list[str], cols: dict[str, int], field: str) -> str:
    i = cols.get(field)
    return row[i].strip() if i is not None and i < len(row) else ""


def split_authors(value: str) -> list[str]:
    """"A, B; C, D" (WoS, Rayyan), "A B and C D" (BibTeX-like), "Smith J., Jones K." (Scopus)."""
    value = one_line(value)
    if not value:
        return []
    if ";" in value:
        parts = value.split(";")
    elif re.search(r"\s+and\s+", value):
        parts = re.split(r"\s*,?\s+and\s+", value)
    elif re.search(r"\.,\s", value):
        parts = re.split(r"(?<=\.),\s+", value)
    elif value.count(",") >= 1 and all(" " in p.strip() for p in value.split(",")):
        parts = value.split(",")  # "Smith J, Jones K" (Covidence)
    else:
        parts = [value]
    parts = [re.sub(r"\s*\(\d+\)$", "", p.strip()) for p in parts]  # Scopus "Name (57200000001)"
    return [p for p in parts if p]


KNOWN_DATABASES = ("scopus", "embase", "pubmed", "medline", "web of science", "psycinfo", "apa psycinfo", "cinahl",
                   "eric", "proquest", "ebsco", "ovid", "cochrane")


def _record(row: list[str], cols: dict[str, int]) -> tuple[Record, str | None, str]:
    c = lambda f: _cell(row, cols, f)
    acc = c("accession")
    db = c("database")
    citation = "" if db.lower() in KNOWN_DATABASES else db  # Embase's "Source": "J Adolesc Health (2019) 64:2 (S12)"
    db = "" if citation else db
    openurl = _openurl(c("openurl"))
    link = c("db_link")
    emb = re.search(r"embase\.com/.*[?&]id=(L\d+)", link)
    if openurl.get("sid", "").lower().startswith("embase") or emb:
        db = db or "Embase"
    if acc.upper().startswith("WOS:"):
        native, db = acc, db or "Web of Science"
    elif acc.startswith("2-s2.0-"):
        native, db = f"EID:{acc}", db or "Scopus"
    elif emb and not acc:
        native = f"AN:{emb.group(1)}"
    else:
        native = f"AN:{acc}" if acc else None  # kept only when the database is named (base.source_id)
    cited = _citation(citation)
    pmid = c("pmid") or openurl.get("pmid", "")
    m = re.search(r"\d+", pmid)
    year = c("year") or cited.get("year", "") or openurl.get("date", "")
    authors = split_authors(c("authors")) or ([openurl["aufull"]] if openurl.get("aufull") else [])
    rec = Record(
        title=one_line(c("title")) or openurl.get("atitle", ""),
        abstract=structure_abstract(c("abstract")),
        doi=find_doi(c("doi")) or find_doi(c("url")) or find_doi(openurl.get("doi")),
        pmid=m.group(0) if m else None,
        pmcid=find_pmcid([c("pmcid")]) if c("pmcid") else None,
        authors=authors,
        year=int(y.group(1)) if (y := re.search(r"(1[89]\d\d|20\d\d|21\d\d)", year)) else None,
        journal=one_line(c("journal")) or cited.get("journal", "") or openurl.get("title", "") or openurl.get("stitle", ""),
        pub_types=split_list(c("pub_types")),
        keywords=split_list(c("keywords")),
        mesh=split_list(c("mesh")),
        language=one_line(c("language")),
        url=c("url").split()[0] if c("url") else "",
        volume=c("volume") or cited.get("volume", "") or openurl.get("volume", ""),
        issue=c("issue") or cited.get("issue", "") or openurl.get("issue", ""),
        pages=(c("pages") or page_range(c("page_start"), c("page_end")) or c("article_no") or cited.get("pages", "")
               or page_range(openurl.get("spage", ""), openurl.get("epage", "")) or openurl.get("pages", "")),
    )
    return rec, native, db or database_from_urls(c("url"), link)


def _openurl(link: str) -> dict[str, str]:
    """The fields of an OpenURL (Embase's "Open URL Link"): `id=doi:…` and `id=pmid:…` become doi and pmid."""
    if "?" not in link:
        return {}
    out: dict[str, str] = {}
    for key, value in parse_qsl(link.split("?", 1)[1], keep_blank_values=False):
        key, value = key.lower(), value.strip()
        ident = re.match(r"(?:info:)?(doi|pmid)[:/]\s*(.+)", value, re.I) if key in ("id", "rft_id") else None
        if ident:
            key, value = ident.group(1).lower(), ident.group(2)
        if value:
            out.setdefault(key, value)
    return out


_CITATION = re.compile(r"^(?P<journal>.+?)\s*\(?(?P<year>(?:1[89]|20|21)\d\d)\)?[.,]?\s*(?P<rest>.*)$")


def _citation(text: str) -> dict[str, str]:
    """Embase's "Source" citation: "Journal of Adolescent Health (2019) 64:2 (S12-S13). Date of Publication: …"."""
    text = one_line(text).split(". Date of Publication")[0]
    m = _CITATION.match(text)
    if not text or not m:
        return {"journal": text} if text else {}
    out = {"journal": m.group("journal").rstrip(" .,;"), "year": m.group("year")}
    rest = m.group("rest")
    vol = re.match(r"(\w+)(?::(\w+))?", rest)
    if vol:
        out["volume"], out["issue"] = vol.group(1), vol.group(2) or ""
    pages = re.search(r"\(([^()]*\d[^()]*)\)\s*$", rest)
    if pages:
        out["pages"] = pages.group(1).strip()
    return out
