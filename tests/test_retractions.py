"""Retractions (issue 14): every source's signal is read, stored for good, and shown.

Parsers on real samples (../shared/fixtures/real, skipped when absent) and on bodies in each
API's documented format; the store's rules (a signal sticks, follows merges, a notice flags
a study stored after it, old databases are read again); imports; and, end to end, the real
spiders and `synth refresh` against the local fake APIs, then `show`, `search`, `new`, `export`.
"""

from __future__ import annotations

import copy
import csv
import io
import json
import subprocess
from datetime import date

import pytest
from click.testing import CliRunner

from refresh_support import SYNTH, REPO, env_for, make_project, refresh_json, synth
from spiders.parsers import crossref as CP
from spiders.parsers import europepmc as EP
from spiders.parsers import openalex as OP
from spiders.parsers import pubmed as PP
from synth import retractions as R
from synth.cli import cli
from synth.fakeapi import FakeAPIServer, generate_corpus
from synth.project import load_project
from synth.records import Record
from synth.store import Store

TODAY = date.today().isoformat()


# --------------------------------------------------------------------------- parsers
EFETCH = """<?xml version="1.0" ?>
<!DOCTYPE PubmedArticleSet PUBLIC "-//NLM//DTD PubMedArticle, 1st January 2025//EN" "https://dtd.nlm.nih.gov/ncbi/pubmed/out/pubmed_250101.dtd">
<PubmedArticleSet>
<PubmedArticle><MedlineCitation Status="MEDLINE" Owner="NLM"><PMID Version="1">39000018</PMID><Article PubModel="Print"><Journal><JournalIssue CitedMedium="Internet"><PubDate><Year>2021</Year></PubDate></JournalIssue><Title>BMC Psychiatry</Title></Journal><ArticleTitle>Peer-delivered psychoeducation for adolescents: a cluster randomised trial.</ArticleTitle><Language>eng</Language><PublicationTypeList><PublicationType UI="D016428">Journal Article</PublicationType><PublicationType UI="D016441">Retracted Publication</PublicationType></PublicationTypeList></Article><CommentsCorrectionsList><CommentsCorrections RefType="CommentIn"><RefSource>BMC Psychiatry. 2022;22:10.</RefSource><PMID Version="1">39000500</PMID></CommentsCorrections><CommentsCorrections RefType="RetractionIn"><RefSource>BMC Psychiatry. 2025 Mar 5;25(2):200. doi: 10.5555/notice.2025.001.</RefSource><PMID Version="1">39000900</PMID></CommentsCorrections></CommentsCorrectionsList></MedlineCitation><PubmedData><ArticleIdList><ArticleId IdType="pubmed">39000018</ArticleId><ArticleId IdType="doi">10.5555/bp.2021.51389</ArticleId></ArticleIdList></PubmedData></PubmedArticle>
<PubmedArticle><MedlineCitation Status="PubMed-not-MEDLINE" Owner="NLM"><PMID Version="1">39000900</PMID><Article PubModel="Print"><Journal><JournalIssue CitedMedium="Internet"><PubDate><Year>2025</Year></PubDate></JournalIssue><Title>BMC Psychiatry</Title></Journal><ArticleTitle>Retraction notice to: Peer-delivered psychoeducation for adolescents.</ArticleTitle><Language>eng</Language><PublicationTypeList><PublicationType UI="D016440">Retraction of Publication</PublicationType></PublicationTypeList></Article><CommentsCorrectionsList><CommentsCorrections RefType="RetractionOf"><RefSource>BMC Psychiatry. 2021;21:1.</RefSource><PMID Version="1">39000018</PMID></CommentsCorrections></CommentsCorrectionsList></MedlineCitation><PubmedData><ArticleIdList><ArticleId IdType="pubmed">39000900</ArticleId></ArticleIdList></PubmedData></PubmedArticle>
<PubmedArticle><MedlineCitation Status="MEDLINE" Owner="NLM"><PMID Version="1">39000019</PMID><Article PubModel="Print"><Journal><JournalIssue CitedMedium="Internet"><PubDate><Year>2021</Year></PubDate></JournalIssue><Title>BMC Psychiatry</Title></Journal><ArticleTitle>An article with an erratum.</ArticleTitle><PublicationTypeList><PublicationType UI="D016428">Journal Article</PublicationType></PublicationTypeList></Article><CommentsCorrectionsList><CommentsCorrections RefType="ErratumIn"><RefSource>BMC Psychiatry. 2022;22:3.</RefSource><PMID Version="1">39000501</PMID></CommentsCorrections><CommentsCorrections RefType="ExpressionOfConcernIn"><RefSource>BMC Psychiatry. 2023;23:4.</RefSource><PMID Version="1">39000502</PMID></CommentsCorrections></CommentsCorrectionsList></MedlineCitation><PubmedData><ArticleIdList><ArticleId IdType="pubmed">39000019</ArticleId></ArticleIdList></PubmedData></PubmedArticle>
</PubmedArticleSet>
"""


