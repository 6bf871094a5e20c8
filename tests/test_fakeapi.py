"""The fake bibliographic API server: real HTTP on 127.0.0.1, each API's paging, formats and faults.

Every crawl here uses plain urllib and follows only the rules the real API documents
(esearch+efetch history, Europe PMC cursorMark, OpenAlex cursor, Crossref cursor with a
short last page), so the spiders can rely on the same rules."""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
import xml.etree.ElementTree as ET

import pytest

from synth.fakeapi import FakeAPIServer, Faults, generate_corpus, load_sample_corpus, view
from synth.fakeapi.corpus import SAMPLE_CORPUS, flat_abstract
from synth.fakeapi.europepmc import ids_of

HANDMADE = [
    {"key": "T001", "title": "Peer mentors & young people: trust <and> \"authenticity\" in Māori youth services",
     "abstract": "BACKGROUND: Young people (aged 12–25) often distrust services.\n"
                 "METHODS: Interviews with 20 mentees & 8 mentors; p < .05 was used.\n"
                 "RESULTS: Shared lived experience built trust.\nCONCLUSIONS: Peerness matters.",
     "authors": [{"family": "Ngata", "given": "Aroha T"}, {"family": "O'Brien", "given": "Seán"}],
     "year": 2021, "entry_date": "2021-03-04", "journal": "Journal of Youth Studies", "volume": "24",
     "issue": "2", "pages": "101-119", "doi": "10.5555/synth.T001", "pmid": "39000901", "pmcid": "PMC9000901",
     "openalex": "W4300000901", "pub_types": ["Journal Article"], "mesh": ["Adolescent", "Peer Group/psychology"],
     "keywords": ["peer support", "trust"], "language": "eng",
     "sources": ["pubmed", "europepmc", "openalex", "crossref"],
     "variants": {"crossref": {"title": "PEER MENTORS AND YOUNG PEOPLE: TRUST AND AUTHENTICITY"},
                  "openalex": {"doi": None}},
     "topic": "on_topic", "design": "qualitative", "mechanisms": ["peerness_relationship"], "outcomes": [],
     "contexts": []},
    {"key": "T002", "title": "Peer review of manuscripts in psychiatry journals", "abstract": "",
     "authors": [{"family": "Lee", "given": "Min"}], "year": 2019, "entry_date": "2019-11-30",
     "journal": "Learned Publishing", "volume": "32", "issue": "4", "pages": "1-5", "doi": "10.5555/synth.T002",
     "pmid": None, "pmcid": None, "openalex": "W4300000902", "pub_types": ["Journal Article"], "mesh": [],
     "keywords": [], "language": "eng", "sources": ["crossref", "openalex"], "variants": {},
     "topic": "near_miss", "design": "other", "mechanisms": [], "outcomes": [], "contexts": []},
    {"key": "T003", "title": "A preprint held by Europe PMC only", "abstract": "Plain abstract with x > y.",
     "authors": [], "year": 2024, "entry_date": "2024-01-31", "journal": "", "volume": "", "issue": "",
     "pages": "", "doi": None, "pmid": None, "pmcid": "PMC9000903", "openalex": None,
     "pub_types": ["Preprint"], "mesh": [], "keywords": [], "language": "eng", "sources": ["europepmc"],
     "variants": {}, "topic": "on_topic", "design": "other", "mechanisms": [], "outcomes": [], "contexts": []},
]


@pytest.fixture(scope="module")
def corpus():
    return HANDMADE + generate_corpus(130, seed=3)


@pytest.fixture(scope="module")
def api(corpus):
    with FakeAPIServer(corpus) as server:
        yield server


@pytest.fixture(autouse=True)
def _reset_faults(api):
    api.faults = Faults()
    yield


def expected(corpus, source, ident):
    """The identifiers `source` should serve: studies it holds and has an identifier for."""
    out = set()
    for rec in corpus:
        v = view(rec, source)
        if source in rec["sources"] and ident(v):
            out.add(ident(v))
    return out


def get(url, **params):
    full = url + ("?" + urllib.parse.urlencode(params, doseq=True) if params else "")
    with urllib.request.urlopen(full, timeout=10) as resp:
        return resp.status, dict(resp.headers), resp.read()


def status_of(url, **params):
    try:
        return get(url, **params)[0]
    except urllib.error.HTTPError as e:
        return e.code


# ------------------------------------------------------------------------------------------ crawls


