"""Europe PMC REST `search` (format=json) with cursorMark paging, in the real wire format.

Shapes follow fixtures/real/europepmc: `{version, hitCount, nextCursorMark, nextPageUrl,
request, resultList: {result: [...]}}`; on the last page nextCursorMark/nextPageUrl are
absent (Europe PMC's documented end signal). resultType core carries abstractText
(HTML-ish: structured sections as `<h4>Label</h4>text`), authorList, journalInfo ...
"""

from __future__ import annotations

import html
import re
from urllib.parse import urlencode

from synth.fakeapi.corpus import (
    abstract_sections,
    in_window,
    initials,
    nice_label,
    parse_bound,
    pub_date,
    pub_date_iso,
    pub_types_of,
    retraction,
    stable_int,
)
from synth.fakeapi.cursors import decode_offset, encode_offset
from synth.fakeapi.reply import Reply, first, int_param, json_reply

VERSION = "6.9"
_RANGE = re.compile(r"\b(FIRST_IDATE|FIRST_PDATE|PUB_YEAR)\s*:\s*(?:\[\s*(\S+)\s+TO\s+(\S+?)\s*\]|(\d[\d-]*))",
                    re.IGNORECASE)
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


class EuropePMCAPI:
    source = "europepmc"

    def __init__(self, server):
        self.server = server

    def handle(self, sub: str, params: dict, headers) -> Reply:
        if sub != "search":
            return json_reply({"version": VERSION, "errCode": 404, "errMsg": f"Unknown resource: {sub}"}, 404)
        fmt = (first(params, "format") or "xml").lower()
        if fmt != "json":
            return Reply(400, b"format=xml is not served by synth's fake Europe PMC: send format=json\n",
                         "text/plain; charset=UTF-8")
        query = first(params, "query") or ""
        result_type = (first(params, "resultType") or "lite").lower()
        cursor = first(params, "cursorMark") or "*"
        try:
            page_size = min(max(int_param(params, "pageSize", 25), 1), 1000)
            windows = _windows(query)
        except ValueError as e:
            return json_reply({"version": VERSION, "errCode": 400, "errMsg": str(e)}, 400)
        if not query.strip():
            return json_reply({"version": VERSION, "errCode": 400, "errMsg": "query parameter is required"}, 400)
        if result_type not in ("idlist", "lite", "core"):
            return json_reply({"version": VERSION, "errCode": 400,
                               "errMsg": f"resultType must be idlist, lite or core, not {result_type}"}, 400)
        offset = 0 if cursor == "*" else decode_offset(cursor)
        if offset is None:
            return json_reply({"version": VERSION, "errCode": 400, "errMsg": f"Invalid cursorMark: {cursor}"}, 400)

        hits = [r for r in self.server.records(self.source) if all(_matches(r, w) for w in windows)]
        page = hits[offset:offset + page_size]
        malformed = self.server.faults.malformed
        body: dict = {"version": VERSION, "hitCount": len(hits)}
        if offset + len(page) < len(hits):
            nxt = encode_offset(offset + len(page), query)
            body["nextCursorMark"] = nxt
            body["nextPageUrl"] = (f"{self.server.base_url(self.source)}search?" + urlencode(
                {"query": query, "cursorMark": nxt, "resultType": result_type, "pageSize": page_size,
                 "format": "json"}))
        body["request"] = {"queryString": query, "resultType": result_type, "cursorMark": cursor,
                           "pageSize": page_size, "sort": first(params, "sort") or "",
                           "synonym": (first(params, "synonym") or "").lower() == "true"}
        render = {"core": core, "lite": lite, "idlist": idlist}[result_type]
        body["resultList"] = {"result": [render(r, malformed=r.get("key") in malformed) for r in page]}
        return json_reply(body, content_type="application/json;charset=UTF-8", data_page=True)