def signals(rec: Record) -> list[dict]:
    return R.signals_of(rec.to_dict())


def test_pubmed_retracted_publication_retraction_in_and_notices():
    retracted, notice, erratum = [p.record for p in PP.parse_efetch(EFETCH.encode())]
    got = signals(retracted)
    assert {"kind": "retracted", "signal": "RetractionIn", "notice_pmid": "39000900",
            "notice_doi": "10.5555/notice.2025.001", "date": "2025-03-05",
            "notice_ref": "BMC Psychiatry. 2025 Mar 5;25(2):200. doi: 10.5555/notice.2025.001."} in got
    assert {"kind": "retracted", "signal": "publication type: Retracted Publication"} in got
    assert len(got) == 2  # CommentIn is not a retraction
    # the notice is a notice, not a retracted study; it names the study it retracts
    assert [s["kind"] for s in signals(notice)] == ["notice", "notice"]
    assert {"kind": "notice", "signal": "RetractionOf", "target_pmid": "39000018"} in signals(notice)
    assert signals(erratum) == []  # errata and expressions of concern are not retractions


def test_europepmc_real_retracted_sample(real_fixtures):
    page = EP.parse_search((real_fixtures / "europepmc" / "europepmc_evidence_mcp_retracted_core_pagesize2.json").read_bytes())
    first, second = (p.record for p in page.records)
    assert first.pmid == "42550576"
    assert {"kind": "retracted", "signal": "Retraction in", "notice_pmid": "42715445",
            "notice_doi": "10.3928/02793695-20260817-01", "date": "2026-09",
            "notice_ref": "J Psychosoc Nurs Ment Health Serv. 2026 Sep;64(9):1. doi: 10.3928/02793695-20260817-01."} \
        in signals(first)
    # the second entry has no id and cites the record's own DOI: retracted, with no notice to name
    assert {s["kind"] for s in signals(second)} == {"retracted"}
    with Store(":memory:") as st:
        for p in page.records:
            st.upsert(p.record, run_id=1)
        assert len(R.retracted_ids(st)) == 2
        info = R.retraction_of(st, st.get("42251884")["id"])
        assert info["notice_doi"] is None and info["notice_pmid"] is None and info["sources"] == ["europepmc"]
        info = R.retraction_of(st, st.get("42550576")["id"])
        assert (info["notice_pmid"], info["date"]) == ("42715445", "2026-09")


def test_openalex_is_retracted(real_fixtures):
    raw = json.loads((real_fixtures / "openalex" / "paperqa_works_filter_title_search_2results.json").read_text())
    assert all(signals(p.record) == [] for p in OP.parse_works(raw).records)  # is_retracted: false
    raw["results"][0]["is_retracted"] = True
    first, second = (p.record for p in OP.parse_works(raw).records)
    assert signals(first) == [{"kind": "retracted", "signal": "is_retracted"}] and signals(second) == []


