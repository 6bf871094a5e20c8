"""BM25 index: built once from the store, loaded memory-mapped, stemmed, title-weighted; highlighting."""

import json

import pytest

from synth import highlight
from synth.lexical import LexicalIndex, build_lexical, lexical_dir
from synth.records import Record
from search_corpus import DESIGNS, RECORDS, store_records


@pytest.fixture
def lex_project(project):
    ids = store_records(project)
    summary = build_lexical(project)
    return project, ids, summary


def top(idx: LexicalIndex, query: str, n: int = 3) -> list[str]:
    scores = idx.scores(query)
    order = sorted(range(len(idx.ids)), key=lambda i: -scores[i])
    return [idx.ids[i] for i in order[:n] if scores[i] > 0]


def test_build_saves_index_and_designs(lex_project):
    project, ids, summary = lex_project
    assert summary["documents"] == len(RECORDS)
    folder = lexical_dir(project)
    assert (folder / "meta.json").exists() and (folder / "data.csc.index.npy").exists()
    assert sorted(json.loads((folder / "ids.json").read_text())) == sorted(ids.values())
    store = project.store()
    got = {r["id"]: r["design"] for r in store.iter_records()}
    store.close()
    assert got == {ids[k]: DESIGNS[k] for k in ids}


def test_exact_terms_rank_the_record_that_has_them(lex_project):
    project, ids, _ = lex_project
    idx = LexicalIndex.load(project)
    assert top(idx, "first-episode psychosis")[0] == ids["navigator"]
    # Stemming: "navigators" and "navigation" match the query "navigator".
    assert top(idx, "peer navigator", 1) == [ids["navigator"]]
    assert top(idx, "care leavers")[0] == ids["protocol"]
    # Stop words alone match nothing rather than everything.
    assert top(idx, "the of and") == []


def test_title_weighting(project):
    store = project.store()
    a = store.upsert(Record(title="Self-stigma in young people", abstract="We studied mentoring in schools.", pmid="1", source="pubmed"))[1]
    b = store.upsert(Record(title="Mentoring in schools", abstract="We studied self-stigma in young people.", pmid="2", source="pubmed"))[1]
    store.close()
    build_lexical(project)
    idx = LexicalIndex.load(project)
    assert top(idx, "self-stigma", 2) == [a, b]
    assert top(idx, "mentoring", 2) == [b, a]


def test_index_is_memory_mapped_and_knows_when_stale(lex_project):
    project, ids, _ = lex_project
    idx = LexicalIndex.load(project)
    import numpy as np

    assert all(isinstance(a, np.memmap) for a in idx.matrix)
    store = project.store()
    assert idx.is_current(store)
    store.upsert(Record(title="A new study of peer mentors", pmid="99", source="pubmed"))
    assert not idx.is_current(store)
    store.close()


def test_query_scoring_equals_bm25s(lex_project):
    """The query path sums the saved matrix's columns itself (no bm25s import); it must agree with bm25s."""
    import bm25s
    import numpy as np

    project, _, _ = lex_project
    idx = LexicalIndex.load(project)
    model = bm25s.BM25.load(str(idx.folder), mmap=True)
    for q in ("peer navigator", "first-episode psychosis young people peer peer", "hope recovery mentoring"):
        tokens = [model.vocab_dict[t] for t in idx.tokenize(q) if t in model.vocab_dict]
        assert np.allclose(idx.scores(q), model.get_scores(tokens)), q


def test_rebuild_replaces_atomically(lex_project):
    project, ids, _ = lex_project
    store = project.store()
    new = store.upsert(Record(title="WhatsApp groups for peer support in Kenya", pmid="98", source="pubmed"))[1]
    store.close()
    build_lexical(project)
    idx = LexicalIndex.load(project)
    assert top(idx, "WhatsApp", 1) == [new]
    versions = [p.name for p in lexical_dir(project).parent.iterdir() if p.is_dir()]
    assert len(versions) <= 2 and lexical_dir(project).name in versions  # the live one and at most its predecessor
    assert not [v for v in versions if v.endswith(".partial")]


def test_highlighting_matches_stems_and_merges_phrases():
    stems = highlight.query_stems("peer navigator for psychosis")
    text = "Peer navigators helped young people with psychosis."
    assert highlight.matched_terms(text, stems) == ["Peer navigators", "psychosis"]
    assert highlight.mark_plain(text, stems) == "«Peer navigators» helped young people with «psychosis»."
    # Rich markup in the text itself is escaped, not interpreted.
    marked = highlight.mark_rich("[bold]peer[/bold] support", highlight.query_stems("support"))
    assert marked.startswith("\\[bold]") and "[bold yellow]support[/bold yellow]" in marked


def test_trim_keeps_the_match_in_view():
    stems = highlight.query_stems("kappa")
    text = ("word " * 200) + "agreement was poor (weighted kappa 0.21) " + ("word " * 200)
    out = highlight.trim(text, stems, width=120)
    assert "kappa" in out and out.startswith("…") and out.endswith("…") and len(out) < 140


