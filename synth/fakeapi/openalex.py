"""OpenAlex `/works` with search, filter, cursor (and basic page) paging, in the real format.

Shapes follow fixtures/real/openalex: `{meta: {count, db_response_time_ms, page, per_page,
next_cursor, groups_count}, results: [...], group_by: []}`. Cursor paging ends the way
OpenAlex documents it: pages with results always carry a next_cursor; the page after the
last one has `next_cursor: null` and `results: []`.
"""

from __future__ import annotations

import re

from synth.fakeapi.corpus import (
    flat_abstract,
    in_window,
    openalex_id,
    parse_bound,
    pub_date,
    pub_date_iso,
    retraction,
    stable_int,
)
from synth.fakeapi.cursors import decode_offset, encode_offset
from synth.fakeapi.reply import Reply, first, json_reply

LANG2 = {"eng": "en", "fre": "fr", "fra": "fr", "ger": "de", "deu": "de", "spa": "es", "por": "pt", "ita": "it",
         "dut": "nl", "nld": "nl", "chi": "zh", "zho": "zh", "jpn": "ja", "swe": "sv", "nor": "no", "dan": "da",
         "fin": "fi", "pol": "pl", "rus": "ru", "kor": "ko", "tur": "tr", "ara": "ar", "heb": "he", "gre": "el"}
# Filters we evaluate; other valid OpenAlex work filters are accepted and not evaluated
# (queries are not evaluated semantically: every record matches them).
DATE_FILTERS = {"from_created_date", "to_created_date", "from_publication_date", "to_publication_date",
                "publication_year"}
ACCEPTED_FILTERS = DATE_FILTERS | {
    "type", "language", "has_abstract", "has_doi", "has_pmid", "is_paratext", "is_retracted", "is_oa",
    "default.search", "title.search", "abstract.search", "title_and_abstract.search", "fulltext.search",
    "display_name.search", "keywords.id", "concepts.id", "topics.id", "primary_topic.id", "doi", "ids.pmid",
    "ids.openalex", "openalex", "from_updated_date", "to_updated_date", "cited_by_count",
    "authorships.author.id", "primary_location.source.id", "open_access.is_oa", "has_fulltext",
}


class OpenAlexAPI:
    source = "openalex"

    def __init__(self, server):
        self.server = server

    def handle(self, sub: str, params: dict, headers) -> Reply:
        if sub.startswith("works/"):
            return self.single(sub.split("/", 1)[1])
        if sub != "works":
            return _error(404, "Not found", f"/{sub} is not an OpenAlex endpoint served here")
        raw_per_page = first(params, "per-page") or first(params, "per_page") or "25"
        if not raw_per_page.isdigit() or not 1 <= int(raw_per_page) <= 200:
            return _error(400, "Invalid query parameters error.", "per-page parameter must be between 1 and 200")
        per_page = int(raw_per_page)
        cursor, page = first(params, "cursor"), first(params, "page")
        if cursor and page:
            return _error(400, "Invalid query parameters error.", "Cannot use page and cursor together")
        try:
            filters = _filters(first(params, "filter") or "")
        except ValueError as e:
            return _error(400, "Invalid query parameters error.", str(e))
        hits = [r for r in self.server.records(self.source) if all(f(r) for f in filters)]
        meta = {"count": len(hits), "db_response_time_ms": 12}
        if cursor:
            offset = 0 if cursor == "*" else decode_offset(cursor)
            if offset is None:
                return _error(400, "Invalid query parameters error.", f"Cursor {cursor!r} is not valid")
            chunk = hits[offset:offset + per_page]
            meta.update(page=None, per_page=per_page,
                        next_cursor=encode_offset(offset + len(chunk), first(params, "filter") or "")
                        if chunk else None)
        else:
            pageno = int(page) if page and page.isdigit() else 1
            if pageno * per_page > 10000:
                return _error(400, "Invalid query parameters error.",
                              "Maximum results size of 10,000 records is exceeded. Cursor pagination is "
                              "required for records beyond 10,000.")
            chunk = hits[(pageno - 1) * per_page:pageno * per_page]
            meta.update(page=pageno, per_page=per_page)
        meta["groups_count"] = None
        malformed = self.server.faults.malformed
        select = [s.strip() for s in (first(params, "select") or "").split(",") if s.strip()]
        results = [_select(work(r, malformed=r.get("key") in malformed), select) for r in chunk]
        return json_reply({"meta": meta, "results": results, "group_by": []}, data_page=True)

    def single(self, wid: str) -> Reply:
        wid = wid.rsplit("/", 1)[-1]
        for r in self.server.records(self.source):
            if openalex_id(r).lower() == wid.lower():
                return json_reply(work(r))
        return _error(404, "NotFoundError", f"{wid} not found")