def test_crossref_updated_by_update_to_and_relation(real_fixtures):
    page = json.loads((real_fixtures / "crossref" / "habanero_works_query_ecology_rows2.json").read_text())
    work = page["message"]["items"][0]
    own = work["DOI"].lower()
    when = {"date-parts": [[2024, 3, 5]], "date-time": "2024-03-05T00:00:00Z", "timestamp": 1709596800000}

    def with_(**fields):
        return CP.record({**copy.deepcopy(work), **fields})

    retracted = with_(**{"updated-by": [
        {"updated": when, "DOI": "10.5555/erratum.1", "type": "correction", "source": "publisher", "label": "Correction"},
        {"updated": when, "DOI": "10.5555/notice.1", "type": "retraction", "source": "retraction-watch",
         "label": "Retraction", "record-id": 51234}]})
    assert signals(retracted) == [{"kind": "retracted", "signal": "updated-by", "notice_doi": "10.5555/notice.1",
                                   "date": "2024-03-05", "detail": "retraction-watch"}]
    notice = with_(**{"update-to": [{"updated": when, "DOI": "10.5555/study.9", "type": "retraction",
                                     "source": "publisher", "label": "Retraction"}]})
    assert signals(notice) == [{"kind": "notice", "signal": "update-to", "target_doi": "10.5555/study.9",
                                "date": "2024-03-05", "detail": "publisher"}]
    self_deposit = with_(**{"update-to": [{"updated": when, "DOI": own, "type": "retraction", "source": "publisher"}]})
    assert [s["kind"] for s in signals(self_deposit)] == ["retracted"]  # the notice of itself: retracted
    withdrawn = with_(**{"updated-by": [{"DOI": "10.5555/w", "type": "withdrawal", "source": "publisher"}]})
    assert signals(withdrawn)[0]["detail"] == "withdrawal publisher"
    related = with_(relation={"is-retracted-by": [{"id-type": "doi", "id": "10.5555/notice.2", "asserted-by": "object"}]})
    assert signals(related) == [{"kind": "retracted", "signal": "relation is-retracted-by", "notice_doi": "10.5555/notice.2"}]
    corrected = with_(**{"update-to": [{"DOI": "10.5555/x", "type": "corrigendum", "source": "publisher"}]})
    assert signals(corrected) == [] and signals(CP.record(work)) == []


# --------------------------------------------------------------------------- the store
def obs(source="pubmed", sid="1", **kw) -> Record:
    base = {"pubmed": {"pmid": sid}, "crossref": {"doi": sid}, "openalex": {"openalex": sid}, "europepmc": {"pmid": sid}}
    fields = {"title": "Peer mentoring for young people with depression: a randomised trial", "year": 2020,
              "authors": ["Okafor, Amara"], **base[source], **kw}
    return Record(source=source, source_id=sid, **fields)


def test_a_signal_sticks_when_a_later_observation_lacks_it():
    with Store(":memory:") as st:
        _, rid = st.upsert(obs(pub_types=["Journal Article", "Retracted Publication"],
                               retractions=[R.retracted("RetractionIn", notice_pmid="77", ref="J. 2024 Mar;1:1.",
                                                        date="2024-03")]), run_id=1)
        st.upsert(obs(pub_types=["Journal Article"]), run_id=2)  # the source dropped it
        st.upsert(obs(pub_types=["Journal Article"], abstract="Now with an abstract."), run_id=3)
        assert R.retracted_ids(st) == {rid}
        info = R.retraction_of(st, rid)
        assert (info["notice_pmid"], info["date"], info["known_run"], info["source"]) == ("77", "2024-03", 1, "pubmed")
        assert R.retraction_of(st, "no-such-id") is None


