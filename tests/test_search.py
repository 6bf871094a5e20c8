"""`synth search` / `show` / `similar` over a small project indexed with the real model and real Chroma."""

import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner
from search_corpus import store_records

from synth import screening
from synth.cli import cli
from synth.mechanisms import curation


@pytest.fixture(scope="session")
def indexed(tmp_path_factory):
    """(project, key -> record id), indexed once for the whole session (vectors + BM25)."""
    from index.indexer import sync
    from synth.lexical import build_lexical
    from synth.project import init_project

    project = init_project(tmp_path_factory.mktemp("search") / "review")
    ids = store_records(project)
    sync(project, progress=False)
    build_lexical(project)
    # A screening decision: excluded records are hidden from search by default.
    store = project.store()
    screening.decide(store, ids["peer_review"], "exclude", "peer review of manuscripts")
    # Mechanism codes as the coder writes them (idx -1 = record level), and one human reject.
    store.conn.executemany("INSERT INTO codes(record_id, idx, kind, code, score) VALUES (?,?,?,?,?)", [
        (ids["realist"], -1, "mechanism", "hope_role_modelling", 0.9), (ids["realist"], 1, "mechanism", "hope_role_modelling", 0.9),
        (ids["cohort"], -1, "mechanism", "hope_role_modelling", 0.7), (ids["cohort"], 1, "mechanism", "hope_role_modelling", 0.7),
        (ids["navigator"], -1, "mechanism", "navigation_advocacy", 0.8), (ids["navigator"], 3, "mechanism", "navigation_advocacy", 0.8),
    ])
    curation.curate(store, ids["cohort"], "hope_role_modelling", "reject")
    # Relevance as the coder writes it: the survey is a near miss (below the 0.5 threshold).
    store.conn.executemany("UPDATE records SET relevance=? WHERE id=?",
                           [(0.12 if key == "survey" else 0.9, rid) for key, rid in ids.items()])
    store.close()
    return project, ids


def run(project, *args):
    """The CLI in-process: (exit code, stdout, stderr)."""
    r = CliRunner(env={"COLUMNS": "220"}).invoke(cli, ["--project", str(project.root), *args], catch_exceptions=False)
    return r.exit_code, r.stdout, r.stderr


def search_json(project, *args) -> list[dict]:
    code, out, err = run(project, "search", *args, "--json")
    assert code == 0, err
    return [json.loads(line) for line in out.splitlines()]


def synth_cmd() -> list[str]:
    script = Path(sys.executable).with_name("synth")
    return [str(script)] if script.exists() else [sys.executable, "-c", "from synth.cli import main; main()"]


# ------------------------------------------------------------------ ranking
def test_exact_term_query_hits_lexically(indexed):
    project, ids = indexed
    res = search_json(project, "first-episode psychosis", "-k", "3")
    assert res[0]["id"] == ids["navigator"]
    assert res[0]["matched_by"]["bm25"] == 1
    # The snippet is the evidence sentence holding the terms, and names them.
    assert "first-episode psychosis" in res[0]["snippet"]
    assert {h.lower() for h in res[0]["highlights"]} >= {"first-episode psychosis"}


def test_concept_query_hits_semantically(indexed):
    project, ids = indexed
    # None of the query's words (after stemming) occur in the forum record; only meaning connects them.
    query = "feeling less lonely and part of a community"
    from synth.lexical import LexicalIndex

    lex = LexicalIndex.load(project)
    assert lex.scores(query)[lex.ids.index(ids["forum"])] == 0
    res = search_json(project, query, "-k", "3")
    assert ids["forum"] in [r["id"] for r in res[:2]]
    forum = next(r for r in res if r["id"] == ids["forum"])
    assert "belonging" in forum["snippet"]  # the best-matching sentence, not the first one


def test_json_shape(indexed):
    project, ids = indexed
    res = search_json(project, "hope through role modelling", "-k", "4")
    assert len(res) == 4
    for r in res:
        assert {"id", "doi", "pmid", "title", "year", "score", "design", "snippet", "mechanisms"} <= set(r)
        assert isinstance(r["mechanisms"], list)
    assert [r["rank"] for r in res] == [1, 2, 3, 4]
    assert res == sorted(res, key=lambda r: -r["score"])
    realist = next(r for r in res if r["id"] == ids["realist"])
    assert realist["design"] == "realist_review" and realist["doi"] == "10.5555/test.realist"


