"""NCBI E-utilities (esearch.fcgi, efetch.fcgi) for db=pubmed, in the real wire format.

Shapes follow the real samples in fixtures/real/pubmed: `eSearchResult` with Count /
RetMax / RetStart / QueryKey / WebEnv (MCID_ form) / IdList; `PubmedArticleSet` with one
`PubmedArticle` per line as current efetch sends it. Errors come back as NCBI sends them:
HTTP 200 with an ERROR element (XML) or key (JSON).
"""

from __future__ import annotations

import json
import secrets
import xml.etree.ElementTree as ET
from datetime import date, timedelta

from synth.fakeapi.corpus import (
    abstract_sections,
    in_window,
    initials,
    parse_bound,
    pub_date,
    pub_date_iso,
    pub_types_of,
    retraction,
    stable_int,
    xml_text,
)
from synth.fakeapi.reply import JSON, XML, Reply, first, int_param

ESEARCH_HEAD = ('<?xml version="1.0" encoding="UTF-8" ?>\n<!DOCTYPE eSearchResult PUBLIC "-//NLM//DTD esearch '
                '20060628//EN" "https://eutils.ncbi.nlm.nih.gov/eutils/dtd/20060628/esearch.dtd">\n')
EFETCH_HEAD = ('<?xml version="1.0" ?>\n<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January '
               '2025//EN" "https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">\n')
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

# NlmCategory that PubMed assigns to common author labels.
NLM_CATEGORY = {
    "BACKGROUND": "BACKGROUND", "INTRODUCTION": "BACKGROUND", "CONTEXT": "BACKGROUND", "RATIONALE": "BACKGROUND",
    "OBJECTIVE": "OBJECTIVE", "OBJECTIVES": "OBJECTIVE", "AIM": "OBJECTIVE", "AIMS": "OBJECTIVE",
    "PURPOSE": "OBJECTIVE", "METHODS": "METHODS", "METHOD": "METHODS", "DESIGN": "METHODS",
    "SETTING": "METHODS", "PARTICIPANTS": "METHODS", "INTERVENTION": "METHODS", "MEASURES": "METHODS",
    "RESULTS": "RESULTS", "FINDINGS": "RESULTS", "CONCLUSIONS": "CONCLUSIONS", "CONCLUSION": "CONCLUSIONS",
    "DISCUSSION": "CONCLUSIONS", "IMPLICATIONS": "CONCLUSIONS", "INTERPRETATION": "CONCLUSIONS",
    "IMPORTANCE": "BACKGROUND", "DATA SOURCES": "METHODS", "REVIEW METHODS": "METHODS", "MEASUREMENTS": "METHODS",
    "INTERVENTIONS": "METHODS", "OUTCOMES": "METHODS", "ETHICS AND DISSEMINATION": "CONCLUSIONS",
}


def nlm_category(label: str) -> str:
    label = label.upper()
    return NLM_CATEGORY.get(label) or NLM_CATEGORY.get(label.split()[0]) or "UNASSIGNED"
PUB_TYPE_UI = {
    "Journal Article": "D016428", "Randomized Controlled Trial": "D016449", "Review": "D016454",
    "Systematic Review": "D000078182", "Meta-Analysis": "D017418", "Comparative Study": "D003160",
    "Observational Study": "D064888", "Clinical Trial Protocol": "D000078325", "Clinical Trial": "D016430",
    "Multicenter Study": "D016448", "Research Support, Non-U.S. Gov't": "D013485", "Editorial": "D016421",
    "Letter": "D016422", "Comment": "D016420", "Preprint": "D000076942",
    "Retracted Publication": "D016441", "Retraction of Publication": "D016440",
}
MESH_UI = {"Adolescent": "D000293", "Young Adult": "D055815", "Humans": "D006801", "Peer Group": "D010487",
           "Mental Health": "D008603", "Social Support": "D012944", "Female": "D005260", "Male": "D008297",
           "Child": "D002648", "Mental Disorders": "D001523", "Mentors": "D032206", "Counseling": "D003376"}


def _ui(table: dict, name: str) -> str:
    return table.get(name) or f"D{900000 + stable_int(name, 5):06d}"