def _windows(query: str) -> list[tuple[str, str | None, str | None]]:
    out = []
    for m in _RANGE.finditer(query):
        field, a, b, single = m.group(1).upper(), m.group(2), m.group(3), m.group(4)
        if single:
            a = b = single
        out.append((field, parse_bound(a, False), parse_bound(b, True)))
    return out


def _matches(rec: dict, window) -> bool:
    field, lo, hi = window
    day = rec.get("entry_date") if field == "FIRST_IDATE" else pub_date_iso(rec)
    return in_window(day, lo, hi)


def ids_of(rec: dict) -> tuple[str, str]:
    """(source, id) as Europe PMC names the record: MED for PubMed records, PMC otherwise."""
    if rec.get("pmid"):
        return "MED", str(rec["pmid"])
    if rec.get("pmcid"):
        return "PMC", str(rec["pmcid"])
    return "PPR", f"PPR{100000 + hash_key(rec)}"


def hash_key(rec: dict) -> int:
    return stable_int(str(rec.get("key")), 6)


def _title(rec: dict) -> str:
    t = (rec.get("title") or "").strip()
    return t if not t or t[-1] in ".?!" else t + "."


def author_string(rec: dict) -> str:
    names = [f"{a.get('family')} {initials(a.get('given'))}".strip() if a.get("family") else (a.get("name") or "")
             for a in rec.get("authors") or []]
    return ", ".join(n for n in names if n) + ("." if names else "")


def abstract_html(abstract: str | None) -> str:
    parts = []
    for label, text in abstract_sections(abstract):
        if label:
            parts.append(f"<h4>{html.escape(nice_label(label), quote=False)}</h4>")
        parts.append(html.escape(text, quote=False))
    return "".join(parts)


def _date_text(rec: dict) -> tuple[str, int, int]:
    y, m, _ = pub_date(rec)
    return (f"{y} {MONTHS[m - 1]}" if m else str(y)), y, m or 0


def idlist(rec: dict, malformed: bool = False) -> dict:
    source, rid = ids_of(rec)
    out = {"id": rid, "source": source}
    if rec.get("pmid"):
        out["pmid"] = str(rec["pmid"])
    if rec.get("pmcid"):
        out["pmcid"] = rec["pmcid"]
    if rec.get("doi"):
        out["doi"] = rec["doi"]
    return out


def _flags(rec: dict) -> dict:
    oa = "Y" if rec.get("pmcid") else "N"
    return {"isOpenAccess": oa, "inEPMC": oa, "inPMC": oa, "hasPDF": oa, "hasBook": "N", "hasSuppl": "N",
            "citedByCount": 0, "hasReferences": "N", "hasTextMinedTerms": "N", "hasDbCrossReferences": "N",
            "hasLabsLinks": "N", "hasTMAccessionNumbers": "N"}


def lite(rec: dict, malformed: bool = False) -> dict:
    out = idlist(rec)
    out["title"] = _title(rec)
    out["authorString"] = author_string(rec)
    out["journalTitle"] = rec.get("journal") or ""
    if rec.get("issue"):
        out["issue"] = rec["issue"]
    if rec.get("volume"):
        out["journalVolume"] = rec["volume"]
    out["pubYear"] = str(pub_date(rec)[0])
    if rec.get("pages"):
        out["pageInfo"] = rec["pages"]
    out["pubType"] = "; ".join(t.lower() for t in pub_types_of(rec, ["Journal Article"]))
    out.update(_flags(rec))
    out["firstIndexDate"] = rec.get("entry_date")
    out["firstPublicationDate"] = pub_date_iso(rec)
    if malformed:
        out.pop("title")
    return out