def test_csv_shape(indexed):
    project, _ = indexed
    code, out, _ = run(project, "search", "peer support", "--csv", "-k", "5")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out)))
    assert len(rows) == 5
    assert {"id", "doi", "pmid", "title", "year", "score", "design", "snippet", "mechanisms"} <= set(rows[0])


def test_table_output_for_people(indexed):
    project, _ = indexed
    code, out, _ = run(project, "search", "peer navigator", "-k", "2")
    assert code == 0
    assert "Peer navigators for young people" in out and "RCT" in out


def test_results_at_80_columns_are_stacked_with_whole_identifiers(indexed):
    project, ids = indexed
    results = search_json(project, "peer support for young people", "-k", "8")
    r = CliRunner(env={"COLUMNS": "80"}).invoke(cli, ["--project", str(project.root), "search",
                                                      "peer support for young people", "-k", "8"])
    assert r.exit_code == 0, r.output
    lines = r.stdout.splitlines()
    for res in results:  # every id, DOI and PMID on one line, as the next command takes it
        for ident in filter(None, (res["id"], res.get("doi"), res.get("pmid"))):
            assert any(ident in line for line in lines), ident
    assert "NEAR MISS" in r.stdout  # the markers survive the narrow layout
    wide = [line for line in lines if len(line) > 80]
    assert all(any(res["id"] in line or (res.get("doi") or "\0") in line for res in results) for line in wide), wide
    assert "┃" not in r.stdout and len(lines) < 12 * len(results)  # no squeezed table: 92 lines for 5 before


def test_near_misses_and_protocols_are_marked_in_every_view(indexed):
    project, ids = indexed
    res = {r["id"]: r for r in search_json(project, "peer support for young people", "-k", "8")}
    assert {ids["survey"], ids["protocol"], ids["navigator"]} <= set(res)
    assert [rid for rid, r in res.items() if r["near_miss"]] == [ids["survey"]]
    assert res[ids["survey"]]["relevance"] == 0.12
    assert [rid for rid, r in res.items() if r["protocol"]] == [ids["protocol"]]
    code, out, _ = run(project, "search", "peer support for young people", "-k", "8", "--csv")
    rows = {r["id"]: r for r in csv.DictReader(io.StringIO(out))}
    assert rows[ids["survey"]]["near_miss"] == "yes" and rows[ids["navigator"]]["near_miss"] == ""
    assert rows[ids["protocol"]]["protocol"] == "yes" and rows[ids["survey"]]["protocol"] == ""
    code, out, _ = run(project, "search", "attitudes to peer support workers among university students", "-k", "1")
    assert "NEAR MISS" in out and "relevance 0.12" in out and "PROTOCOL" not in out
    code, out, _ = run(project, "search", "protocol for a randomised trial of peer support for care leavers", "-k", "1")
    assert "PROTOCOL" in out and "no results yet" in out and "NEAR MISS" not in out


def test_near_misses_sink_unless_the_query_asks_for_them(indexed):
    """A record the relevance model flags moves NEAR_MISS_PENALTY down the fused scale; one that is
    not flagged keeps its score; a query naming a scope cue ("bullying") asks for near misses."""
    from synth.search import NEAR_MISS_PENALTY, Ranking, Searcher

    project, ids = indexed
    s = Searcher(project)
    try:
        for query, sinks in (("attitudes to peer support workers among university students", True),
                             ("bullying and attitudes to peer support workers among university students", False)):
            plain = dict(s.rank(query, ranking=Ranking(near_miss=0.0))[0])
            shipped = dict(s.rank(query)[0])
            assert set(plain) == set(shipped) and ids["survey"] in plain
            drop = NEAR_MISS_PENALTY if sinks else 0.0
            assert shipped[ids["survey"]] == pytest.approx(plain[ids["survey"]] - drop)
            assert all(shipped[r] == pytest.approx(plain[r]) for r in plain if r != ids["survey"])
    finally:
        s.close()


def test_records_merged_after_indexing_never_come_back_as_results(tmp_path):
    """A person merges two records after `synth index`: the vectors and BM25 still hold the absorbed
    one, and search and similar leave it out (no crash) until the next index drops it."""
    from index.indexer import sync
    from synth import duplicates
    from synth.lexical import build_lexical
    from synth.project import init_project

    project = init_project(tmp_path / "review")
    ids = store_records(project)
    sync(project, progress=False)
    build_lexical(project)
    keep, gone = ids["navigator"], ids["realist"]
    with project.store() as store:
        assert duplicates.merge(store, keep, gone) == keep
    got = [r["id"] for r in search_json(project, "peer support young people", "-k", "50")]
    assert gone not in got and keep in got
    code, out, err = run(project, "similar", keep, "-k", "50", "--json")
    assert code == 0, err
    assert gone not in {json.loads(line)["id"] for line in out.splitlines()}