def crawl_pubmed(api, page=25, **search):
    base = api.base_url("pubmed")
    _, _, body = get(base + "esearch.fcgi", db="pubmed", term="peer support", usehistory="y", retmax=0, **search)
    root = ET.fromstring(body)
    count, webenv, key = int(root.findtext("Count")), root.findtext("WebEnv"), root.findtext("QueryKey")
    articles = []
    for start in range(0, count, page):
        _, _, xml = get(base + "efetch.fcgi", db="pubmed", retmode="xml", WebEnv=webenv, query_key=key,
                        retstart=start, retmax=page)
        articles += ET.fromstring(xml).findall("PubmedArticle")
    return count, articles


def crawl_europepmc(api, page=7, query="peer support"):
    cursor, results, pages = "*", [], 0
    while True:
        _, _, body = get(api.base_url("europepmc") + "search", query=query, resultType="core", format="json",
                         pageSize=page, cursorMark=cursor)
        data = json.loads(body)
        pages += 1
        results += data["resultList"]["result"]
        if "nextCursorMark" not in data or data["nextCursorMark"] == cursor or not data["resultList"]["result"]:
            return data["hitCount"], results, pages
        cursor = data["nextCursorMark"]


def crawl_openalex(api, page=9, **params):
    cursor, results, last = "*", [], None
    while cursor:
        _, _, body = get(api.base_url("openalex") + "works", search="peer support", cursor=cursor,
                         **{"per-page": page}, mailto="me@example.org", **params)
        last = json.loads(body)
        results += last["results"]
        cursor = last["meta"]["next_cursor"]
    return last, results


def crawl_crossref(api, rows=11, **params):
    cursor, items, cursors = "*", [], set()
    while True:
        _, headers, body = get(api.base_url("crossref") + "works", query="peer support", rows=rows,
                               cursor=cursor, **params)
        msg = json.loads(body)["message"]
        items += msg["items"]
        cursors.add(msg["next-cursor"])
        cursor = msg["next-cursor"]
        if len(msg["items"]) < rows:
            return msg, items, cursors, headers


def test_pubmed_history_paging_returns_every_record_once(api, corpus):
    count, articles = crawl_pubmed(api)
    pmids = [a.findtext("MedlineCitation/PMID") for a in articles]
    want = expected(corpus, "pubmed", lambda r: r.get("pmid"))
    assert count == len(want) > 50
    assert len(pmids) == len(set(pmids)) and set(pmids) == want


def test_pubmed_esearch_retstart_paging_and_json_mode(api, corpus):
    base = api.base_url("pubmed") + "esearch.fcgi"
    seen = []
    for start in range(0, 200, 40):
        root = ET.fromstring(get(base, db="pubmed", term="x", retstart=start, retmax=40)[2])
        assert root.findtext("RetStart") == str(start)
        seen += [e.text for e in root.findall("IdList/Id")]
    assert set(seen) == expected(corpus, "pubmed", lambda r: r.get("pmid")) and len(seen) == len(set(seen))
    data = json.loads(get(base, db="pubmed", term="x", retmode="json", usehistory="y", retmax=5)[2])
    result = data["esearchresult"]
    assert result["count"] == str(len(seen)) and result["retmax"] == "5"  # numbers are strings, as in real JSON
    assert result["webenv"].startswith("MCID_") and result["querykey"] == "1" and len(result["idlist"]) == 5


def test_pubmed_article_renders_the_study(api, corpus):
    _, _, xml = get(api.base_url("pubmed") + "efetch.fcgi", db="pubmed", id="39000901")
    art = ET.fromstring(xml).find("PubmedArticle")
    article = art.find("MedlineCitation/Article")
    assert article.findtext("ArticleTitle") == (
        "Peer mentors & young people: trust <and> \"authenticity\" in Māori youth services.")
    sections = article.findall("Abstract/AbstractText")
    assert [(s.get("Label"), s.get("NlmCategory")) for s in sections] == [
        ("BACKGROUND", "BACKGROUND"), ("METHODS", "METHODS"), ("RESULTS", "RESULTS"), ("CONCLUSIONS", "CONCLUSIONS")]
    assert sections[1].text == "Interviews with 20 mentees & 8 mentors; p < .05 was used."
    assert [a.findtext("LastName") for a in article.findall("AuthorList/Author")] == ["Ngata", "O'Brien"]
    assert article.findtext("Journal/JournalIssue/PubDate/Year") == "2021"
    ids = {e.get("IdType"): e.text for e in art.findall("PubmedData/ArticleIdList/ArticleId")}
    assert ids == {"pubmed": "39000901", "doi": "10.5555/synth.T001", "pmc": "PMC9000901"}
    mesh = art.find("MedlineCitation/MeshHeadingList/MeshHeading[2]")
    assert (mesh.findtext("DescriptorName"), mesh.findtext("QualifierName")) == ("Peer Group", "psychology")
    assert b"&amp;" in xml and b"&lt;and&gt;" in xml  # escaped on the wire