def test_a_signal_follows_the_study_through_a_merge():
    with Store(":memory:") as st:
        _, a = st.upsert(obs("pubmed", "11", retractions=[R.retracted("RetractionIn")]))
        _, b = st.upsert(obs("crossref", "10.5555/x", title="A different title about something else entirely"))
        assert R.retracted_ids(st) == {a}
        # an observation carrying both identifiers joins the two records
        _, c = st.upsert(obs("openalex", "W1", pmid="11", doi="10.5555/x"))
        live = st.get("11")["id"]
        assert st.get("10.5555/x")["id"] == live
        assert R.retracted_ids(st) == {live} and R.retraction_of(st, a)["record_id"] == live


def test_a_notice_flags_its_study_even_when_the_study_comes_later():
    with Store(":memory:") as st:
        _, n = st.upsert(obs("crossref", "10.5555/notice", title="Retraction notice", year=2025,
                             retractions=[R.notice("update-to", target_doi="10.5555/study", date="2025-01-02")]), run_id=1)
        assert R.retracted_ids(st) == set() and R.notice_ids(st) == {n}
        _, s = st.upsert(obs("pubmed", "42", doi="10.5555/study"), run_id=2)
        assert R.retracted_ids(st) == {s}
        info = R.retraction_of(st, s)
        assert (info["notice_doi"], info["notice_record"], info["date"], info["known_run"]) == \
            ("10.5555/notice", n, "2025-01-02", 2)
        assert [r["id"] for r in R.retracted_in_run(st, 2)] == [s] and R.retracted_in_run(st, 1) == []
        assert R.notice_of(st, n)["targets"] == [{"doi": "10.5555/study", "pmid": None, "record_id": s}]
        assert R.retraction_of(st, n) is None  # the notice is not itself retracted


def test_an_existing_database_is_read_again_once(tmp_path):
    path = tmp_path / "old.sqlite3"
    with Store(path) as st:  # stored before synth read retractions: only the publication type is there
        _, rid = st.upsert(obs(pub_types=["Journal Article", "Retracted Publication"]), run_id=4)
        _, other = st.upsert(obs("crossref", "10.5555/ok", title="Something unrelated to retraction at all"))
        st.conn.execute("DROP TABLE retractions")
        st.conn.execute("DELETE FROM meta WHERE key = 'retractions_backfilled'")
        st.conn.execute("UPDATE provenance SET data = json_remove(data, '$.retractions')")
        st.conn.execute("PRAGMA user_version = 0")  # as databases from before schema versions are
    with Store(path) as st:
        assert R.retracted_ids(st) == {rid}
        assert R.retraction_of(st, rid)["known_run"] == 4  # known since the record was stored
    with Store(path) as st:  # once: a second open finds nothing to do
        assert st.conn.execute("SELECT COUNT(*) FROM retractions").fetchone()[0] == 1


def test_imports_read_medline_rin_rof_and_document_types(tmp_path):
    from synth.importers import import_files

    nbib = tmp_path / "pubmed.nbib"
    nbib.write_text(
        "PMID- 39000018\nTI  - Peer-delivered psychoeducation for adolescents: a cluster randomised trial.\n"
        "PT  - Journal Article\nPT  - Retracted Publication\n"
        "RIN - BMC Psychiatry. 2025 Mar 5;25(2):200. doi: 10.5555/notice.2025.001. PMID: 39000900.\n"
        "SO  - BMC Psychiatry. 2021;21:1.\n\n"
        "PMID- 39000900\nTI  - Retraction notice to: Peer-delivered psychoeducation for adolescents.\n"
        "PT  - Retraction of Publication\nROF - BMC Psychiatry. 2021;21:1. PMID: 39000018.\n"
        "SO  - BMC Psychiatry. 2025 Mar 5;25(2):200.\n", encoding="utf-8")
    scopus = tmp_path / "scopus.csv"
    scopus.write_text("Authors,Title,Year,Source title,DOI,Document Type,Source,EID\n"
                      "\"Haddad L.\",School peer support groups for anxiety: a cluster trial,2022,J Adolesc Health,"
                      "10.5555/scopus.1,Retracted,Scopus,2-s2.0-85100000009\n", encoding="utf-8")
    wos = tmp_path / "wos.txt"
    wos.write_text("FN Clarivate Analytics Web of Science\nVR 1.0\nPT J\nAU Nguyen, L\n"
                   "TI Online peer forums and loneliness in students\nSO JOURNAL OF YOUTH STUDIES\n"
                   "DT Article; Retracted Publication\nPY 2019\nDI 10.5555/wos.1\nUT WOS:000000000000001\nER\n\nEF\n",
                   encoding="utf-8")
    with Store(tmp_path / "s.sqlite3") as st:
        import_files(st, [nbib, scopus, wos])
        ids = R.retracted_ids(st)
        assert ids == {st.get("39000018")["id"], st.get("10.5555/scopus.1")["id"], st.get("10.5555/wos.1")["id"]}
        info = R.retraction_of(st, st.get("39000018")["id"])
        assert (info["notice_pmid"], info["notice_doi"], info["date"]) == ("39000900", "10.5555/notice.2025.001", "2025-03-05")
        assert R.notice_ids(st) == {st.get("39000900")["id"]}