def test_before_coding_nothing_is_a_near_miss(indexed):
    project, ids = indexed
    with project.store() as s:
        s.conn.execute("UPDATE records SET relevance=NULL WHERE id=?", (ids["survey"],))
    try:
        res = search_json(project, "attitudes to peer support workers among university students", "-k", "1")
        assert res[0]["id"] == ids["survey"] and res[0]["near_miss"] is False
    finally:
        with project.store() as s:
            s.conn.execute("UPDATE records SET relevance=0.12 WHERE id=?", (ids["survey"],))


# ------------------------------------------------------------------ filters
def test_year_filter(indexed):
    project, ids = indexed
    res = search_json(project, "peer support young people", "--year-from", "2019", "--year-to", "2021", "-k", "10")
    assert res and all(2019 <= r["year"] <= 2021 for r in res)
    assert {r["id"] for r in res} == {ids["navigator"], ids["forum"], ids["realist"]}


def test_design_and_source_filters(indexed):
    project, ids = indexed
    res = search_json(project, "peer support", "--design", "rct,cohort", "-k", "10")
    assert {r["id"] for r in res} == {ids["navigator"], ids["cohort"]}
    res = search_json(project, "peer support", "--source", "europepmc", "-k", "10")
    assert [r["id"] for r in res] == [ids["forum"]]
    res = search_json(project, "peer support", "--source", "import", "--source", "openalex")
    assert {r["id"] for r in res} == {ids["realist"], ids["survey"]}


def test_narrow_filter_still_finds_low_ranked_record(indexed):
    project, ids = indexed
    # The survey ranks low for this query, but it is the only cross-sectional study: a filter must not lose it.
    res = search_json(project, "first-episode psychosis peer navigator", "--design", "cross_sectional")
    assert [r["id"] for r in res] == [ids["survey"]]


def test_excluded_records_hidden_unless_asked(indexed):
    project, ids = indexed
    res = search_json(project, "peer review of manuscripts", "-k", "10")
    assert ids["peer_review"] not in [r["id"] for r in res]
    res = search_json(project, "peer review of manuscripts", "-k", "10", "--include-excluded")
    assert res[0]["id"] == ids["peer_review"]


def test_mechanism_filter_respects_human_curation(indexed):
    project, ids = indexed
    res = search_json(project, "hope", "--mechanism", "hope_role_modelling")
    # The cohort study was coded hope_role_modelling automatically but a reviewer rejected it.
    assert [r["id"] for r in res] == [ids["realist"]]
    assert res[0]["mechanisms"] == ["hope_role_modelling"]


def test_by_mechanism_groups_results(indexed):
    project, ids = indexed
    code, out, err = run(project, "search", "peer support for young people", "--by-mechanism", "--json", "-k", "8")
    assert code == 0, err
    groups = [json.loads(x) for x in out.splitlines()]
    by_id = {g["mechanism"]: [r["id"] for r in g["results"]] for g in groups}
    assert by_id["hope_role_modelling"] == [ids["realist"]]
    assert by_id["navigation_advocacy"] == [ids["navigator"]]
    assert groups[-1]["mechanism"] == "(no mechanism)" and ids["cohort"] in by_id["(no mechanism)"]
    assert next(g for g in groups if g["mechanism"] == "hope_role_modelling")["name"].lower().startswith("hope")
    code, out, _ = run(project, "search", "peer support for young people", "--by-mechanism", "-k", "8")
    assert code == 0 and "(no mechanism)" in out


# ------------------------------------------------------------------ show / similar
@pytest.mark.parametrize("ref", ["id", "10.5555/test.navigator", "https://doi.org/10.5555/TEST.NAVIGATOR", "39100001"])
def test_show_by_any_identifier(indexed, ref):
    project, ids = indexed
    ref = ids["navigator"] if ref == "id" else ref
    code, out, err = run(project, "show", ref, "--json")
    assert code == 0, err
    d = json.loads(out)
    assert d["id"] == ids["navigator"] and d["design"] == "rct" and d["pmid"] == "39100001"
    assert [p["source"] for p in d["provenance"]] == ["pubmed"]
    assert d["sentences"][0]["section"] == "BACKGROUND"
    assert {s["section"] for s in d["sentences"]} == {"BACKGROUND", "METHODS", "RESULTS", "CONCLUSIONS"}
    assert d["screening"] is None


