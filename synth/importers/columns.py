"""Which column of a spreadsheet export holds which field (Scopus, Web of Science, Covidence, EndNote,
Zotero, Excel), and whether a text looks like such an export at all (format sniffing asks)."""

from __future__ import annotations

import csv
import re


COLUMNS = {
    "title": ["title", "articletitle", "documenttitle", "ti", "t1", "primarytitle", "titleofarticle"],
    "abstract": ["abstract", "ab", "n2", "abstractnote", "summary"],
    "doi": ["doi", "di", "do", "digitalobjectidentifier"],
    "pmid": ["pmid", "pubmedid", "pm", "pubmed", "pubmedidentifier", "medlinepmid"],
    "pmcid": ["pmcid", "pmc", "pmcidentifier"],
    "year": ["year", "publicationyear", "py", "pubyear", "publishedyear", "yr", "date", "publicationdate", "dp",
             "dateofpublication"],
    "authors": ["authorfullnames", "authorsfullnames", "af", "authors", "author", "au", "a1", "authornames"],
    "journal": ["journal", "sourcetitle", "so", "journaltitle", "publicationtitle", "secondarytitle", "t2", "jf",
                "jo", "journalname", "container", "containertitle", "ta", "jt"],
    "keywords": ["keywords", "authorkeywords", "de", "kw", "keyword", "manualtags", "tags", "ot"],
    "mesh": ["mesh", "meshterms", "meshheadings", "mh", "indexkeywords"],
    "url": ["url", "link", "ur", "links"],
    "language": ["language", "la", "languageoforiginaldocument", "languageofarticle"],
    "pub_types": ["documenttype", "publicationtype", "itemtype", "pt", "dt", "type", "typeofwork", "m3"],
    "volume": ["volume", "vl", "vol", "vi"],
    "issue": ["issue", "is", "ip", "issuenumber"],
    "pages": ["pages", "pagerange", "pg", "pagination"],
    "page_start": ["pagestart", "firstpage", "startpage", "bp", "sp", "spage"],
    "page_end": ["pageend", "lastpage", "endpage", "ep", "epage"],
    "article_no": ["artno", "articlenumber", "ar"],
    # A database's own accession: global only with the database named (WOS:…, a Scopus EID, or --database).
    "accession": ["eid", "ut", "accessionnumber", "an", "uniqueid", "uniquewosid", "wosid", "embaseaccessionid",
                  "embaseaccessionnumber"],
    # Row numbers and keys of a screening tool or spreadsheet: local to the file, never an identifier.
    "local_id": ["covidence", "covidenceno", "key", "refid", "recordid", "itemid", "id", "rayyanid", "eppiid"],
    "database": ["database", "db", "source", "sourcedatabase", "datasource"],
    "openurl": ["openurllink", "openurl"],  # Embase: id=doi:…, volume, issue, spage, date in the query
    "db_link": ["embaselink", "recordlink", "databaselink"],
}
_DELIMS = (",", "\t", ";", "|")


def _norm(header: str) -> str:
    return re.sub(r"[^a-z0-9]", "", (header or "").lower().lstrip("\ufeff"))


def _delimiter(header_line: str) -> str | None:
    counts = {d: header_line.count(d) for d in _DELIMS}
    best = max(counts, key=counts.get)
    return best if counts[best] else None


def _mapping(headers: list[str]) -> dict[str, int]:
    """Record field -> column index; the alias listed first in COLUMNS wins (full names over initials)."""
    index: dict[str, int] = {}
    for i, h in enumerate(headers):
        index.setdefault(_norm(h), i)
    found: dict[str, int] = {}
    for field, aliases in COLUMNS.items():
        for alias in aliases:
            if alias in index:
                found[field] = index[alias]
                break
    return found


def looks_tabular(text: str) -> bool:
    lines = text.lstrip("\ufeff").split("\n", 2)
    sep = re.fullmatch(r"sep=(.)", lines[0].strip())
    header = lines[1] if sep and len(lines) > 1 else lines[0]
    delim = sep.group(1) if sep else _delimiter(header)
    if not delim:
        return False
    try:
        headers = next(csv.reader([header], delimiter=delim))
    except csv.Error:
        return False
    return "title" in _mapping(headers)