def test_pubmed_date_window_filters_by_entry_date(api, corpus):
    count, articles = crawl_pubmed(api, mindate="2012/01/01", maxdate="2015/12/31", datetype="edat")
    want = {view(r, "pubmed")["pmid"] for r in corpus
            if "pubmed" in r["sources"] and r.get("pmid") and "2012-01-01" <= r["entry_date"] <= "2015-12-31"}
    assert 0 < count == len(want) < len(expected(corpus, "pubmed", lambda r: r.get("pmid")))
    assert {a.findtext("MedlineCitation/PMID") for a in articles} == want
    # a year-only window covers the whole year
    root = ET.fromstring(get(api.base_url("pubmed") + "esearch.fcgi", db="pubmed", term="x", mindate="2021",
                             maxdate="2021", datetype="edat", retmax=500)[2])
    assert "39000901" in [e.text for e in root.findall("IdList/Id")]


def test_pubmed_empty_result_has_the_real_no_results_form(api, real_fixtures):
    base = api.base_url("pubmed") + "esearch.fcgi"
    root = ET.fromstring(get(base, db="pubmed", term="abcXYZ", mindate="1990", maxdate="1990", datetype="edat")[2])
    assert root.findtext("Count") == "0" and root.find("IdList") is not None and not root.findall("IdList/Id")
    assert root.findtext("WarningList/OutputMessage") == "No items found."
    with FakeAPIServer([]) as empty:
        root = ET.fromstring(get(empty.base_url("pubmed") + "esearch.fcgi", db="pubmed", term="abcXYZ")[2])
    real = ET.parse(real_fixtures / "pubmed" / "biopython_esearch8_no_results_errorlist.xml").getroot()
    assert [e.tag for e in root] == [e.tag for e in real]
    assert root.findtext("ErrorList/PhraseNotFound") == "abcXYZ"


def test_esearch_ceiling_gives_ncbis_error_and_caps_history(corpus):
    with FakeAPIServer(corpus, faults=Faults(esearch_ceiling=40)) as api:
        base = api.base_url("pubmed")
        body = get(base + "esearch.fcgi", db="pubmed", term="x", retstart=40)[2].decode()
        assert "<ERROR>Search Backend failed: Exception:\n'retstart' cannot be larger than 39. For PubMed, " \
               "ESearch can only retrieve the first 40 records matching the query.</ERROR>" in body
        status, _, raw = get(base + "esearch.fcgi", db="pubmed", term="x", retstart=40, retmode="json")
        assert status == 200 and "cannot be larger than 39" in json.loads(raw)["esearchresult"]["ERROR"]
        root = ET.fromstring(get(base + "esearch.fcgi", db="pubmed", term="x", retstart=30, retmax=20,
                                 usehistory="y")[2])
        assert int(root.findtext("Count")) > 40 and len(root.findall("IdList/Id")) == 10  # 30..39 only
        _, _, xml = get(base + "efetch.fcgi", db="pubmed", WebEnv=root.findtext("WebEnv"), query_key="1",
                        retstart=0, retmax=500)
        assert len(ET.fromstring(xml).findall("PubmedArticle")) == 40


def test_esearch_ceiling_at_scale_is_split_by_date():
    """12,000+ PubMed records: the real 9,999 ceiling bites; year slices each fit and add up."""
    big = generate_corpus(15000, seed=1)
    with FakeAPIServer(big) as api:
        base = api.base_url("pubmed") + "esearch.fcgi"
        total = int(ET.fromstring(get(base, db="pubmed", term="x", retmax=0)[2]).findtext("Count"))
        assert total > 9999
        body = get(base, db="pubmed", term="x", retstart=9999)[2].decode()
        assert ("'retstart' cannot be larger than 9998. For PubMed, ESearch can only retrieve the first 9,999 "
                "records matching the query.") in body
        last = ET.fromstring(get(base, db="pubmed", term="x", retstart=9990, retmax=100)[2])
        assert len(last.findall("IdList/Id")) == 9
        slices = [int(ET.fromstring(get(base, db="pubmed", term="x", retmax=0, datetype="edat",
                                        mindate=str(y), maxdate=str(y))[2]).findtext("Count"))
                  for y in range(2005, 2026)]
        assert sum(slices) == total and max(slices) < 9999