def _error(status: int, error: str, message: str) -> Reply:
    return json_reply({"error": error, "message": message}, status)


def _select(obj: dict, fields: list[str]) -> dict:
    return {k: v for k, v in obj.items() if k in fields} if fields else obj


def _filters(spec: str) -> list:
    """Parse OpenAlex's `key:value,key:value` filter syntax into predicates."""
    preds = []
    for part in filter(None, (p.strip() for p in spec.split(","))):
        key, sep, value = part.partition(":")
        if not sep:
            raise ValueError(f"Invalid filter {part!r}: filters take the form key:value")
        key = key.strip()
        if key not in ACCEPTED_FILTERS:
            raise ValueError(f"{key} is not a valid field. Valid fields are underscore or hyphenated versions "
                             f"of: {', '.join(sorted(ACCEPTED_FILTERS))}")
        if key in ("from_created_date", "to_created_date"):
            bound = parse_bound(value, key.startswith("to"))
            lo, hi = (bound, None) if key.startswith("from") else (None, bound)
            preds.append(lambda r, lo=lo, hi=hi: in_window(r.get("entry_date"), lo, hi))
        elif key in ("from_publication_date", "to_publication_date"):
            bound = parse_bound(value, key.startswith("to"))
            lo, hi = (bound, None) if key.startswith("from") else (None, bound)
            preds.append(lambda r, lo=lo, hi=hi: in_window(pub_date_iso(r), lo, hi))
        elif key == "publication_year":
            years = _year_spec(value)
            preds.append(lambda r, years=years: years(pub_date(r)[0]))
        elif key == "has_abstract":
            want = value.lower() == "true"
            preds.append(lambda r, want=want: bool(r.get("abstract")) == want)
        elif key == "type":
            types = set(value.lower().split("|"))
            preds.append(lambda r, types=types: work_type(r) in types)
        elif key == "is_retracted":
            want = value.lower() == "true"
            preds.append(lambda r, want=want: is_retracted(r) == want)
    return preds


def _year_spec(value: str):
    m = re.fullmatch(r"(\d{4})?-(\d{4})?", value)
    if m:
        lo, hi = int(m.group(1) or 0), int(m.group(2) or 9999)
        return lambda y: lo <= y <= hi
    if value.startswith((">", "<")):
        n = int(value[1:])
        return (lambda y: y > n) if value[0] == ">" else (lambda y: y < n)
    years = {int(v) for v in value.split("|")}
    return lambda y: y in years


def work_type(rec: dict) -> str:
    r = retraction(rec)
    if r and r["status"] == "notice":
        return "retraction"
    types = {t.lower() for t in rec.get("pub_types") or []}
    if "preprint" in types:
        return "preprint"
    if types & {"review", "systematic review", "meta-analysis"}:
        return "review"
    return "article"


def is_retracted(rec: dict) -> bool:
    r = retraction(rec)
    return bool(r and r["status"] == "retracted")


def inverted_index(text: str) -> dict[str, list[int]] | None:
    """OpenAlex's abstract_inverted_index: whitespace tokens (punctuation attached) -> positions."""
    tokens = text.split()
    if not tokens:
        return None
    index: dict[str, list[int]] = {}
    for pos, tok in enumerate(tokens):
        index.setdefault(tok, []).append(pos)
    return index