# --------------------------------------------------------------------------- end to end (fake APIs)
def _corpus() -> tuple[list[dict], dict[str, dict]]:
    """Six ordinary studies and four with retraction signals, each source in its own format."""
    base = generate_corpus(10, seed=7, start=7100)
    a, b, c, s = base[:4]
    everywhere = ["pubmed", "europepmc", "openalex", "crossref"]
    for i, r in enumerate((a, b, c, s)):
        r.update(sources=list(everywhere), pmid=str(35990001 + i), doi=f"10.9999/synth.rt.{i}", variants={})
    notice = {**copy.deepcopy(a), "key": "NOTICE-A", "title": "Retraction notice to: " + a["title"], "abstract": "",
              "pmid": "35990900", "doi": "10.9999/synth.rt.notice", "openalex": "W5999990900", "pmcid": None,
              "pub_types": ["Retraction of Publication"], "mesh": [], "keywords": [], "year": 2025,
              "entry_date": "2025-03-05", "authors": [],
              "retraction": {"status": "notice", "date": "2025-03-05",
                             "of": {"pmid": a["pmid"], "doi": a["doi"], "citation": f"{a['journal']}. {a['year']};1:1."}}}
    a["retraction"] = {"status": "retracted", "date": "2025-03-05", "by": "publisher",
                       "notice": {"pmid": notice["pmid"], "doi": notice["doi"],
                                  "citation": f"{a['journal']}. 2025 Mar 5;30(2):200. doi: {notice['doi']}."}}
    # Retraction Watch knows, and OpenAlex; PubMed and Europe PMC have not caught up
    b["retraction"] = {"status": "retracted", "date": "2024-11-20", "by": "retraction-watch",
                       "notice": {"doi": "10.9999/synth.rt.rw-notice"}}
    b["variants"] = {"pubmed": {"retraction": None}, "europepmc": {"retraction": None}}
    # a publisher that deposits the retraction on the article's own DOI (Crossref only)
    c["retraction"] = {"status": "retracted", "style": "self", "date": "2023-06-01"}
    c["variants"] = {x: {"retraction": None} for x in ("pubmed", "europepmc", "openalex")}
    # s is retracted later: its notice enters the databases today (refresh 2)
    later = {**copy.deepcopy(notice), "key": "NOTICE-S", "title": "Retraction: " + s["title"], "pmid": "35990901",
             "doi": "10.9999/synth.rt.notice-s", "openalex": "W5999990901", "entry_date": TODAY,
             "sources": ["pubmed", "crossref"],
             "retraction": {"status": "notice", "date": TODAY, "of": {"pmid": s["pmid"], "doi": s["doi"],
                                                                      "citation": f"{s['journal']}. {s['year']};1:1."}}}
    return base + [notice], {"a": a, "b": b, "c": c, "s": s, "notice": notice, "later": later}