def test_concurrent_builds_and_reads_never_fail(lex_project):
    """A refresh and a search (or two refreshes' steps) may build while others read."""
    from concurrent.futures import ThreadPoolExecutor

    project, ids, _ = lex_project

    def read():
        idx = LexicalIndex.load(project)
        return idx is not None and len(idx.ids) == len(idx.scores("peer"))

    with ThreadPoolExecutor(6) as pool:
        jobs = [pool.submit(build_lexical, project) for _ in range(3)] + [pool.submit(read) for _ in range(12)]
        results = [j.result() for j in jobs]
    assert all(results[3:])
    assert LexicalIndex.load(project) is not None


# ------------------------------------------------------------------ ranking parts (issue 16)
def test_z_score_fusion_standardises_each_list():
    from synth.search import Candidates, fuse

    # BM25 stands out for "a"; the dense cosines are flat. A record absent from a list gets its lowest value.
    c = Candidates(bm25=[("a", 9.0), ("b", 3.0), ("c", 3.0)], records=[("b", 0.61), ("c", 0.60), ("d", 0.59)])
    ranked = fuse(c, {"bm25": 1.0, "records": 0.25}, method="z")
    assert [rid for rid, _ in ranked][:2] == ["a", "b"] and {rid for rid, _ in ranked} == {"a", "b", "c", "d"}
    # A list of one candidate (a narrow filter) still brings it.
    assert [rid for rid, _ in fuse(Candidates(records=[("x", 0.4)]), {"bm25": 1.0, "records": 0.25}, method="z")] == ["x"]
    # The form shipped before (each list divided by its best) is still there.
    assert fuse(c, {"bm25": 1.0}, method="score")[0] == ("a", 1.0)


def test_weighted_query_terms_score_as_bm25s_does(lex_project):
    project, _, _ = lex_project
    idx = LexicalIndex.load(project)
    q = "peer navigator navigator psychosis"
    assert idx.query_terms(q) == {"peer": 1.0, "navig": 2.0, "psychosi": 1.0}
    assert (idx.scores(q) == idx.scores(idx.query_terms(q))).all()
    assert idx.df("navig") == 1 and idx.df("nonexistentterm") == 0


def test_theory_expansion_needs_a_specific_phrase(lex_project):
    from synth import expansion

    project, _, _ = lex_project
    idx = LexicalIndex.load(project)
    codes = (("hope_role_modelling", ("Hope through role modelling", "role model", "hope"), ("role model", "living proof")),
             ("peerness", ("peerness",), ("shared experience",)))
    # "hope" is in few records: the code is named and its phrases join the query at a fraction of its weight.
    extra = expansion.theory_terms(idx, "does peer support give young people hope", codes, weight=0.25, max_df=0.5)
    assert set(extra) == {"role", "model", "live"}  # "proof" is in no record: nothing to match
    assert extra and all(abs(w - 0.25 / len(extra) ** 0.5) < 1e-9 for w in extra.values())
    # "peerness" stems to "peer", which most records hold: it names nothing.
    assert expansion.theory_terms(idx, "peer support", codes, weight=0.25, max_df=0.5) == {}


def test_feedback_terms_keep_the_query_and_add_distinctive_words(lex_project):
    from synth import expansion

    project, _, _ = lex_project
    idx = LexicalIndex.load(project)
    terms = idx.query_terms("peer navigator")
    out = expansion.feedback_terms(idx, terms, ["Peer navigators accompanied young people to first appointments."], 3, 0.1)
    assert out["peer"] == pytest.approx(0.9) and out["navig"] == pytest.approx(0.9)
    new = {t: w for t, w in out.items() if t not in terms}
    assert 0 < len(new) <= 3 and sum(new.values()) == pytest.approx(0.1 * 2)


def test_theory_codes_come_from_the_coded_theory_else_the_yaml(project):
    from synth import expansion

    store = project.store()
    try:
        ids = [cid for cid, _, _ in expansion.theory_codes(store, project)]
        assert "hope_role_modelling" in ids and "help_seeking" in ids  # the default theory: mechanisms and outcomes
        store.set_meta("mechanisms.theory", json.dumps({"mechanisms": [{"id": "m1", "name": "Mutual aid", "phrases": ["mutual aid"]}],
                                                        "outcomes": [], "contexts": []}))
        assert expansion.theory_codes(store, project) == (("m1", ("Mutual aid", "mutual aid"), ("mutual aid",)),)
    finally:
        store.close()


def test_near_miss_cues_follow_the_theory_a_search_reads(project):
    """The scope's near-miss cues come from the coded theory, else theory.yaml (re-read when edited)."""
    from synth import expansion
    from synth.mechanisms.theory import default_theory_text, theory_path

    store = project.store()
    try:
        assert "bullying" in expansion.near_miss_cues(store, project)  # the packaged default
        path = theory_path(project)
        text = default_theory_text()
        assert "    - bullying\n" in text
        path.write_text(text.replace("    - bullying\n", "    - horse riding\n"), encoding="utf-8")
        cues = expansion.near_miss_cues(store, project)
        assert "horse riding" in cues and "bullying" not in cues
        store.set_meta("mechanisms.theory", json.dumps({"scope": {"exclude": ["peer review"]}, "mechanisms": []}))
        assert expansion.near_miss_cues(store, project) == ("peer review",)
    finally:
        store.close()