class PubMedAPI:
    source = "pubmed"

    def __init__(self, server):
        self.server = server
        self.history: dict[str, list[list[str]]] = {}  # WebEnv -> [ids of query_key 1, 2, ...]

    # ------------------------------------------------------------------ routing
    def handle(self, sub: str, params: dict, headers) -> Reply:
        limit = "10" if first(params, "api_key") else "3"
        if sub == "esearch.fcgi":
            reply = self.esearch(params)
        elif sub == "efetch.fcgi":
            reply = self.efetch(params)
        else:
            reply = Reply(404, b"<html><body><h1>Not Found</h1></body></html>", "text/html")
        reply.headers.setdefault("X-RateLimit-Limit", limit)
        return reply

    def records(self) -> list[dict]:
        return self.server.records(self.source)

    # ------------------------------------------------------------------ esearch
    def esearch(self, params: dict) -> Reply:
        as_json = (first(params, "retmode") or "xml").lower() == "json"
        db = first(params, "db", "pubmed")
        term = first(params, "term") or ""
        if db != "pubmed":
            return self._esearch_error(f"Invalid db name specified: {db}", as_json)
        if not term.strip():
            return self._esearch_error("Empty term and query_key - nothing todo", as_json)
        try:
            retstart = int_param(params, "retstart", 0)
            retmax = min(max(int_param(params, "retmax", 20), 0), 10000)
            lo, hi, field = self._date_window(params)
        except ValueError as e:
            return self._esearch_error(str(e), as_json)
        ceiling = self.server.faults.esearch_ceiling
        if retstart > ceiling - 1:
            return self._esearch_error(
                "Search Backend failed: Exception:\n"
                f"'retstart' cannot be larger than {ceiling - 1}. For PubMed, ESearch can only retrieve "
                f"the first {ceiling:,} records matching the query.", as_json)

        if field == "pdat":
            hits = [r for r in self.records() if in_window(pub_date_iso(r), lo, hi)]
        else:
            hits = [r for r in self.records() if in_window(r.get("entry_date"), lo, hi)]
        ids = [str(r["pmid"]) for r in hits]
        page = ids[retstart:min(retstart + retmax, ceiling)]
        translation = f"{term}"
        if lo or hi:
            name = "Date - Publication" if field == "pdat" else "Date - Entry"
            translation += f" AND {(lo or '1000-01-01').replace('-', '/')}:{(hi or '3000-12-31').replace('-', '/')}[{name}]"

        webenv = query_key = None
        if (first(params, "usehistory") or "").lower() == "y":
            webenv, query_key = self._remember(first(params, "WebEnv"), ids[:ceiling])
        if as_json:
            result = {"count": str(len(ids)), "retmax": str(len(page)), "retstart": str(retstart)}
            if webenv:
                result.update(querykey=str(query_key), webenv=webenv)
            result.update(idlist=page, translationset=[],
                          translationstack=[{"term": term, "field": "All Fields", "count": str(len(ids)),
                                             "explode": "N"}, "GROUP"],
                          querytranslation=translation)
            if not ids:
                result["errorlist"] = {"phrasesnotfound": [] if (lo or hi) else [term], "fieldsnotfound": []}
                result["warninglist"] = {"phrasesignored": [], "quotedphrasesnotfound": [],
                                         "outputmessages": ["No items found."]}
            body = {"header": {"type": "esearch", "version": "0.3"}, "esearchresult": result}
            return Reply(200, json.dumps(body).encode(), JSON)

        root = ET.Element("eSearchResult")
        ET.SubElement(root, "Count").text = str(len(ids))
        ET.SubElement(root, "RetMax").text = str(len(page))
        ET.SubElement(root, "RetStart").text = str(retstart)
        if webenv:
            ET.SubElement(root, "QueryKey").text = str(query_key)
            ET.SubElement(root, "WebEnv").text = webenv
        idlist = ET.SubElement(root, "IdList")
        if page:
            idlist.text = "\n"
            for pmid in page:
                ET.SubElement(idlist, "Id").text = pmid
                idlist[-1].tail = "\n"
        ET.SubElement(root, "TranslationSet")
        ET.SubElement(root, "QueryTranslation").text = translation
        if not ids:
            if not (lo or hi):  # the term itself matched nothing
                errors = ET.SubElement(root, "ErrorList")
                ET.SubElement(errors, "PhraseNotFound").text = term
            warnings = ET.SubElement(root, "WarningList")
            ET.SubElement(warnings, "OutputMessage").text = "No items found."
        return Reply(200, (ESEARCH_HEAD + ET.tostring(root, encoding="unicode") + "\n").encode(), XML)

    def _esearch_error(self, message: str, as_json: bool) -> Reply:
        if as_json:
            body = {"header": {"type": "esearch", "version": "0.3"}, "esearchresult": {"ERROR": message}}
            return Reply(200, json.dumps(body).encode(), JSON)
        root = ET.Element("eSearchResult")
        ET.SubElement(root, "ERROR").text = message
        return Reply(200, (ESEARCH_HEAD + ET.tostring(root, encoding="unicode") + "\n").encode(), XML)

    @staticmethod
    def _date_window(params: dict) -> tuple[str | None, str | None, str]:
        field = (first(params, "datetype") or "pdat").lower()
        mindate, maxdate = first(params, "mindate"), first(params, "maxdate")
        reldate = first(params, "reldate")
        if reldate:
            today = date.today()
            return (today - timedelta(days=int(reldate))).isoformat(), today.isoformat(), field
        if bool(mindate) != bool(maxdate):
            raise ValueError("Both mindate and maxdate must be specified")
        if not mindate:
            return None, None, field
        return parse_bound(mindate, end=False), parse_bound(maxdate, end=True), field

    def _remember(self, webenv: str | None, ids: list[str]) -> tuple[str, int]:
        with self.server.lock:
            if not webenv or webenv not in self.history:
                webenv = "MCID_" + secrets.token_hex(12)
                self.history[webenv] = []
            self.history[webenv].append(ids)
            return webenv, len(self.history[webenv])

    # ------------------------------------------------------------------ efetch
    def efetch(self, params: dict) -> Reply:
        db = first(params, "db", "pubmed")
        retmode = (first(params, "retmode") or "xml").lower()
        if db != "pubmed":
            return self._efetch_error(f"Invalid db name specified: {db}")
        if retmode != "xml":
            return self._efetch_error(f"retmode={retmode} is not served by synth's fake E-utilities (use xml)")
        if params.get("id"):
            wanted = [i.strip() for v in params["id"] for i in v.split(",") if i.strip()]
        else:
            webenv, key = first(params, "WebEnv"), first(params, "query_key")
            stored = self.history.get(webenv or "")
            try:
                ids = stored[int(key) - 1] if stored and key else None
            except (ValueError, IndexError):
                ids = None
            if ids is None:
                return self._efetch_error(f"Unable to obtain query #{key or 1}" if webenv
                                          else "Empty id list - nothing todo")
            try:
                retstart = max(int_param(params, "retstart", 0), 0)
                retmax = min(max(int_param(params, "retmax", 20), 0), 10000)
            except ValueError as e:
                return self._efetch_error(str(e))
            wanted = ids[retstart:retstart + retmax]
        by_pmid = self.server.index(self.source, "pmid")
        malformed = self.server.faults.malformed
        cache = self.server.render_cache
        articles = []
        for pmid in wanted:
            if pmid in by_pmid:
                key = ("pubmed", pmid, by_pmid[pmid].get("key") in malformed)
                if key not in cache:  # rendering dominates big crawls; records do not change
                    cache[key] = article_xml(by_pmid[pmid], malformed=key[2])
                articles.append(cache[key])
        body = EFETCH_HEAD + "<PubmedArticleSet>\n" + "".join(a + "\n" for a in articles) + "</PubmedArticleSet>\n"
        return Reply(200, body.encode(), XML, data_page=True)

    @staticmethod
    def _efetch_error(message: str) -> Reply:
        root = ET.Element("eFetchResult")
        ET.SubElement(root, "ERROR").text = message
        return Reply(400, ('<?xml version="1.0" encoding="UTF-8" ?>\n' + ET.tostring(root, encoding="unicode")
                           + "\n").encode(), XML)