def test_fake_apis_serve_each_signal_in_the_real_shape(real_fixtures):
    from lxml import etree

    from synth.fakeapi import crossref, europepmc, openalex, pubmed
    from synth.fakeapi.corpus import view
    from synth.fakeapi.openalex import _filters

    corpus, st = _corpus()
    a, b, notice = st["a"], st["b"], st["notice"]
    real = json.loads((real_fixtures / "europepmc" / "europepmc_evidence_mcp_retracted_core_pagesize2.json").read_text())
    real_cc = real["resultList"]["result"][0]["commentCorrectionList"]["commentCorrection"][0]
    fake = europepmc.core(a)
    assert set(fake["commentCorrectionList"]["commentCorrection"][0]) == set(real_cc)
    assert "Retracted Publication" in fake["pubTypeList"]["pubType"]
    assert europepmc.core(notice)["commentCorrectionList"]["commentCorrection"][0]["type"] == "Retraction of"
    art = etree.fromstring(pubmed.article_xml(a))
    cc = art.find("MedlineCitation/CommentsCorrectionsList/CommentsCorrections")
    assert (cc.get("RefType"), cc.findtext("PMID")) == ("RetractionIn", notice["pmid"])
    assert art.find("MedlineCitation/Article/PublicationTypeList/PublicationType[@UI='D016441']").text == "Retracted Publication"
    # the DTD's order: CommentsCorrectionsList after CitationSubset, before MeshHeadingList
    tags = [el.tag for el in art.find("MedlineCitation")]
    assert tags.index("CitationSubset") < tags.index("CommentsCorrectionsList") < tags.index("MeshHeadingList")
    assert openalex.work(a)["is_retracted"] is True and openalex.work(notice)["type"] == "retraction"
    assert openalex.work(view(st["c"], "openalex"))["is_retracted"] is False
    (keep,) = _filters("is_retracted:true")
    assert {r["key"] for r in corpus if keep(view(r, "openalex"))} == {a["key"], b["key"]}
    upd = crossref.item(view(b, "crossref"))["updated-by"][0]
    assert set(upd) == {"updated", "DOI", "type", "source", "label", "record-id"} and upd["source"] == "retraction-watch"
    assert crossref.item(notice)["update-to"][0]["DOI"] == a["doi"].lower()
    assert crossref.item(st["c"])["update-to"][0]["DOI"] == st["c"]["doi"].lower()


@pytest.fixture(scope="module")
def reviewed(tmp_path_factory):
    """Two refreshes against the fake APIs: the first stores every kind of signal, the second brings
    a retraction notice for a study stored by the first. Yields (project dir, api, studies, summaries, ids)."""
    corpus, studies = _corpus()
    with FakeAPIServer(corpus) as api:
        project = make_project(tmp_path_factory.mktemp("retractions") / "review", api)
        rc, first, err = refresh_json(project)
        assert rc == 0, err
        api.corpus = api.corpus + [studies["later"]]
        rc, second, err = refresh_json(project)
        assert rc == 0, err
        store = load_project(project).store()
        try:
            ids = {k: store.get(v["pmid"])["id"] for k, v in studies.items()}
        finally:
            store.close()
        yield project, api, studies, (first, second), ids


def run(project, *args):
    r = CliRunner(env={"COLUMNS": "200"}).invoke(cli, ["--project", str(project), *args], catch_exceptions=False)
    return r.exit_code, r.stdout, r.stderr


