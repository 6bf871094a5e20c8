"""Integrity of the hand-labelled mechanism/relevance evaluation set (issue 5, "Quality").

bench/ scores the coder and the relevance model against tests/data/mechanism_labelled.jsonl;
these tests keep that set usable: valid theory ids, enough records per mechanism in both
splits, no leakage between texts, and the documented split rule.
"""
import itertools
import json
import re
from collections import Counter, defaultdict
from pathlib import Path

import pytest

DATA = Path(__file__).parent / "data" / "mechanism_labelled.jsonl"
SAMPLE_CORPUS = Path(__file__).resolve().parents[1] / "synth" / "data" / "sample_corpus.jsonl"

# Programme theory ids (CONTRACTS.md section 3).
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
DESIGNS = {
    "rct", "quasi_experimental", "cohort", "cross_sectional", "qualitative", "mixed_methods",
    "systematic_review", "scoping_review", "realist_review", "realist_evaluation", "protocol", "other",
}
FIELDS = {"key", "title", "abstract", "year", "topic", "mechanisms", "outcomes", "contexts", "design", "split"}
STRUCTURED_LINE = re.compile(r"^[A-Z][A-Z /&-]+: \S")


@pytest.fixture(scope="module")
def records():
    lines = DATA.read_text(encoding="utf-8").splitlines()
    assert all(line.strip() for line in lines), "blank line in the labelled set"
    return [json.loads(line) for line in lines]


def _on(records):
    return [r for r in records if r["topic"] == "on_topic"]


def _near(records):
    return [r for r in records if r["topic"] == "near_miss"]


def test_every_record_has_the_contract_fields_and_types(records):
    for r in records:
        assert set(r) == FIELDS, r["key"]
        assert re.fullmatch(r"L\d{3}", r["key"]), r["key"]
        assert isinstance(r["year"], int) and 2000 <= r["year"] <= 2026, r["key"]
        assert r["title"].strip() and r["abstract"].strip(), r["key"]
        assert r["topic"] in {"on_topic", "near_miss"}, r["key"]
        assert r["split"] in {"dev", "test"}, r["key"]
        assert r["design"] in DESIGNS, r["key"]
        for field in ("mechanisms", "outcomes", "contexts"):
            assert isinstance(r[field], list) and len(set(r[field])) == len(r[field]), (r["key"], field)


def test_set_is_large_enough(records):
    assert len(_on(records)) >= 80
    assert len(_near(records)) >= 30


def test_only_theory_ids_are_used(records):
    for r in records:
        assert set(r["mechanisms"]) <= MECHANISMS, (r["key"], set(r["mechanisms"]) - MECHANISMS)
        assert set(r["outcomes"]) <= OUTCOMES, (r["key"], set(r["outcomes"]) - OUTCOMES)
        assert set(r["contexts"]) <= CONTEXTS, (r["key"], set(r["contexts"]) - CONTEXTS)


def test_keys_and_titles_are_unique(records):
    keys = [r["key"] for r in records]
    titles = [r["title"].casefold().strip() for r in records]
    assert len(set(keys)) == len(keys)
    assert len(set(titles)) == len(titles)


def test_near_misses_carry_no_codes(records):
    for r in _near(records):
        assert r["mechanisms"] == [] and r["outcomes"] == [] and r["contexts"] == [], r["key"]


def test_on_topic_records_have_one_to_four_mechanisms_and_realistic_length(records):
    for r in _on(records):
        assert 1 <= len(r["mechanisms"]) <= 4, r["key"]
        assert 100 <= len(r["abstract"].split()) <= 250, r["key"]


def test_every_mechanism_is_well_represented_in_both_splits(records):
    total, alone, per_split = Counter(), Counter(), defaultdict(Counter)
    for r in _on(records):
        for m in r["mechanisms"]:
            total[m] += 1
            per_split[r["split"]][m] += 1
        if len(r["mechanisms"]) == 1:
            alone[r["mechanisms"][0]] += 1
    for m in sorted(MECHANISMS):
        assert total[m] >= 15, (m, total[m])
        assert alone[m] >= 3, (m, alone[m])  # single-mechanism records test precision without co-occurrence
        assert per_split["dev"][m] >= 5 and per_split["test"][m] >= 5, (m, per_split["dev"][m], per_split["test"][m])


def test_split_follows_the_documented_rule(records):
    """Within each topic, in key order, records alternate dev, test, dev, ... (docs/labelled_set.md)."""
    for topic in ("on_topic", "near_miss"):
        ordered = sorted((r for r in records if r["topic"] == topic), key=lambda r: r["key"])
        assert [r["split"] for r in ordered] == ["dev" if i % 2 == 0 else "test" for i in range(len(ordered))], topic


def test_structured_abstracts_use_one_section_per_line(records):
    for r in records:
        lines = r["abstract"].split("\n")
        if len(lines) > 1:
            assert all(STRUCTURED_LINE.match(line) for line in lines), r["key"]


def test_some_near_misses_share_the_review_vocabulary(records):
    """Keyword matching must be tempted: several near misses use the review's own words."""
    bait = ("peer support", "young people", "mental health", "hope", "stigma")
    tempting = [r for r in _near(records) if sum(b in (r["title"] + " " + r["abstract"]).lower() for b in bait) >= 2]
    assert len(tempting) >= 8


def _shingles(text, n=5):
    words = re.findall(r"[a-z0-9]+", text.lower())
    return {tuple(words[i:i + n]) for i in range(len(words) - n + 1)}


def test_no_near_duplicate_abstracts(records):
    sh = {r["key"]: _shingles(r["abstract"]) for r in records}
    for a, b in itertools.combinations(sh, 2):
        overlap = len(sh[a] & sh[b]) / max(1, min(len(sh[a]), len(sh[b])))
        assert overlap < 0.10, (a, b, round(overlap, 3))


def test_separate_from_the_sample_corpus(records):
    if not SAMPLE_CORPUS.exists():
        pytest.skip("synth/data/sample_corpus.jsonl not written yet")
    sample = [json.loads(line) for line in SAMPLE_CORPUS.read_text(encoding="utf-8").splitlines() if line.strip()]
    sample_titles = {s["title"].casefold().strip() for s in sample}
    sample_shingles = {s["key"]: _shingles(s.get("abstract") or "") for s in sample}
    for r in records:
        assert r["title"].casefold().strip() not in sample_titles, r["key"]
        mine = _shingles(r["abstract"])
        for key, theirs in sample_shingles.items():
            assert len(mine & theirs) / max(1, min(len(mine), len(theirs))) < 0.10, (r["key"], key)