def test_show_table_and_screening(indexed):
    project, ids = indexed
    code, out, _ = run(project, "show", ids["peer_review"])
    assert code == 0
    assert "exclude" in out and "Provenance" in out and "Inter-reviewer agreement" in out
    code, out, _ = run(project, "show", ids["navigator"], "--json")
    d = json.loads(out)
    assert [m["id"] for m in d["mechanisms"]] == ["navigation_advocacy"]
    assert d["sentences"][3]["codes"] == [{"kind": "mechanism", "code": "navigation_advocacy", "score": 0.8}]


def test_similar(indexed):
    project, ids = indexed
    code, out, err = run(project, "similar", ids["cohort"], "--json", "-k", "3")
    assert code == 0, err
    res = [json.loads(x) for x in out.splitlines()]
    assert len(res) == 3 and ids["cohort"] not in [r["id"] for r in res]
    # Hope and recovery through peers: the realist review about hope is the nearest study.
    assert res[0]["id"] == ids["realist"]
    assert res[0]["score"] >= res[-1]["score"]


# ------------------------------------------------------------------ errors
@pytest.mark.parametrize("args,message", [
    (["search", "   "], "empty query"),
    (["search", "x" * 2001], "query too long"),
    (["search", "peer", "--design", "trial"], "unknown design 'trial'"),
    (["search", "peer", "--source", "scopus"], "unknown source 'scopus'"),
    (["search", "peer", "--mechanism", "telepathy"], "mechanism"),
    (["search", "peer", "-k", "0"], "-k must be at least 1"),
    (["show", "10.9999/nope"], "no record '10.9999/nope'"),
    (["similar", "12345678"], "no record '12345678'"),
])
def test_errors_are_one_line_exit_2(indexed, args, message):
    project, _ = indexed
    code, out, err = run(project, *args)
    assert code == 2
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_no_corpus_says_which_commands_to_run(project):
    code, _, err = run(project, "search", "peer support")
    assert code == 2 and "`synth harvest` then `synth index`" in err
    code, _, err = run(project, "show", "123")
    assert code == 2 and "`synth harvest` then `synth index`" in err


def test_not_indexed_yet(project):
    store_records(project)
    code, _, err = run(project, "search", "peer support")
    assert code == 2 and "synth index" in err


def test_index_built_with_another_model_is_refused(indexed, tmp_path):
    project, _ = indexed
    import shutil

    other = tmp_path / "other"
    shutil.copytree(project.root, other)
    toml = other / "synth.toml"
    toml.write_text(toml.read_text().replace('model = "all-MiniLM-L6-v2"', 'model = "paraphrase-MiniLM-L3-v2"'))
    r = subprocess.run([*synth_cmd(), "--project", str(other), "search", "peer support"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert "all-MiniLM-L6-v2" in r.stderr and "synth index --rebuild" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


# ------------------------------------------------------------------ fast cold start
def _search_probe(project, query="peer navigator"):
    """Run `synth search` in a fresh process; report which heavy modules it imported."""
    probe = (
        "import sys\n"
        "from synth.cli import main\n"
        "try:\n"
        "    main()\n"
        "except SystemExit as e:\n"
        "    heavy = sorted(m for m in ('torch', 'sentence_transformers', 'scrapy', 'transformers', 'chromadb') if m in sys.modules)\n"
        "    print('HEAVY', heavy, 'EXIT', e.code, file=sys.stderr)\n"
    )
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    return subprocess.run([sys.executable, "-c", probe, "--project", str(project.root), "search", query, "--json", "-k", "1"],
                          capture_output=True, text=True, timeout=120, env=env)


def test_search_process_never_imports_torch_nor_chromadb(indexed):
    project, ids = indexed
    r = _search_probe(project)
    assert "HEAVY [] EXIT 0" in r.stderr, r.stderr
    assert json.loads(r.stdout.splitlines()[0])["id"] == ids["navigator"]


def test_a_stale_snapshot_falls_back_to_chroma_with_the_same_answer(indexed):
    from index.snapshot import DIRTY

    project, ids = indexed
    with project.store() as s:
        s.set_meta(DIRTY, "1")  # as left by a sync killed after writing vectors
    try:
        r = _search_probe(project)
    finally:
        with project.store() as s:
            s.set_meta(DIRTY, "0")
    assert "HEAVY ['chromadb'] EXIT 0" in r.stderr, r.stderr
    assert json.loads(r.stdout.splitlines()[0])["id"] == ids["navigator"]

