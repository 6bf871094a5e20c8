"""BibTeX from database exports (Web of Science "savedrecs.bib", Scopus, Zotero, EndNote).

bibtexparser 2 splits the file into entries (with line numbers and failed blocks);
pylatexenc decodes LaTeX in the values. WoS escapes brackets as `{[}`, `&` as `\\&`,
`_` as `\\_` and mangles entities ("Timi \\& scedil;oara"); a bare `%` (common in
abstracts: "50% of participants") is escaped first, or LaTeX would read it as a comment.
"""

from __future__ import annotations

import logging
import re

import bibtexparser
from bibtexparser import model

from synth.importers.base import (
    Collector,
    ImportFileError,
    ImportResult,
    database_from_urls,
    find_doi,
    find_pmcid,
    find_pmid,
    one_line,
    split_list,
    structure_abstract,
)
from synth.records import Record

_PERCENT = re.compile(r"(?<!\\)%")
_SIMPLE_ESCAPE = re.compile(r"\\([&_%$#])")
_NAME_SPLIT = re.compile(r"\s+and\s+", re.I)


def _latex():
    from pylatexenc.latex2text import LatexNodes2Text

    return LatexNodes2Text(math_mode="text", strict_latex_spaces=False)


def decode_latex(value: str, conv=None) -> str:
    value = value or ""
    # Fast path for what exports mostly hold (WoS: `{[}`, `\&`, `\_`): pylatexenc costs ms per field.
    simple = _SIMPLE_ESCAPE.sub(r"\1", value).replace("{[}", "[").replace("{]}", "]")
    if "\\" not in simple and "$" not in simple and "~" not in simple:
        return simple.replace("{", "").replace("}", "")
    value = _PERCENT.sub(r"\\%", value)
    try:
        return (conv or _latex()).latex_to_text(value)
    except Exception:
        return value.replace("{", "").replace("}", "")


def parse(text: str, name: str = "<text>", database: str | None = None) -> ImportResult:
    col = Collector(name, "bibtex", database)
    text = text.lstrip("\ufeff")
    log = logging.getLogger("bibtexparser")
    level = log.level
    log.setLevel(logging.CRITICAL + 1)  # failed blocks are reported as Problems instead of log noise
    try:
        library = bibtexparser.parse_string(text)
    except Exception as e:
        raise ImportFileError(f"{name}: cannot read as BibTeX ({type(e).__name__}: {e})") from None
    finally:
        log.setLevel(level)
    entries: list[model.Entry] = list(library.entries)
    failed = list(library.failed_blocks)
    for block in failed:
        dup = getattr(block, "ignore_error_block", None)
        if isinstance(dup, model.Entry):  # duplicate key / field: the entry itself is fine
            entries.append(dup)
        else:
            col.problem((block.start_line or 0) + 1, f"malformed BibTeX entry: {_reason(block)}",
                        block.raw or "")
    if not entries and not col.result.problems:
        from synth.importers.detect import describe

        raise ImportFileError(f"{name}: no BibTeX entries found ({describe(text)})")
    conv = _latex()
    entries.sort(key=lambda e: e.start_line or 0)
    for entry in entries:
        fields = {}
        for f in entry.fields:
            key = f.key.strip().lower()
            if key not in fields and isinstance(f.value, str):
                fields[key] = f.value
        rec, native, db = _record(entry, fields, conv)
        col.add(rec, (entry.start_line or 0) + 1, entry.raw or "", native, db)
    return col.result


def _reason(block) -> str:
    err = getattr(block, "error", None)
    text = getattr(err, "abort_reason", None) or str(err or "")
    return " ".join(text.split())[:200] or "syntax error"


def _record(entry: model.Entry, f: dict[str, str], conv) -> tuple[Record, str | None, str]:
    cache: dict[str, str] = {}

    def text(*keys: str) -> str:
        for k in keys:
            if f.get(k, "").strip():
                if k not in cache:
                    cache[k] = one_line(decode_latex(f[k], conv))
                return cache[k]
        return ""

    authors = [one_line(decode_latex(a, conv)) for a in _NAME_SPLIT.split(f.get("author", "")) if a.strip()]
    urls = [f.get("url", ""), f.get("link", "")]
    uid = text("unique-id", "unique_id")
    eid = text("eid") if text("eid").startswith("2-s2.0") else ""
    if not eid:
        m = re.search(r"eid=(2-s2\.0-\d+)", " ".join(urls))
        eid = m.group(1) if m else ""
    native = uid if uid.upper().startswith("WOS:") else f"EID:{eid}" if eid else None
    db = ("Web of Science" if uid.upper().startswith("WOS:") else text("source") if text("source").lower() in
          ("scopus", "embase", "pubmed", "medline", "web of science") else "") or database_from_urls(urls)
    if not native and entry.key and not f.get("doi") and not f.get("pmid"):
        native = f"key:{entry.key.strip()}"
    notes = [text("note"), text("annote"), text("pmid"), text("pubmed")]
    eprint = text("eprint") if text("eprinttype").lower() == "pubmed" else ""
    year = text("year") or text("date")
    rec = Record(
        title=text("title", "booktitle"),
        abstract=structure_abstract(text("abstract")),
        doi=find_doi(text("doi")) or find_doi(urls),
        pmid=eprint or (text("pmid") if text("pmid").isdigit() else None) or find_pmid(notes),
        pmcid=find_pmcid([text("pmcid")]) if text("pmcid") else None,
        openalex=text("openalex") or None,
        authors=authors,
        year=int(m.group(1)) if (m := re.search(r"(1[89]\d\d|20\d\d|21\d\d)", year)) else None,
        journal=text("journal", "journaltitle", "booktitle", "series"),
        pub_types=[text("type")] if text("type") else [entry.entry_type],
        keywords=split_list(text("keywords"), ";,") + split_list(text("keywords-plus"), ";"),
        language=text("language"),
        url=text("url"),
    )
    return rec, native, db