def test_europepmc_cursor_paging_returns_every_record_once(api, corpus):
    hits, results, pages = crawl_europepmc(api)
    ids = [r["id"] for r in results]
    want = expected(corpus, "europepmc", lambda r: ids_of(r)[1])  # PMID, else PMCID, else a PPR id
    assert hits == len(want) and len(ids) == len(set(ids)) and set(ids) == want
    assert pages == -(-hits // 7)  # the last page carries no nextCursorMark: no extra request
    t001 = next(r for r in results if r["id"] == "39000901")
    assert t001["source"] == "MED" and t001["pmcid"] == "PMC9000901" and t001["doi"] == "10.5555/synth.T001"
    assert t001["abstractText"].startswith("<h4>Background</h4>Young people (aged 12–25)")
    assert "20 mentees &amp; 8 mentors; p &lt; .05" in t001["abstractText"]
    assert t001["authorString"] == "Ngata AT, O'Brien S."
    assert t001["firstIndexDate"] == "2021-03-04" and t001["pubYear"] == "2021"
    t003 = next(r for r in results if r["id"] == "PMC9000903")
    assert t003["source"] == "PMC" and "pmid" not in t003


def test_europepmc_first_idate_clause_filters(api, corpus):
    q = "peer support AND FIRST_IDATE:[2010-01-01 TO 2013-06-30]"
    hits, results, _ = crawl_europepmc(api, page=50, query=q)
    want = {r["key"] for r in corpus if "europepmc" in r["sources"]
            and "2010-01-01" <= r["entry_date"] <= "2013-06-30"}
    assert 0 < hits == len(want) == len(results)
    assert all("2010-01-01" <= r["firstIndexDate"] <= "2013-06-30" for r in results)


def test_europepmc_empty_result_matches_the_real_no_results_page(api, real_fixtures):
    data = json.loads(get(api.base_url("europepmc") + "search", query="x AND FIRST_IDATE:[1980-01-01 TO 1980-12-31]",
                          format="json", resultType="lite")[2])
    real = json.loads((real_fixtures / "europepmc" / "pyeuropepmc_search_no_results.json").read_text())
    assert data.keys() == real.keys() and data["request"].keys() == real["request"].keys()
    assert data["hitCount"] == 0 and data["resultList"] == {"result": []}


def test_openalex_cursor_paging_ends_with_null_cursor_and_empty_page(api, corpus):
    last, works = crawl_openalex(api)
    ids = [w["id"].rsplit("/", 1)[1] for w in works]
    want = expected(corpus, "openalex", lambda r: r.get("openalex") or r["key"])
    assert len(ids) == len(set(ids)) == len(want) == last["meta"]["count"]
    assert last["results"] == [] and last["meta"]["next_cursor"] is None
    t001 = next(w for w in works if w["ids"].get("pmid", "").endswith("/39000901"))
    assert t001["id"] == "https://openalex.org/W4300000901" and t001["doi"] is None  # variant applied
    assert t001["ids"]["pmcid"] == "https://www.ncbi.nlm.nih.gov/pmc/articles/9000901"
    # the abstract comes back from the inverted index, labels inline as OpenAlex holds it
    inv = t001["abstract_inverted_index"]
    words = [w for _, w in sorted((p, w) for w, ps in inv.items() for p in ps)]
    assert " ".join(words) == flat_abstract(HANDMADE[0]["abstract"])
    assert [a["author"]["display_name"] for a in t001["authorships"]] == ["Aroha T Ngata", "Seán O'Brien"]
    assert t001["primary_location"]["source"]["display_name"] == "Journal of Youth Studies"
    assert t001["publication_year"] == 2021 and t001["created_date"] == "2021-03-04"


def test_openalex_filters_narrow_and_bad_requests_fail(api, corpus):
    _, works = crawl_openalex(api, page=50, filter="from_created_date:2016-01-01,to_created_date:2018-12-31")
    want = {r["key"] for r in corpus if "openalex" in r["sources"] and "2016-01-01" <= r["entry_date"] <= "2018-12-31"}
    assert 0 < len(works) == len(want)
    _, works = crawl_openalex(api, page=50, filter="from_publication_date:2020-01-01,to_publication_date:2020-12-31")
    assert works and all(w["publication_year"] == 2020 for w in works)
    base = api.base_url("openalex") + "works"
    assert status_of(base, **{"per-page": 201}) == 400
    assert status_of(base, filter="no_such_field:1") == 400
    assert status_of(base, cursor="not-a-cursor") == 400
    assert status_of(base, page=101, per_page=100) == 400  # basic paging stops at 10,000 results
    page = json.loads(get(base, page=1, per_page=5)[2])
    assert page["meta"]["page"] == 1 and "next_cursor" not in page["meta"] and len(page["results"]) == 5


def test_crossref_cursor_is_stable_and_a_short_page_ends(api, corpus):
    msg, items, cursors, headers = crawl_crossref(api)
    dois = [i["DOI"] for i in items]
    want = {d.lower() for d in expected(corpus, "crossref", lambda r: r.get("doi"))}
    assert len(dois) == len(set(dois)) and set(dois) == want == set(dois)
    assert len(cursors) == 1 and msg["total-results"] == len(want)  # next-cursor never changes
    t001 = next(i for i in items if i["DOI"] == "10.5555/synth.t001")
    assert t001["title"] == ["PEER MENTORS AND YOUNG PEOPLE: TRUST AND AUTHENTICITY"]  # crossref variant
    assert "<jats:sec><jats:title>Methods</jats:title><jats:p>Interviews with 20 mentees &amp; 8 mentors; " \
           "p &lt; .05 was used.</jats:p></jats:sec>" in t001["abstract"]
    assert t001["author"][0] == {"given": "Aroha T", "family": "Ngata", "sequence": "first", "affiliation": []}
    assert t001["indexed"]["date-parts"] == [[2021, 3, 4]] and t001["issued"]["date-parts"][0][0] == 2021
    assert headers["x-api-pool"] == "public" and headers["x-rate-limit-limit"] == "5"
    assert headers["x-concurrency-limit"] == "1" and headers["x-rate-limit-interval"] == "1s"
    _, headers, raw = get(api.base_url("crossref") + "works", rows=1, mailto="me@example.org")
    assert headers["x-api-pool"] == "polite" and headers["x-concurrency-limit"] == "3"
    assert raw.isascii()  # Crossref escapes all non-ASCII


def test_crossref_filters_and_validation(api, corpus):
    _, items, _, _ = crawl_crossref(api, rows=100, filter="from-index-date:2008-01-01,until-index-date:2011-12-31")
    want = {r["key"] for r in corpus if "crossref" in r["sources"] and r.get("doi")
            and "2008-01-01" <= r["entry_date"] <= "2011-12-31"}
    assert 0 < len(items) == len(want)
    _, items, _, _ = crawl_crossref(api, rows=100, filter="from-pub-date:2019,until-pub-date:2019")
    assert items and all(i["published"]["date-parts"][0][0] == 2019 for i in items)
    base = api.base_url("crossref") + "works"
    for params in ({"rows": 1001}, {"filter": "from-planet-date:2019"}, {"cursor": "bogus"}):
        try:
            get(base, **params)
            raise AssertionError(f"{params} was accepted")
        except urllib.error.HTTPError as e:
            assert e.code == 400 and json.loads(e.read())["message-type"] == "validation-failure"


def test_records_are_served_only_by_their_sources(api):
    assert status_of(api.base_url("pubmed") + "efetch.fcgi", db="pubmed", id="39000901") == 200
    # T002 is in Crossref/OpenAlex only, T003 in Europe PMC only
    cr = json.loads(get(api.base_url("crossref") + "works", rows=1000)[2])["message"]["items"]
    assert "10.5555/synth.t002" in {i["DOI"] for i in cr}
    epmc = json.loads(get(api.base_url("europepmc") + "search", query="x", format="json", pageSize=1000)[2])
    assert "PMC9000903" in {r["id"] for r in epmc["resultList"]["result"]}
    assert not any("T002" in (r.get("title") or "") for r in epmc["resultList"]["result"])
    oa = json.loads(get(api.base_url("openalex") + "works", per_page=200)[2])["results"]
    assert not any(w["ids"].get("pmcid", "").endswith("9000903") for w in oa)


# ------------------------------------------------------------------------------------------ structure vs real samples

INLINE = {"i", "b", "u", "sup", "sub"}


def element_paths(root, prefix=""):
    """{path/of/tags} below root, skipping inline markup (<i>, <sub>, MathML)."""
    out = set()
    for child in root:
        tag = child.tag
        if tag in INLINE or "}" in tag or ":" in tag:
            continue
        path = f"{prefix}/{tag}"
        out.add(path)
        out |= element_paths(child, path)
    return out


def attributes(root):
    return {(el.tag, a) for el in root.iter() for a in el.attrib}


def test_pubmed_xml_structure_matches_real_samples(api, real_fixtures):
    real_paths, real_attrs = set(), set()
    for f in (real_fixtures / "pubmed").glob("*efetch*.xml"):
        root = ET.parse(f).getroot()
        real_paths |= element_paths(root)
        real_attrs |= attributes(root)
    count, _ = crawl_pubmed(api)
    ours = ET.fromstring(get(api.base_url("pubmed") + "efetch.fcgi", db="pubmed",
                             id=",".join(sorted(expected(api.corpus, "pubmed", lambda r: r.get("pmid")))))[2])
    assert len(ours) == count
    assert element_paths(ours) - real_paths == set()
    assert attributes(ours) - real_attrs == set()
    real_search = set()
    for f in (real_fixtures / "pubmed").glob("*esearch*.xml"):
        real_search |= element_paths(ET.parse(f).getroot())
    search = ET.fromstring(get(api.base_url("pubmed") + "esearch.fcgi", db="pubmed", term="x", usehistory="y")[2])
    assert element_paths(search) - real_search == set()


def union_keys(objs):
    return set().union(*(o.keys() for o in objs))


def test_europepmc_json_structure_matches_real_samples(api, real_fixtures):
    core_files = ["europepmc_evidence_mcp_crispr_oa_core_pagesize3.json",
                  "europepmc_evidence_mcp_retracted_core_pagesize2.json"]
    real = [json.loads((real_fixtures / "europepmc" / f).read_text()) for f in core_files]
    real_results = [r for d in real for r in d["resultList"]["result"]]
    data = json.loads(get(api.base_url("europepmc") + "search", query="x", resultType="core", format="json",
                          pageSize=1000)[2])
    ours = data["resultList"]["result"]
    assert data.keys() == real[0].keys() - {"nextCursorMark", "nextPageUrl"}  # one page: the last
    first = json.loads(get(api.base_url("europepmc") + "search", query="x", resultType="core", format="json",
                           pageSize=3)[2])
    assert list(first.keys()) == list(real[0].keys()) and first["request"].keys() == real[0]["request"].keys()
    # meshHeadingList is in the documented core schema but absent from the small samples
    assert union_keys(ours) - union_keys(real_results) == {"meshHeadingList"}
    for key in ("journalInfo", "authorList"):
        real_sub = [r[key] for r in real_results if key in r]
        assert union_keys([r[key] for r in ours if key in r]) <= union_keys(real_sub)
    assert union_keys([a for r in ours for a in r.get("authorList", {}).get("author", [])]) <= union_keys(
        [a for r in real_results for a in r["authorList"]["author"]]) | {"collectiveName"}
    lite_real = json.loads((real_fixtures / "europepmc" / "pyeuropepmc_search_cancer_lite_pagesize25.json").read_text())
    lite = json.loads(get(api.base_url("europepmc") + "search", query="x", format="json", pageSize=1000)[2])
    assert union_keys(lite["resultList"]["result"]) <= union_keys(lite_real["resultList"]["result"]) | {"pmcid"}


def test_openalex_json_structure_matches_real_samples(api, real_fixtures):
    folder = real_fixtures / "openalex"
    real_works = [json.loads((folder / "openalex_python_single_work_W2741809807.json").read_text())]
    pages = [json.loads((folder / f).read_text()) for f in
             ("paperqa_works_filter_title_search_1result.json", "paperqa_works_filter_title_search_2results.json")]
    real_works += [w for p in pages for w in p["results"]]
    page = json.loads(get(api.base_url("openalex") + "works", per_page=200, cursor="*")[2])
    assert page.keys() == pages[0].keys()
    assert page["meta"].keys() - pages[0]["meta"].keys() == {"next_cursor"}
    ours = page["results"]
    assert union_keys(ours) <= union_keys(real_works)
    assert union_keys([w["ids"] for w in ours]) <= union_keys([w["ids"] for w in real_works])
    assert union_keys([a for w in ours for a in w["authorships"]]) <= union_keys(
        [a for w in real_works for a in w["authorships"]])
    assert union_keys([w["primary_location"] for w in ours]) <= union_keys([w["primary_location"] for w in real_works])
    assert union_keys([w["primary_location"]["source"] for w in ours if w["primary_location"]["source"]]) <= \
        union_keys([w["primary_location"]["source"] for w in real_works])


def test_crossref_json_structure_matches_real_samples(api, real_fixtures):
    folder = real_fixtures / "crossref"
    real = [json.loads(f.read_text()) for f in sorted(folder.glob("*.json"))]
    real_items = [i for d in real for i in d["message"]["items"]]
    body = json.loads(get(api.base_url("crossref") + "works", rows=1000, cursor="*")[2])
    cursor_page = json.loads((folder / "habanero_members98_works_rows5_cursor_page1.json").read_text())
    assert body.keys() == cursor_page.keys() and list(body["message"]) == list(cursor_page["message"])
    assert body["message"]["query"].keys() == cursor_page["message"]["query"].keys()
    items = body["message"]["items"]
    assert union_keys(items) <= union_keys(real_items)
    assert union_keys([a for i in items for a in i.get("author", [])]) <= union_keys(
        [a for i in real_items for a in i.get("author", [])])


# ------------------------------------------------------------------------------------------ faults


def test_burst_500_hits_the_first_requests_of_each_source(api):
    api.faults = Faults(burst_500=2)
    url = api.base_url("openalex") + "works"
    assert [status_of(url) for _ in range(3)] == [500, 500, 200]
    url = api.base_url("crossref") + "works"
    assert [status_of(url) for _ in range(3)] == [500, 500, 200]  # counted per source
    assert [r.status for r in api.requests_for("openalex")][-3:] == [500, 500, 200]


def test_error_rate_answers_500_or_429_with_retry_after_reproducibly(corpus):
    def run():
        with FakeAPIServer(corpus, faults=Faults(error_rate=0.5, retry_after=1.5, seed=7)) as api:
            seen = []
            for _ in range(40):
                try:
                    get(api.base_url("europepmc") + "search", query="x", format="json")
                    seen.append((200, None))
                except urllib.error.HTTPError as e:
                    seen.append((e.code, e.headers.get("Retry-After")))
            return seen

    first = run()
    codes = [c for c, _ in first]
    assert {200, 500, 429} <= set(codes) and 10 <= codes.count(200) <= 30
    assert all(ra == "1.5" for c, ra in first if c == 429)
    assert run() == first  # seeded


def test_truncate_cuts_the_next_data_page_once(api):
    api.faults = Faults(truncate={"europepmc", "pubmed"})
    url = api.base_url("europepmc") + "search?" + urllib.parse.urlencode(
        {"query": "x", "format": "json", "resultType": "core", "pageSize": 20})
    with urllib.request.urlopen(url) as resp, pytest.raises(http.client.IncompleteRead) as cut:
        resp.read()
    with pytest.raises(json.JSONDecodeError):
        json.loads(cut.value.partial)
    assert len(json.loads(get(url)[2])["resultList"]["result"]) == 20  # once only
    # PubMed: esearch is not a data page; the efetch after it is cut
    root = ET.fromstring(get(api.base_url("pubmed") + "esearch.fcgi", db="pubmed", term="x", usehistory="y")[2])
    fetch = api.base_url("pubmed") + "efetch.fcgi?" + urllib.parse.urlencode(
        {"db": "pubmed", "WebEnv": root.findtext("WebEnv"), "query_key": "1", "retmax": 10})
    with pytest.raises(http.client.IncompleteRead):
        urllib.request.urlopen(fetch).read()
    assert len(ET.fromstring(urllib.request.urlopen(fetch).read())) == 10
    assert api.faults.truncate == set()


def test_truncated_crossref_page_is_sent_again_on_retry(api):
    base = api.base_url("crossref") + "works"
    first = json.loads(get(base, rows=5, cursor="*")[2])["message"]
    api.faults.truncate.add("crossref")
    url = base + "?" + urllib.parse.urlencode({"rows": 5, "cursor": first["next-cursor"]})
    with pytest.raises(http.client.IncompleteRead):
        urllib.request.urlopen(url).read()
    second = json.loads(get(base, rows=5, cursor=first["next-cursor"])[2])["message"]
    third = json.loads(get(base, rows=5, cursor=first["next-cursor"])[2])["message"]
    dois = [i["DOI"] for page in (first, second, third) for i in page["items"]]
    assert len(dois) == 15 == len(set(dois))  # nothing skipped, nothing repeated


def test_malformed_records_lack_their_title(api):
    api.faults = Faults(malformed={"T001"})
    _, _, xml = get(api.base_url("pubmed") + "efetch.fcgi", db="pubmed", id="39000901")
    art = ET.fromstring(xml).find("PubmedArticle/MedlineCitation/Article")
    assert art.find("ArticleTitle") is not None and not art.findtext("ArticleTitle")
    epmc = json.loads(get(api.base_url("europepmc") + "search", query="x", format="json", resultType="core",
                          pageSize=1000)[2])["resultList"]["result"]
    bad = next(r for r in epmc if r["id"] == "39000901")
    assert "title" not in bad and all("title" in r for r in epmc if r is not bad)
    works = json.loads(get(api.base_url("openalex") + "works", per_page=200)[2])["results"]
    assert next(w for w in works if w["id"].endswith("W4300000901"))["title"] is None
    items = json.loads(get(api.base_url("crossref") + "works", rows=1000)[2])["message"]["items"]
    assert "title" not in next(i for i in items if i["DOI"] == "10.5555/synth.t001")


def test_delay_and_request_log(api):
    api.faults = Faults(delay=0.3)
    before = len(api.requests)
    t0 = time.monotonic()
    get(api.base_url("openalex") + "works", filter="from_created_date:2020-01-01", mailto="a@b.org")
    assert time.monotonic() - t0 >= 0.3
    api.faults = Faults()
    status_of(api.base_url("openalex") + "nowhere")
    log = api.requests[before:]
    assert [(r.source, r.path, r.status) for r in log] == [("openalex", "/openalex/works", 200),
                                                           ("openalex", "/openalex/nowhere", 404)]
    assert log[0].query == {"filter": "from_created_date:2020-01-01", "mailto": "a@b.org"}
    assert t0 <= log[0].t <= log[1].t <= time.monotonic()


def test_restart_keeps_the_url_and_stop_closes_connections(corpus):
    api = FakeAPIServer(corpus).start()
    url = api.base_url("openalex") + "works"
    assert status_of(url) == 200
    api.stop()
    with pytest.raises(urllib.error.URLError):
        get(url)
    api.start()
    try:
        assert api.base_url("openalex") + "works" == url and status_of(url) == 200
    finally:
        api.stop()


def test_efetch_accepts_post(api):
    data = urllib.parse.urlencode({"db": "pubmed", "id": "39000901", "retmode": "xml"}).encode()
    with urllib.request.urlopen(api.base_url("pubmed") + "efetch.fcgi", data=data) as resp:
        root = ET.fromstring(resp.read())
    assert root.findtext("PubmedArticle/MedlineCitation/PMID") == "39000901"
    assert api.requests[-1].query["id"] == "39000901"


# ------------------------------------------------------------------------------------------ corpora and CLI


def test_generate_corpus_is_deterministic_well_formed_and_distinct():
    a, b = generate_corpus(300, seed=5), generate_corpus(300, seed=5)
    assert a == b and generate_corpus(300, seed=6) != a
    keys = {"key", "title", "abstract", "authors", "year", "entry_date", "journal", "volume", "issue", "pages",
            "doi", "pmid", "pmcid", "openalex", "pub_types", "mesh", "keywords", "language", "sources", "variants",
            "topic", "design", "mechanisms", "outcomes", "contexts"}
    assert all(r.keys() == keys for r in a)
    assert len({r["title"] for r in a}) == 300 and len({r["key"] for r in a}) == 300
    assert all(r["doi"] for r in a if "crossref" in r["sources"])
    assert all(r["pmid"] for r in a if "pubmed" in r["sources"])
    assert sum(len(r["sources"]) > 1 for r in a) > 100  # cross-source duplicates
    assert len({r["entry_date"][:4] for r in a}) >= 15
    more = generate_corpus(10, seed=5, start=300)
    assert not {r["pmid"] for r in more if r["pmid"]} & {r["pmid"] for r in a if r["pmid"]}


def test_sample_corpus_is_servable():
    if not SAMPLE_CORPUS.exists():
        pytest.skip(f"{SAMPLE_CORPUS} not written yet")
    corpus = load_sample_corpus()
    with FakeAPIServer(corpus) as api:
        for source, ident in (("pubmed", "pmid"), ("crossref", "doi")):
            missing = [r["key"] for r in corpus if source in r["sources"] and not view(r, source).get(ident)]
            assert not missing, f"{source} lists studies without a {ident}: {missing[:5]}"
        _, results, _ = crawl_europepmc(api, page=100)
        assert len(results) == sum("europepmc" in r["sources"] for r in corpus)


def test_fakeapi_command_serves_until_stopped(tmp_path):
    corpus_file = tmp_path / "corpus.jsonl"
    corpus_file.write_text("\n".join(json.dumps(r) for r in HANDMADE) + "\n")
    proc = subprocess.Popen([sys.executable, "-c", "from synth.cli import main; main()", "fakeapi",
                             "--corpus", str(corpus_file)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        urls = {}
        while len(urls) < 4:
            line = proc.stdout.readline()
            assert line, proc.stderr.read()
            if line.startswith("base_url"):
                urls[line.split('"')[1].rstrip("/").rsplit("/", 1)[1]] = line.split('"')[1]
        data = json.loads(get(urls["crossref"] + "works", rows=10)[2])
        assert {i["DOI"] for i in data["message"]["items"]} == {"10.5555/synth.t001", "10.5555/synth.t002"}
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    bad = subprocess.run([sys.executable, "-c", "from synth.cli import main; main()", "fakeapi", "--corpus",
                          str(tmp_path / "missing.jsonl")], capture_output=True, text=True, check=False)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "cannot read the corpus" in bad.stderr