def _sub(parent, tag, text=None, **attrs):
    el = ET.SubElement(parent, tag, {k: str(v) for k, v in attrs.items()})
    if text is not None:
        el.text = xml_text(text)
    return el


def _ymd(parent, tag, day: str, hm: bool = False, **attrs):
    y, m, d = (int(x) for x in day.split("-"))
    el = _sub(parent, tag, **attrs)
    _sub(el, "Year", f"{y:04d}")
    _sub(el, "Month", str(m) if hm else f"{m:02d}")
    _sub(el, "Day", str(d) if hm else f"{d:02d}")
    if hm:
        _sub(el, "Hour", "6")
        _sub(el, "Minute", "0")
    return el


def article_xml(rec: dict, malformed: bool = False) -> str:
    """One <PubmedArticle> on one line, as efetch returns it today."""
    pmid = str(rec["pmid"])
    entry = rec.get("entry_date") or f"{pub_date(rec)[0]}-01-01"
    art = ET.Element("PubmedArticle")
    mc = _sub(art, "MedlineCitation", Status="MEDLINE", Owner="NLM", IndexingMethod="Automated")
    _sub(mc, "PMID", pmid, Version="1")
    _ymd(mc, "DateRevised", entry)
    article = _sub(mc, "Article", PubModel="Print-Electronic")
    journal = _sub(article, "Journal")
    issue = _sub(journal, "JournalIssue", CitedMedium="Internet")
    if rec.get("volume"):
        _sub(issue, "Volume", rec["volume"])
    if rec.get("issue"):
        _sub(issue, "Issue", rec["issue"])
    pd = _sub(issue, "PubDate")
    y, m, _ = pub_date(rec)
    _sub(pd, "Year", str(y))
    if m:
        _sub(pd, "Month", MONTHS[m - 1])
    _sub(journal, "Title", rec.get("journal") or "")
    _sub(journal, "ISOAbbreviation", rec.get("journal") or "")
    title = "" if malformed else _medline_title(rec.get("title") or "")
    _sub(article, "ArticleTitle", title)
    if rec.get("pages"):
        _sub(_sub(article, "Pagination"), "MedlinePgn", rec["pages"])
    if rec.get("doi"):
        _sub(article, "ELocationID", rec["doi"], EIdType="doi", ValidYN="Y")
    sections = abstract_sections(rec.get("abstract"))
    if sections:
        abstract = _sub(article, "Abstract")
        for label, text in sections:
            if label:
                _sub(abstract, "AbstractText", text, Label=label.upper(),
                     NlmCategory=nlm_category(label))
            else:
                _sub(abstract, "AbstractText", text)
    authors = rec.get("authors") or []
    if authors:
        alist = _sub(article, "AuthorList", CompleteYN="Y")
        for a in authors:
            au = _sub(alist, "Author", ValidYN="Y")
            if a.get("family"):
                _sub(au, "LastName", a["family"])
                if a.get("given"):
                    _sub(au, "ForeName", a["given"])
                    _sub(au, "Initials", initials(a["given"]))
            else:
                _sub(au, "CollectiveName", a.get("name") or a.get("given") or "")
    _sub(article, "Language", rec.get("language") or "eng")
    ptl = _sub(article, "PublicationTypeList")
    for pt in pub_types_of(rec, ["Journal Article"]):
        _sub(ptl, "PublicationType", pt, UI=_ui(PUB_TYPE_UI, pt))
    info = _sub(mc, "MedlineJournalInfo")
    _sub(info, "Country", "England")
    _sub(info, "MedlineTA", rec.get("journal") or "")
    _sub(info, "NlmUniqueID", str(100000000 + stable_int(rec.get("journal") or "", 6)))
    _sub(mc, "CitationSubset", "IM")
    r = retraction(rec)
    other = (r.get("notice") if r["status"] == "retracted" else r.get("of")) if r else None
    if other and (other.get("pmid") or other.get("citation")):
        # RetractionIn on the retracted article (PMID: the notice), RetractionOf on the notice
        cc = _sub(_sub(mc, "CommentsCorrectionsList"), "CommentsCorrections",
                  RefType="RetractionIn" if r["status"] == "retracted" else "RetractionOf")
        _sub(cc, "RefSource", other.get("citation") or "")
        if other.get("pmid"):
            _sub(cc, "PMID", str(other["pmid"]), Version="1")
    if rec.get("mesh"):
        mhl = _sub(mc, "MeshHeadingList")
        for heading in rec["mesh"]:
            descriptor, _, qualifier = str(heading).partition("/")
            mh = _sub(mhl, "MeshHeading")
            _sub(mh, "DescriptorName", descriptor.strip("*"), UI=_ui(MESH_UI, descriptor.strip("*")),
                 MajorTopicYN="Y" if descriptor.startswith("*") else "N")
            if qualifier:
                _sub(mh, "QualifierName", qualifier, UI=f"Q{stable_int(qualifier, 6):06d}", MajorTopicYN="N")
    if rec.get("keywords"):
        kwl = _sub(mc, "KeywordList", Owner="NOTNLM")
        for kw in rec["keywords"]:
            _sub(kwl, "Keyword", kw, MajorTopicYN="N")

    data = _sub(art, "PubmedData")
    hist = _sub(data, "History")
    for status in ("entrez", "pubmed", "medline"):
        _ymd(hist, "PubMedPubDate", entry, hm=True, PubStatus=status)
    _sub(data, "PublicationStatus", "ppublish")
    ids = _sub(data, "ArticleIdList")
    _sub(ids, "ArticleId", pmid, IdType="pubmed")
    if rec.get("doi"):
        _sub(ids, "ArticleId", rec["doi"], IdType="doi")
    if rec.get("pmcid"):
        _sub(ids, "ArticleId", rec["pmcid"], IdType="pmc")
    if stable_int(pmid, 2) % 4 == 0:
        # A cited reference with its own ArticleIdList, as real records carry: the first DOI
        # that a careless `.//ArticleId[@IdType="doi"]` finds is then not the article's.
        ref = _sub(_sub(data, "ReferenceList"), "Reference")
        _sub(ref, "Citation", "Smith J, Jones K. Peer support in practice. J Ment Health. 2015;24:1-9.")
        ref_ids = _sub(ref, "ArticleIdList")
        _sub(ref_ids, "ArticleId", f"10.5555/ref.{stable_int(pmid, 6)}", IdType="doi")
        _sub(ref_ids, "ArticleId", str(20000000 + stable_int(pmid, 6)), IdType="pubmed")
    return ET.tostring(art, encoding="unicode")


def _medline_title(title: str) -> str:
    """MEDLINE titles end with a period."""
    title = title.strip()
    return title if not title or title[-1] in ".?!" else title + "."
