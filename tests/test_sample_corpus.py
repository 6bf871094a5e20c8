"""The bundled sample corpus and the judged query set are what `synth demo`, the fake API
server, the search benchmark and the mechanism benchmark all stand on: check their shape
and the traps they are meant to contain (cross-source duplicates, near misses)."""

from __future__ import annotations

import json
import re
from collections import Counter
from datetime import date
from itertools import combinations
from pathlib import Path

import pytest
import yaml
from rapidfuzz import fuzz

from synth.normalize import title_key

REPO = Path(__file__).resolve().parents[1]
CORPUS = REPO / "synth" / "data" / "sample_corpus.jsonl"
QUERIES = REPO / "bench" / "data" / "judged_queries.yaml"

MECHANISMS = {
    "peerness_relationship", "hope_role_modelling", "validation_support", "navigation_advocacy",
    "skills_psychoeducation", "empowerment_autonomy", "stigma_reduction", "social_connection",
    "engagement_therapeutic", "peer_worker_benefits",
}
OUTCOMES = {"hope", "service_engagement", "wellbeing", "resilience", "confidence", "symptoms", "recovery",
            "self_esteem", "social_functioning", "help_seeking", "stigma"}
CONTEXTS = {"school", "clinical_service", "community", "online", "inpatient_residential", "adolescents",
            "young_adults", "children", "lgbtq", "care_experienced", "homeless", "lmic", "students",
            "one_to_one", "group", "digital", "organisational_support"}
DESIGNS = {"rct", "quasi_experimental", "cohort", "cross_sectional", "qualitative", "mixed_methods",
           "systematic_review", "scoping_review", "realist_review", "realist_evaluation", "protocol", "other"}
SOURCES = ("pubmed", "europepmc", "openalex", "crossref")
ID_FIELDS = ("doi", "pmid", "pmcid", "openalex")
# which identifiers each API can carry; OpenAlex W-ids exist only in OpenAlex
SOURCE_IDS = {"pubmed": ("doi", "pmid", "pmcid"), "europepmc": ("doi", "pmid", "pmcid"),
              "openalex": ID_FIELDS, "crossref": ("doi",)}


@pytest.fixture(scope="module")
def corpus() -> list[dict]:
    lines = CORPUS.read_text(encoding="utf-8").splitlines()
    return [json.loads(line) for line in lines if line.strip()]


@pytest.fixture(scope="module")
def queries() -> list[dict]:
    return yaml.safe_load(QUERIES.read_text(encoding="utf-8"))


def rendered(study: dict, source: str) -> dict:
    """The study as one source shows it: base fields with that source's variants applied."""
    return {**study, **study.get("variants", {}).get(source, {})}


def source_ids(study: dict, source: str) -> set[tuple[str, str]]:
    r = rendered(study, source)
    return {(f, r[f]) for f in SOURCE_IDS[source] if r.get(f)}


def test_size_and_unique_keys_and_ids(corpus):
    assert len(corpus) >= 150
    keys = [s["key"] for s in corpus]
    assert len(set(keys)) == len(keys)
    assert all(re.fullmatch(r"S\d{3}", k) for k in keys)
    for field in ID_FIELDS:
        values = [s[field] for s in corpus if s[field]]
        dupes = [v for v, n in Counter(values).items() if n > 1]
        assert not dupes, f"{field} shared by two studies: {dupes}"


def test_schema_fields_and_types(corpus):
    today = date.today().isoformat()
    for s in corpus:
        k = s["key"]
        assert isinstance(s["title"], str) and len(s["title"]) > 20, k
        assert isinstance(s["abstract"], str), k
        assert 120 <= len(s["abstract"].split()) <= 300, (k, len(s["abstract"].split()))
        assert s["authors"] and all(set(a) == {"family", "given"} and a["family"] for a in s["authors"]), k
        assert isinstance(s["year"], int) and 2005 <= s["year"] <= 2026, k
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", s["entry_date"]), k
        assert int(s["entry_date"][:4]) >= s["year"] and s["entry_date"] <= today, k
        for f in ("journal", "volume", "issue", "pages", "language"):
            assert isinstance(s[f], str) and s[f], (k, f)
        assert s["doi"] is None or re.fullmatch(r"10\.(5555|9999)/\S+", s["doi"]), k
        assert s["pmid"] is None or re.fullmatch(r"39\d{6}", s["pmid"]), k
        assert s["pmcid"] is None or re.fullmatch(r"PMC9\d{6}", s["pmcid"]), k
        assert s["openalex"] is None or re.fullmatch(r"W44\d{8,9}", s["openalex"]), k
        assert s["pmcid"] is None or s["pmid"], k  # a PMC article is always indexed in PubMed
        for f in ("pub_types", "mesh", "keywords"):
            assert isinstance(s[f], list) and all(isinstance(x, str) for x in s[f]), (k, f)
        assert "Journal Article" in s["pub_types"], k
        assert s["sources"] and set(s["sources"]) <= set(SOURCES), k
        assert len(set(s["sources"])) == len(s["sources"]), k
        assert set(s["variants"]) <= set(s["sources"]), k
        assert s["topic"] in ("on_topic", "near_miss"), k
        assert s["design"] in DESIGNS, k
        assert set(s["mechanisms"]) <= MECHANISMS, k
        assert set(s["outcomes"]) <= OUTCOMES, k
        assert set(s["contexts"]) <= CONTEXTS, k


