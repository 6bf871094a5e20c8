"""Integrity of the labelled evaluation set (docs/labelled_set.md).

Batches A, A3 and A4 (synth/data/labelled/) train the coder; batch B (bench/data/labelled/batch_b.jsonl)
is the test set that bench/bench_mechanisms.py reports on. These tests keep both usable: valid theory
ids, every sentence labelled, cited studies, no study in both batches, no leaked text, and a sample
corpus that does not use the theory's phrases more than abstracts written blind to the theory do.
"""
import itertools
import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BATCH_A = ROOT / "synth" / "data" / "labelled" / "batch_a.jsonl"
BATCH_B = ROOT / "bench" / "data" / "labelled" / "batch_b.jsonl"
BATCH_A3 = ROOT / "synth" / "data" / "labelled" / "batch_a3.jsonl"
BATCH_A4 = ROOT / "synth" / "data" / "labelled" / "batch_a4.jsonl"
BATCH_B_SECOND = ROOT / "bench" / "data" / "labelled" / "batch_b_second.jsonl"
OLD_SET = ROOT / "tests" / "data" / "mechanism_labelled.jsonl"
SAMPLE_CORPUS = ROOT / "synth" / "data" / "sample_corpus.jsonl"

MECHANISMS = {
    "peerness_relationship", "hope_role_modelling", "validation_support", "navigation_advocacy",
    "skills_psychoeducation", "empowerment_autonomy", "stigma_reduction", "social_connection",
    "engagement_therapeutic", "peer_worker_benefits",
}
OUTCOMES = {
    "hope", "service_engagement", "wellbeing", "resilience", "confidence", "symptoms", "recovery",
    "self_esteem", "social_functioning", "help_seeking", "stigma",
}
CONTEXTS = {
    "school", "clinical_service", "community", "online", "inpatient_residential",
    "adolescents", "young_adults", "children", "lgbtq", "care_experienced", "homeless", "lmic", "students",
    "one_to_one", "group", "digital", "organisational_support",
}
ROLES = {"background", "aim", "methods", "finding", "conclusion"}
DIRECTIONS = {"improved", "no_change", "worse", "mixed"}


def _load(path):
    lines = path.read_text(encoding="utf-8").splitlines()
    assert all(line.strip() for line in lines), f"blank line in {path}"
    return [json.loads(line) for line in lines]


@pytest.fixture(scope="module")
def batches():
    return {"A": _load(BATCH_A), "B": _load(BATCH_B), "A3": _load(BATCH_A3), "A4": _load(BATCH_A4)}


def _all(batches):
    return batches["A"] + batches["B"] + batches["A3"] + batches["A4"]


def test_size_and_mix(batches):
    recs = _all(batches)
    assert len(recs) >= 300
    assert sum(r["topic"] == "on_topic" for r in recs) >= 220
    assert sum(r["topic"] == "near_miss" for r in recs) >= 80
    assert len(batches["B"]) >= 100
    designs = {r["design"] for r in recs if r["topic"] == "on_topic"}
    assert {"rct", "qualitative", "mixed_methods", "systematic_review", "protocol"} <= designs


def test_every_record_cites_a_study_and_labels_every_sentence(batches):
    for batch, recs in batches.items():
        for r in recs:
            assert r["batch"] == batch, r["key"]
            c = r["citation"]
            assert c["authors"] and c["year"] and c["journal"] and c["title"], r["key"]
            assert r["title"].strip() and r["abstract"].strip() and r["topic"] in {"on_topic", "near_miss"}, r["key"]
            assert [s["i"] for s in r["sentences"]] == list(range(len(r["sentences"]))), r["key"]
            for s in r["sentences"]:
                assert s["text"].strip() and s["role"] in ROLES, (r["key"], s["i"])
                assert set(s["mechanisms"]) <= MECHANISMS, (r["key"], s["i"])
                for o in s["outcomes"]:
                    assert o["id"] in OUTCOMES and o["direction"] in DIRECTIONS, (r["key"], s["i"], o)
            assert r["mechanisms"] == sorted({m for s in r["sentences"] for m in s["mechanisms"]}), r["key"]
            assert set(r["contexts"]) <= CONTEXTS, r["key"]
            n = len(r["sentences"])
            for link in r["links"]:
                assert link["mechanism"] in MECHANISMS and link["outcome"] in OUTCOMES, (r["key"], link)
                assert link["direction"] in DIRECTIONS and all(0 <= i < n for i in link["sentences"]), (r["key"], link)