def work(rec: dict, malformed: bool = False) -> dict:
    wid = openalex_id(rec)
    doi_url = f"https://doi.org/{rec['doi'].lower()}" if rec.get("doi") else None
    ids = {"openalex": f"https://openalex.org/{wid}"}
    if doi_url:
        ids["doi"] = doi_url
    if rec.get("pmid"):
        ids["pmid"] = f"https://pubmed.ncbi.nlm.nih.gov/{rec['pmid']}"
    if rec.get("pmcid"):
        ids["pmcid"] = f"https://www.ncbi.nlm.nih.gov/pmc/articles/{str(rec['pmcid']).removeprefix('PMC')}"
    title = None if malformed else rec.get("title")
    year = pub_date(rec)[0]
    journal = rec.get("journal")
    source = None
    if journal:
        source = {"id": f"https://openalex.org/S{2000000000 + stable_int(journal, 8)}", "display_name": journal,
                  "issn_l": None, "issn": None, "is_oa": False, "is_in_doaj": False, "is_indexed_in_scopus": True,
                  "is_core": True, "host_organization": None, "host_organization_name": None,
                  "host_organization_lineage": [], "host_organization_lineage_names": [], "type": "journal"}
    location = {"is_oa": bool(rec.get("pmcid")), "landing_page_url": doi_url, "pdf_url": None, "source": source,
                "license": None, "license_id": None, "version": "publishedVersion", "is_accepted": True,
                "is_published": True}
    authors = rec.get("authors") or []
    authorships = []
    for n, a in enumerate(authors):
        name = " ".join(p for p in (a.get("given"), a.get("family")) if p) or a.get("name") or ""
        authorships.append({
            "author_position": "first" if n == 0 else ("last" if n == len(authors) - 1 else "middle"),
            "author": {"id": f"https://openalex.org/A{5000000000 + stable_int(name, 9)}", "display_name": name,
                       "orcid": None},
            "institutions": [], "countries": [], "is_corresponding": n == 0, "raw_author_name": name,
            "raw_affiliation_strings": [], "affiliations": []})
    first_page, _, last_page = (rec.get("pages") or "").partition("-")
    entry = rec.get("entry_date")
    out = {
        "id": f"https://openalex.org/{wid}",
        "doi": doi_url,
        "title": title,
        "display_name": title,
        "publication_year": year,
        "publication_date": pub_date_iso(rec),
        "ids": ids,
        "language": LANG2.get((rec.get("language") or "").lower(), (rec.get("language") or "")[:2] or None),
        "primary_location": location,
        "type": work_type(rec),
        "type_crossref": "journal-article",
        "indexed_in": ["crossref"] + (["pubmed"] if rec.get("pmid") else []),
        "open_access": {"is_oa": bool(rec.get("pmcid")), "oa_status": "green" if rec.get("pmcid") else "closed",
                        "oa_url": None, "any_repository_has_fulltext": False},
        "authorships": authorships,
        "cited_by_count": 0,
        "biblio": {"volume": rec.get("volume") or None, "issue": rec.get("issue") or None,
                   "first_page": first_page or None, "last_page": last_page or None},
        "is_retracted": is_retracted(rec),
        "is_paratext": False,
        "keywords": [{"id": f"https://openalex.org/keywords/{re.sub(r'[^a-z0-9]+', '-', k.lower()).strip('-')}",
                      "display_name": k, "score": 0.5} for k in rec.get("keywords") or []],
        "mesh": [{"descriptor_ui": f"D{stable_int(m, 6):06d}", "descriptor_name": str(m).partition("/")[0],
                  "qualifier_ui": "", "qualifier_name": str(m).partition("/")[2] or None, "is_major_topic": False}
                 for m in rec.get("mesh") or []] if rec.get("pmid") else [],
        "locations_count": 1,
        "locations": [location],
        "best_oa_location": location if rec.get("pmcid") else None,
        "referenced_works_count": 0,
        "referenced_works": [],
        "related_works": [],
        "abstract_inverted_index": inverted_index(flat_abstract(rec.get("abstract"))),
        "cited_by_api_url": f"https://api.openalex.org/works?filter=cites:{wid}",
        "counts_by_year": [],
        "updated_date": f"{entry}T00:00:00" if entry else None,
        "created_date": entry,
    }
    return out