@pytest.mark.slow
def test_spiders_store_each_sources_signal(reviewed):
    project, _, _, _, ids = reviewed
    store = load_project(project).store()
    try:
        assert R.retracted_ids(store) == {ids["a"], ids["b"], ids["c"], ids["s"]}
        assert R.notice_ids(store) == {ids["notice"], ids["later"]}
        by = {(s["source"], s["signal"]) for s in R.retraction_of(store, ids["a"])["signals"]}
        assert by >= {("pubmed", "RetractionIn"), ("pubmed", "publication type: Retracted Publication"),
                      ("europepmc", "Retraction in"), ("europepmc", "publication type: Retracted Publication"),
                      ("openalex", "is_retracted"), ("crossref", "updated-by")}
        a = R.retraction_of(store, ids["a"])
        assert (a["notice_pmid"], a["notice_doi"], a["date"], a["notice_record"]) == \
            ("35990900", "10.9999/synth.rt.notice", "2025-03-05", ids["notice"])
        b = R.retraction_of(store, ids["b"])
        assert b["sources"] == ["crossref", "openalex"] and b["notice_doi"] == "10.9999/synth.rt.rw-notice"
        assert any(s["detail"] == "retraction-watch" for s in b["signals"])
        c = R.retraction_of(store, ids["c"])
        assert c["sources"] == ["crossref"] and c["signals"][0]["signal"] == "update-to" and c["date"] == "2023-06-01"
        assert R.notice_of(store, ids["notice"])["targets"][0]["record_id"] == ids["a"]
        # notices are their own records: never merged into the study they retract
        assert len({ids["a"], ids["notice"], ids["s"], ids["later"]}) == 4
    finally:
        store.close()


@pytest.mark.slow
def test_refresh_summary_lists_the_newly_retracted(reviewed):
    project, _, _, (first, second), ids = reviewed
    assert {r["id"] for r in first["newly_retracted"]} == {ids["a"], ids["b"], ids["c"]}
    assert [r["id"] for r in second["newly_retracted"]] == [ids["s"]]  # already stored; its notice came today
    assert second["newly_retracted"][0]["retraction"]["notice_pmid"] == "35990901"
    quiet = synth(project, "refresh", "--quiet")
    assert quiet.returncode == 0 and "0 newly retracted" in quiet.stdout


@pytest.mark.slow
def test_new_lists_studies_newly_known_to_be_retracted(reviewed):
    project, _, _, (first, second), ids = reviewed
    later_run = str(second["run_id"])
    code, out, err = run(project, "new", "--since", later_run)
    assert code == 0, err
    assert "1 study newly known to be retracted" in out and ids["s"] in out and "notice PMID 35990901" in out
    code, out, _ = run(project, "new", "--since", later_run, "--retracted", "--json")
    rows = [json.loads(line) for line in out.splitlines()]
    assert [r["id"] for r in rows] == [ids["s"]] and rows[0]["retraction"]["sources"] == ["pubmed", "crossref"]
    code, out, _ = run(project, "new", "--since", str(first["run_id"]), "--retracted", "--json")
    assert {json.loads(line)["id"] for line in out.splitlines()} == {ids[k] for k in "abcs"}
    code, out, _ = run(project, "new", "--since", str(first["run_id"]), "--json")
    rows = {json.loads(line)["id"]: json.loads(line) for line in out.splitlines()}
    assert rows[ids["a"]]["retracted"] is True and rows[ids["notice"]]["retracted"] is False


@pytest.mark.slow
def test_show_says_retracted_with_the_notice(reviewed):
    project, _, _, _, ids = reviewed
    code, out, err = run(project, "show", ids["a"])
    assert code == 0, err
    line = next(ln for ln in out.splitlines() if "RETRACTED" in ln)
    assert "2025-03-05" in line and "PMID 35990900" in line and "per pubmed, europepmc, crossref, openalex" in line
    code, out, _ = run(project, "show", ids["a"], "--json")
    d = json.loads(out)
    assert d["retracted"] is True and d["retraction"]["notice_pmid"] == "35990900"
    code, out, _ = run(project, "show", "35990900")  # the notice, by PMID
    assert "RETRACTION NOTICE of PMID 35990001" in out and ids["a"] in out
    code, out, _ = run(project, "show", ids["notice"], "--json")
    assert json.loads(out)["retracted"] is False and json.loads(out)["retraction_notice"]["targets"]
    code, out, _ = run(project, "status", "--json")
    assert json.loads(out)["counts"]["retracted"] == 4


