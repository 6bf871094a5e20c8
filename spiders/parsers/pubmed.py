"""NCBI E-utilities: esearch (XML or JSON) and efetch PubmedArticleSet XML.

XML is parsed with lxml without entity expansion, DTD loading or network access
(efetch bodies declare an external DTD; it is never fetched).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Iterator

from lxml import etree

from spiders.parsers.common import PageError, Parsed, author_name, collapse, element_text, label_line
from synth.records import Record


def xml_parser() -> etree.XMLParser:
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=True, remove_comments=True)


def parse_xml(data: bytes | str) -> etree._Element:
    if isinstance(data, str):
        data = data.encode("utf-8")
    if not data or data.isspace():
        raise PageError("empty response body")
    try:
        return etree.fromstring(data, xml_parser())
    except etree.XMLSyntaxError as e:
        raise PageError(f"response is not well-formed XML ({e})") from None


# ----------------------------------------------------------------- esearch
@dataclass
class ESearchResult:
    count: int = 0
    retmax: int = 0
    retstart: int = 0
    webenv: str = ""
    query_key: str = ""
    ids: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)  # fatal: the search did not run (e.g. retstart beyond 9998)
    warnings: list[str] = field(default_factory=list)  # e.g. PhraseNotFound, "No items found."


def parse_esearch(data: bytes | str) -> ESearchResult:
    """An esearch body, XML (`eSearchResult`) or JSON (`esearchresult`, numbers as strings)."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    if text.lstrip().startswith("{"):
        return _esearch_json(text)
    root = parse_xml(data)
    if root.tag != "eSearchResult":
        raise PageError(f"expected eSearchResult, got <{root.tag}>")
    res = ESearchResult(
        count=_int(root.findtext("Count")),
        retmax=_int(root.findtext("RetMax")),
        retstart=_int(root.findtext("RetStart")),
        webenv=(root.findtext("WebEnv") or "").strip(),
        query_key=(root.findtext("QueryKey") or "").strip(),
        ids=[i.text.strip() for i in root.iterfind("IdList/Id") if i.text],
    )
    for err in root.iterfind("ERROR"):
        res.errors.append(collapse(err.text))
    for el in root.iterfind("ErrorList/*"):
        res.warnings.append(f"{el.tag}: {collapse(el.text)}")
    for el in root.iterfind("WarningList/*"):
        res.warnings.append(f"{el.tag}: {collapse(el.text)}")
    return res


def _esearch_json(text: str) -> ESearchResult:
    try:
        d = json.loads(text)
    except ValueError as e:
        raise PageError(f"esearch response is not valid JSON ({e})") from None
    r = d.get("esearchresult") or {}
    res = ESearchResult(
        count=_int(r.get("count")), retmax=_int(r.get("retmax")), retstart=_int(r.get("retstart")),
        webenv=r.get("webenv") or "", query_key=str(r.get("querykey") or ""), ids=[str(i) for i in r.get("idlist") or []],
    )
    if r.get("ERROR"):
        res.errors.append(collapse(r["ERROR"]))
    for k, v in (r.get("errorlist") or {}).items():
        for item in v or []:
            res.warnings.append(f"{k}: {item}")
    for k, v in (r.get("warninglist") or {}).items():
        for item in v or []:
            res.warnings.append(f"{k}: {item}")
    return res


def _int(v) -> int:
    try:
        return int(str(v).strip())
    except (TypeError, ValueError):
        return 0


# ----------------------------------------------------------------- efetch
def parse_efetch(data: bytes | str) -> Iterator[Parsed]:
    """One Parsed per PubmedArticle (and PubmedBookArticle) in an efetch XML body."""
    root = parse_xml(data)
    if root.tag == "eFetchResult":
        raise PageError("efetch error: " + collapse(" ".join(root.itertext())))
    if root.tag != "PubmedArticleSet":
        raise PageError(f"expected PubmedArticleSet, got <{root.tag}>")
    for art in root:
        if art.tag not in ("PubmedArticle", "PubmedBookArticle"):
            continue
        pmid = (art.findtext("MedlineCitation/PMID") or art.findtext("BookDocument/PMID") or "").strip()
        try:
            rec = article_record(art) if art.tag == "PubmedArticle" else book_record(art)
            yield Parsed(rec, source_id=pmid)
        except Exception as e:  # noqa: BLE001 - quarantine this one article, keep the rest
            yield Parsed(None, source_id=pmid, error=f"parse error: {type(e).__name__}: {e}",
                         raw=etree.tostring(art, encoding="unicode")[:20000])


def article_record(art: etree._Element) -> Record:
    mc = art.find("MedlineCitation")
    a = mc.find("Article")
    pmid = collapse(mc.findtext("PMID"))
    title = element_text(a.find("ArticleTitle")) or element_text(a.find("VernacularTitle"))
    journal = a.find("Journal")
    ids = {el.get("IdType"): collapse(el.text) for el in art.iterfind("PubmedData/ArticleIdList/ArticleId")}
    doi = ids.get("doi") or next((collapse(e.text) for e in a.iterfind("ELocationID") if e.get("EIdType") == "doi"), None)
    return Record(
        source="pubmed",
        source_id=pmid,
        pmid=pmid,
        doi=doi or None,
        pmcid=ids.get("pmc") or None,
        title=title,
        abstract=abstract_text(a.find("Abstract")),
        authors=_authors(a.find("AuthorList")),
        year=_year(journal.find("JournalIssue/PubDate") if journal is not None else None) or _year(a.find("ArticleDate")),
        journal=collapse(journal.findtext("Title")) if journal is not None else "",
        pub_types=[collapse(p.text) for p in a.iterfind("PublicationTypeList/PublicationType") if p.text],
        keywords=[element_text(k) for k in mc.iterfind("KeywordList/Keyword")],
        mesh=[collapse(d.text) for d in mc.iterfind("MeshHeadingList/MeshHeading/DescriptorName") if d.text],
        language=collapse(a.findtext("Language")),
        url=f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/",
        retractions=retraction_signals(mc),
    )


# CommentsCorrections RefType: the record is retracted (the other one is the notice), or is the notice.
RETRACTED_BY = ("RetractionIn", "RetractedandRepublishedIn")
NOTICE_OF = ("RetractionOf",)


def retraction_signals(mc: etree._Element) -> list[dict]:
    """CommentsCorrections RefType="RetractionIn" (this article is retracted; PMID = the notice) and
    "RetractionOf" (this article is a notice; PMID = the retracted article). Publication types
    ("Retracted Publication", "Retraction of Publication") are read from pub_types by synth.retractions."""
    from synth import retractions as R

    out = []
    for cc in mc.iterfind("CommentsCorrectionsList/CommentsCorrections"):
        kind = cc.get("RefType") or ""
        if kind not in RETRACTED_BY and kind not in NOTICE_OF:
            continue
        ref = collapse(cc.findtext("RefSource"))
        pmid = collapse(cc.findtext("PMID")) or None
        doi = R.doi_in(ref)
        if kind in RETRACTED_BY:
            out.append(R.retracted(kind, notice_doi=doi, notice_pmid=pmid, ref=ref, date=R.date_of_reference(ref)))
        else:
            out.append(R.notice(kind, target_doi=doi, target_pmid=pmid))
    return out


def book_record(art: etree._Element) -> Record:
    bd = art.find("BookDocument")
    pmid = collapse(bd.findtext("PMID"))
    ids = {el.get("IdType"): collapse(el.text) for el in art.iterfind("PubmedBookData/ArticleIdList/ArticleId")}
    book = bd.find("Book")
    return Record(
        source="pubmed", source_id=pmid, pmid=pmid, doi=ids.get("doi") or None, pmcid=ids.get("pmc") or None,
        title=element_text(bd.find("ArticleTitle")) or element_text(book.find("BookTitle") if book is not None else None),
        abstract=abstract_text(bd.find("Abstract")),
        authors=_authors(bd.find("AuthorList")),
        year=_year(book.find("PubDate") if book is not None else None),
        journal=element_text(book.find("BookTitle")) if book is not None else "",
        pub_types=[collapse(p.text) for p in bd.iterfind("PublicationType") if p.text],
        keywords=[element_text(k) for k in bd.iterfind("KeywordList/Keyword")],
        language=collapse(bd.findtext("Language")),
        url=f"https://pubmed.ncbi.nlm.nih.gov/{pmid}/",
    )


def abstract_text(abstract: etree._Element | None) -> str:
    """AbstractText sections as lines; labelled ones as `LABEL: text` (copyright notice left out)."""
    if abstract is None:
        return ""
    lines = []
    for sec in abstract.iterfind("AbstractText"):
        text = element_text(sec)
        if text:
            # Label is the journal's heading; NlmCategory (when Label is absent) is NLM's mapping of it
            cat = sec.get("NlmCategory")
            lines.append(label_line(sec.get("Label") or (cat if cat and cat != "UNASSIGNED" else None), text))
    return "\n".join(lines)


def _authors(author_list: etree._Element | None) -> list[str]:
    if author_list is None:
        return []
    out = []
    for au in author_list.iterfind("Author"):
        if au.get("ValidYN") == "N":
            continue
        parts = {child.tag: child.text for child in au}  # one pass over the few children
        name = author_name(parts.get("LastName"), parts.get("ForeName") or parts.get("Initials"))
        name = name or collapse(parts.get("CollectiveName"))
        if name:
            out.append(name)
    return out


def _year(date_el: etree._Element | None) -> int | None:
    if date_el is None:
        return None
    y = date_el.findtext("Year")
    if y and y.strip().isdigit():
        return int(y)
    md = date_el.findtext("MedlineDate")  # e.g. "1998 Dec-1999 Jan", "2000 Spring"
    if md:
        from synth.normalize import parse_year

        return parse_year(md)
    return None