def test_sentences_are_the_abstract_in_order(batches):
    """The labelled sentences cover the abstract's text (labels removed), so nothing was dropped or invented."""
    def words(t):
        return re.findall(r"[a-z0-9]+", t.lower())

    for r in _all(batches):
        sent_words = [w for s in r["sentences"] for w in words(s["text"])]
        abstract_words = words(r["abstract"])
        assert len(sent_words) >= 0.9 * len(abstract_words), r["key"]
        assert set(sent_words) <= set(abstract_words), r["key"]


def test_near_misses_carry_no_mechanisms(batches):
    for r in _all(batches):
        if r["topic"] == "near_miss":
            assert r["mechanisms"] == [] and r["links"] == [], r["key"]


def test_every_mechanism_is_labelled_in_both_batches(batches):
    for batch, recs in ((k, batches[k]) for k in ("A", "B")):
        for m in sorted(MECHANISMS):
            n = sum(m in r["mechanisms"] for r in recs)
            assert n >= 2, (batch, m, n)  # B is as the blind labeller found it: empowerment is rare (2)


def _title_key(t):
    return re.sub(r"[^a-z0-9]", "", t.lower())[:60]


def test_no_study_is_in_two_batches(batches):
    seen, seen_doi = {}, {}
    for batch, recs in batches.items():
        for r in recs:
            t, d = _title_key(r["citation"]["title"]), (r["citation"].get("doi") or "").lower()
            assert seen.setdefault(t, batch) == batch, (r["key"], seen[t])
            if d:
                assert seen_doi.setdefault(d, batch) == batch, (r["key"], seen_doi[d])


def test_second_annotation_covers_b_records_sentence_by_sentence(batches):
    b = {r["key"]: r for r in batches["B"]}
    second = _load(BATCH_B_SECOND)
    assert len(second) >= 50
    for s in second:
        r = b[s["key"]]
        assert [x["i"] for x in s["sentences"]] == [x["i"] for x in r["sentences"]], s["key"]
        assert set(s["mechanisms"]) <= MECHANISMS and s["labeller_topic"] in {"on_topic", "near_miss"}, s["key"]


def _shingles(text, n=5):
    words = re.findall(r"[a-z0-9]+", text.lower())
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def test_no_near_duplicate_abstracts(batches):
    recs = _all(batches)
    sh = [(r["key"], _shingles(r["abstract"])) for r in recs]
    for (a, x), (b, y) in itertools.combinations(sh, 2):
        assert len(x & y) / max(1, min(len(x), len(y))) < 0.10, (a, b)


def test_sample_corpus_uses_theory_phrases_no_more_than_blind_abstracts(batches):
    """Batch B was written without the theory: its rate of the theory's phrases is what real abstracts look like."""
    from synth.mechanisms.lexicon import Lexicon
    from synth.mechanisms.theory import load_theory

    theory = load_theory(None)
    lex = Lexicon((m.id, p) for m in theory.mechanisms for p in m.phrases)

    def rate(texts):
        hits = sum(sum(lex.match(t).values()) for t in texts)
        return 1000 * hits / sum(len(t.split()) for t in texts)

    sample = [json.loads(line) for line in SAMPLE_CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
    on_sample = [s["abstract"] for s in sample if s["topic"] == "on_topic"]
    on_b = [r["abstract"] for r in batches["B"] if r["topic"] == "on_topic"]
    # 34 vs 25 per 1,000 words when written (the old sample: 45): the excess is topical (the sample was built
    # around the mechanisms: hope, navigation, stigma), not wording; a rewrite back to the phrase list fails here
    assert rate(on_sample) <= 1.5 * rate(on_b), (rate(on_sample), rate(on_b))
    for s in sample:
        assert not re.search(r"\((context|mechanism|outcome)\)", s["abstract"], re.I), s["key"]


def test_old_set_still_loads_for_its_comparison():
    """The pre-issue-12 set (theory vocabulary) stays, to show the new coder did not just move the overfit."""
    rows = _load(OLD_SET)
    assert len(rows) >= 100 and all(set(r["mechanisms"]) <= MECHANISMS for r in rows)