def core(rec: dict, malformed: bool = False) -> dict:
    source = ids_of(rec)[0]
    out: dict = idlist(rec)
    if rec.get("pmcid"):
        out["fullTextIdList"] = {"fullTextId": [rec["pmcid"]]}
    if not malformed:  # a malformed record lacks its title, as some real Europe PMC records do
        out["title"] = _title(rec)
    out["authorString"] = author_string(rec)
    authors = []
    for a in rec.get("authors") or []:
        if a.get("family"):
            authors.append({"fullName": f"{a['family']} {initials(a.get('given'))}".strip(),
                            "firstName": a.get("given") or "", "lastName": a["family"],
                            "initials": initials(a.get("given"))})
        else:
            authors.append({"collectiveName": a.get("name") or a.get("given") or ""})
    if authors:
        out["authorList"] = {"author": authors}
    text, year, month = _date_text(rec)
    journal = {"title": rec.get("journal") or "", "medlineAbbreviation": rec.get("journal") or "",
               "isoabbreviation": rec.get("journal") or "", "nlmid": str(100000000 + hash_key(rec))}
    info: dict = {}
    if rec.get("issue"):
        info["issue"] = rec["issue"]
    if rec.get("volume"):
        info["volume"] = rec["volume"]
    info.update({"journalIssueId": 4000000 + hash_key(rec), "dateOfPublication": text,
                 "monthOfPublication": month, "yearOfPublication": year, "journal": journal,
                 "printPublicationDate": pub_date_iso(rec)})
    out["journalInfo"] = info
    out["pubYear"] = str(year)
    if rec.get("pages"):
        out["pageInfo"] = rec["pages"]
    if rec.get("abstract"):
        out["abstractText"] = abstract_html(rec["abstract"])
    out["publicationStatus"] = "ppublish"
    out["language"] = rec.get("language") or "eng"
    out["pubModel"] = "Print-Electronic"
    out["pubTypeList"] = {"pubType": pub_types_of(rec, ["Journal Article"])}
    if rec.get("keywords"):
        out["keywordList"] = {"keyword": list(rec["keywords"])}
    if rec.get("mesh") and source == "MED":
        headings = []
        for heading in rec["mesh"]:
            descriptor, _, qualifier = str(heading).partition("/")
            h = {"majorTopic_YN": "Y" if descriptor.startswith("*") else "N",
                 "descriptorName": descriptor.strip("*")}
            if qualifier:
                h["meshQualifierList"] = {"meshQualifier": [
                    {"abbreviation": qualifier[:2].upper(), "qualifierName": qualifier, "majorTopic_YN": "N"}]}
            headings.append(h)
        out["meshHeadingList"] = {"meshHeading": headings}
    urls = []
    if rec.get("doi"):
        urls.append({"availability": "Subscription required", "availabilityCode": "S", "documentStyle": "doi",
                     "site": "DOI", "url": f"https://doi.org/{rec['doi']}"})
    if rec.get("pmcid"):
        urls.append({"availability": "Open access", "availabilityCode": "OA", "documentStyle": "html",
                     "site": "Europe_PMC", "url": f"https://europepmc.org/articles/{rec['pmcid']}"})
    if urls:
        out["fullTextUrlList"] = {"fullTextUrl": urls}
    r = retraction(rec)
    other = (r.get("notice") if r["status"] == "retracted" else r.get("of")) if r else None
    if other:  # as in the real sample: the id may be missing, the reference is the other record's citation
        cc = {"source": "MED"}
        if other.get("pmid"):
            cc["id"] = str(other["pmid"])
        cc.update({"reference": other.get("citation") or other.get("doi") or "",
                   "type": "Retraction in" if r["status"] == "retracted" else "Retraction of", "orderIn": 1})
        out["commentCorrectionList"] = {"commentCorrection": [cc]}
    out.update(_flags(rec))
    out.update({"authMan": "N", "epmcAuthMan": "N", "nihAuthMan": "N", "hasData": "N", "hasEvaluations": "N"})
    entry = rec.get("entry_date")
    out.update({"dateOfCreation": entry, "dateOfRevision": entry, "firstIndexDate": entry,
                "firstPublicationDate": pub_date_iso(rec)})
    return out