@pytest.mark.slow
def test_search_results_carry_the_marker(reviewed):
    project, _, studies, _, ids = reviewed
    query = studies["a"]["title"]
    code, out, err = run(project, "search", query, "-k", "12", "--json")
    assert code == 0, err
    res = {r["id"]: r for r in map(json.loads, out.splitlines())}
    assert res[ids["a"]]["retracted"] is True and res[ids["a"]]["retraction"]["notice_pmid"] == "35990900"
    assert res[ids["notice"]]["retracted"] is False and res[ids["notice"]]["retraction_notice"] is True
    assert all(r["retracted"] is (rid in {ids[k] for k in "abcs"}) for rid, r in res.items())
    code, out, _ = run(project, "search", query, "-k", "12", "--csv")
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(out))}
    assert rows[ids["a"]]["retracted"] == "yes" and "notice PMID 35990900" in rows[ids["a"]]["retraction"]
    assert rows[ids["notice"]]["retracted"] == ""
    code, out, _ = run(project, "search", query, "-k", "3")
    assert "RETRACTED" in out


@pytest.mark.slow
def test_exports_carry_the_retraction_and_jsonl_round_trips(reviewed, tmp_path):
    project, _, _, _, ids = reviewed
    out = {}
    for fmt in ("jsonl", "ris", "bibtex", "csl-json"):
        code, out[fmt], err = run(project, "export", "--format", fmt)
        assert code == 0, err
    lines = {d["id"]: d for d in map(json.loads, out["jsonl"].splitlines())}
    assert lines[ids["a"]]["retraction"]["notice_pmid"] == "35990900" and lines[ids["notice"]]["retraction"] is None
    assert lines[ids["notice"]]["retraction_notice"]["targets"][0]["record_id"] == ids["a"]
    assert "RETRACTED (2025-03-05; notice PMID 35990900" in out["ris"] and "RETRACTED (" in out["bibtex"]
    csl = {i["id"]: i for i in json.loads(out["csl-json"])}
    assert csl[ids["a"]]["status"] == "retracted" and "status" not in csl[ids["notice"]]
    # into a fresh store: every retraction survives the round trip, each source's own signal included
    dump = tmp_path / "all.jsonl"
    dump.write_text(out["jsonl"], encoding="utf-8")
    from synth.importers import import_files

    with Store(tmp_path / "fresh.sqlite3") as st:
        import_files(st, [dump])
        back = {st.get(str(rid))["id"] for rid in R.retracted_ids(st)}
        assert {st.get(lines[i]["doi"])["id"] for i in (ids[k] for k in "abcs")} == back
        assert R.retraction_of(st, st.get("35990001")["id"])["sources"] == ["pubmed", "europepmc", "crossref", "openalex"]


@pytest.mark.slow
def test_a_later_harvest_without_the_signal_never_clears_it(reviewed):
    project, api, _, _, ids = reviewed
    before = {}
    store = load_project(project).store()
    try:
        before = {rid: R.retraction_of(store, rid)["signals"] for rid in R.retracted_ids(store)}
    finally:
        store.close()
    api.corpus = [{k: v for k, v in r.items() if k != "retraction"} | {"variants": {}} for r in api.corpus]
    proc = subprocess.run([SYNTH, "harvest", "--json", "--since", "2000-01-01"], cwd=REPO, env=env_for(project),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    assert sum(r["seen"] for r in rows) > 0
    store = load_project(project).store()
    try:
        data = json.loads(store.conn.execute("SELECT data FROM provenance WHERE source='pubmed' AND source_id=?",
                                             (api.corpus[0]["pmid"],)).fetchone()[0])
        assert "Retracted Publication" not in data["pub_types"]  # the source no longer says it
        assert {rid: R.retraction_of(store, rid)["signals"] for rid in R.retracted_ids(store)} == before
    finally:
        store.close()