def test_structured_abstracts_one_section_per_line(corpus):
    structured = [s for s in corpus if "\n" in s["abstract"]]
    assert len(structured) >= 40
    for s in structured:
        for line in s["abstract"].splitlines():
            assert re.match(r"[A-Z][A-Z ,&/-]+: \S", line), (s["key"], line[:40])
    assert len(corpus) - len(structured) >= 40  # plenty of unstructured ones too


def test_each_source_can_render_its_records(corpus):
    for s in corpus:
        for src in s["sources"]:
            r = rendered(s, src)
            assert r.get("title"), (s["key"], src)
            if src == "pubmed":
                assert r.get("pmid"), s["key"]
            if src == "europepmc":
                assert r.get("pmid") or r.get("pmcid") or r.get("doi"), s["key"]
            if src == "crossref":
                assert r.get("doi"), s["key"]
            if src == "openalex":
                assert r.get("openalex"), s["key"]


def test_mechanism_coverage_and_near_misses(corpus):
    on_topic = [s for s in corpus if s["topic"] == "on_topic"]
    counts = Counter(m for s in on_topic for m in s["mechanisms"])
    for m in MECHANISMS:
        assert counts[m] >= 8, (m, counts[m])
    near = [s for s in corpus if s["topic"] == "near_miss"]
    assert len(near) >= 25
    assert all(not s["mechanisms"] for s in near)
    # some near misses must be findable by keyword, or they would not be a trap
    assert sum("peer support" in (s["title"] + s["abstract"]).lower() for s in near) >= 5
    assert sum("young people" in (s["title"] + s["abstract"]).lower() for s in near) >= 3
    assert len({s["design"] for s in corpus}) >= 11


def test_cross_source_duplicates(corpus):
    multi = [s for s in corpus if len(s["sources"]) >= 2]
    assert len(multi) >= 0.4 * len(corpus)
    assert any(len(s["sources"]) == 1 for s in corpus)
    assert all(any(src in s["sources"] for s in corpus) for src in SOURCES)
    # realistic deviations between sources
    variants = [v for s in corpus for v in s["variants"].items()]
    assert sum(1 for src, v in variants if src == "crossref" and "title" in v) >= 10
    assert sum(1 for src, v in variants if src == "crossref" and "abstract" in v and v["abstract"] is None) >= 10
    assert sum(1 for src, v in variants if src == "openalex" and "pmid" in v and v["pmid"] is None) >= 8


def test_duplicates_only_a_fuzzy_title_match_can_merge(corpus):
    """≥8 multi-source studies whose sources share no identifier at all; their titles still match."""
    hidden = []
    for s in corpus:
        if len(s["sources"]) < 2:
            continue
        pairs = list(combinations(s["sources"], 2))
        if all(not (source_ids(s, a) & source_ids(s, b)) for a, b in pairs):
            hidden.append(s)
            titles = [title_key(rendered(s, src)["title"]) for src in s["sources"]]
            for a, b in combinations(titles, 2):
                assert fuzz.token_sort_ratio(a, b) >= 94, (s["key"], a, b)
    assert len(hidden) >= 8


def test_protocol_and_results_papers_are_distinct_studies(corpus):
    """Near-identical titles with different DOIs: a de-duplicator must keep them apart."""
    pairs = []
    for a, b in combinations(corpus, 2):
        if abs(a["year"] - b["year"]) <= 1 and fuzz.token_sort_ratio(title_key(a["title"]), title_key(b["title"])) >= 88:
            pairs.append((a, b))
    assert len(pairs) >= 2
    for a, b in pairs:
        assert a["doi"] and b["doi"] and a["doi"] != b["doi"], (a["key"], b["key"])
        assert "protocol" in {a["design"], b["design"]}, (a["key"], b["key"])


def test_abstracts_are_not_near_identical(corpus):
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import cosine_similarity

    texts = [s["abstract"] for s in corpus]
    sims = cosine_similarity(TfidfVectorizer(stop_words="english").fit_transform(texts))
    for i, j in combinations(range(len(texts)), 2):
        assert sims[i, j] < 0.8, (corpus[i]["key"], corpus[j]["key"], sims[i, j])


def test_judged_queries_reference_real_on_topic_studies(corpus, queries):
    by_key = {s["key"]: s for s in corpus}
    assert len(queries) >= 30
    assert {q["kind"] for q in queries} == {"exact", "concept"}
    texts = [q["query"] for q in queries]
    assert len(set(texts)) == len(texts)
    for q in queries:
        assert isinstance(q["query"], str) and q["query"].strip()
        assert q["relevant"], q["query"]
        for key, grade in q["relevant"].items():
            assert key in by_key, (q["query"], key)
            assert grade in (1, 2), (q["query"], key)
            assert by_key[key]["topic"] == "on_topic", (q["query"], key)
        assert 2 in q["relevant"].values(), q["query"]
