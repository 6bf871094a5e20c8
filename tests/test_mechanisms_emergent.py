"""Emergent mechanisms: HDBSCAN clusters of unexplained sentences, c-TF-IDF labels, stable ids."""

import numpy as np
import pytest

from synth.mechanisms.emergent import ctfidf_terms, list_clusters, refresh_emergent


class TableVectors:
    """Vectors for (record_id, idx) from a dict, as the index would serve them."""

    def __init__(self, table):
        self.table = table

    def sentence_vectors(self, keys, texts):
        return np.stack([self.table[k] for k in keys])


TOPICS = {
    "music": "Making music together in the band helped them express feelings through songs and rehearsals.",
    "faith": "Prayer and the faith community gave them spiritual meaning and church support.",
    "animals": "Caring for horses and dogs at the farm calmed them and built patience with animals.",
}


def corpus(rng, per_topic, start=0):
    """Three well-separated topics in 384 dimensions, a few sentences per record."""
    base = {t: rng.normal(size=384) for t in TOPICS}
    rows, table = [], {}
    for t, text in TOPICS.items():
        for i in range(per_topic):
            rid, idx = f"r{t}{start + i:03d}", 0
            v = base[t] + 0.15 * rng.normal(size=384)
            table[(rid, idx)] = (v / np.linalg.norm(v)).astype(np.float32)
            rows.append((rid, idx, f"{text} Variant {i}."))
    return rows, table


def load(store, rows):
    with store.transaction() as c:
        for rid, idx, text in rows:
            c.execute("INSERT OR IGNORE INTO records(id, title, title_key, content_hash, created_at, updated_at) VALUES (?,?,?,?,?,?)",
                      (rid, "t", "t", "h", "now", "now"))
            c.execute("INSERT OR REPLACE INTO sentences(record_id, idx, section, text, role) VALUES (?,?,?,?, 'mechanism')", (rid, idx, "", text))
            c.execute("INSERT OR REPLACE INTO sentence_fit(record_id, idx, fit, candidate) VALUES (?,?,0.2,1)", (rid, idx))


def test_clusters_labels_and_ids_stay_stable_when_records_are_added(project):
    rng = np.random.default_rng(0)
    with project.store() as store:
        rows, table = corpus(rng, 12)
        load(store, rows)
        first = refresh_emergent(store, TableVectors(table))
        assert first["clusters"] == 3 and first["ids"] == ["E1", "E2", "E3"]
        before = {c["cluster"]: set(c["terms"]) for c in list_clusters(store)}
        # each cluster is labelled by its own distinctive words
        labels = {frozenset(t) for t in before.values()}
        assert any({"music", "songs"} & t for t in labels) and any({"prayer", "faith"} & t for t in labels)
        # same data again: same ids; more records of the same topics: still the same ids
        assert refresh_emergent(store, TableVectors(table))["ids"] == ["E1", "E2", "E3"]
        rng2 = np.random.default_rng(1)
        more, table2 = corpus(rng2, 6, start=100)
        # new records come from the same topics (same topic centres)
        for (rid, idx, _) in more:
            topic = next(t for t in TOPICS if rid.startswith(f"r{t}"))
            src = next(v for (r, i), v in table.items() if r.startswith(f"r{topic}"))
            v = src + 0.05 * rng2.normal(size=384)
            table[(rid, idx)] = (v / np.linalg.norm(v)).astype(np.float32)
        load(store, more)
        after = refresh_emergent(store, TableVectors(table))
        assert after["ids"] == ["E1", "E2", "E3"]
        now = {c["cluster"]: set(c["terms"]) for c in list_clusters(store)}
        assert all(before[k] & now[k] for k in before)  # each id still means the same theme
        assert sum(c["sentences"] for c in list_clusters(store)) > sum(1 for _ in rows) - 3


def test_ctfidf_prefers_words_distinctive_of_a_cluster():
    terms = ctfidf_terms([["peer support music band songs"] * 3, ["peer support prayer church faith"] * 3])
    assert "peer support" not in terms[0][:2] and {"music", "band", "songs"} & set(terms[0][:3])
    assert {"prayer", "church", "faith"} & set(terms[1][:3])


def test_too_few_candidates_give_no_clusters(project):
    with project.store() as store:
        rows, table = corpus(np.random.default_rng(0), 1)
        load(store, rows)
        assert refresh_emergent(store, TableVectors(table))["clusters"] == 0
        assert list_clusters(store) == []


@pytest.mark.slow
def test_the_sample_corpus_shows_emergent_candidates_across_studies(project):
    """What `synth demo` shows: the bundled sample, coded with the real model, surfaces processes the default
    theory lacks (peer workers' distress, being triggered, dependency) as candidates, each from 2+ studies."""
    import json
    from importlib import resources

    from synth.mechanisms.emergent import list_clusters
    from synth.mechanisms.pipeline import code_project
    from synth.mechanisms.vectors import DirectVectors
    from tests.test_mechanisms import add_records

    rows = [json.loads(line) for line in resources.files("synth").joinpath("data/sample_corpus.jsonl")
            .read_text(encoding="utf-8").splitlines() if line.strip()]
    add_records(project, [{"key": r["key"], "title": r["title"], "abstract": r["abstract"], "year": r.get("year") or 2020}
                          for r in rows])
    code_project(project, progress=False, vectors=DirectVectors())
    with project.store() as store:
        clusters = list_clusters(store)
    assert len(clusters) >= 3
    assert all(c["records"] >= 2 and c["sentences"] >= 3 and c["terms"] for c in clusters)


def test_limitations_are_not_unexplained_processes():
    from synth.mechanisms.lexicon import has_process

    assert has_process("Peer workers described feeling drained after young people disclosed self-harm.")
    assert not has_process("The cross-sectional design does not allow the direction of these associations to be determined.")
    assert not has_process("In the absence of a control group, these changes cannot be attributed to peer support.")


def test_a_candidate_is_promoted_once_with_phrases_specific_to_it(project):
    from synth.errors import SynthError
    from synth.lexical import build_lexical
    from synth.mechanisms.emergent import mark_promoted, promotion
    from synth.records import Record

    rng = np.random.default_rng(0)
    with project.store() as store:
        rows, table = corpus(rng, 12)
        load(store, rows)
        refresh_emergent(store, TableVectors(table))
        for i in range(20):  # a corpus where "peer support" is everywhere and "horses" is not
            store.upsert(Record(title=f"Peer support study {i}", abstract="Peer support for young people." + (" Horses." if i == 0 else ""),
                                pmid=str(1000 + i), source="pubmed", source_id=str(1000 + i)))
    build_lexical(project)
    with project.store() as store:
        from synth.mechanisms import emergent

        assert emergent._specific(project, store, ["peer support", "horses"]) == ["horses"]
        promo = promotion(project, store, "emergent:E1")
        assert promo["cluster"] == "E1" and promo["description"] and promo["examples"]
        mark_promoted(store, "E1", "music_making")
        with pytest.raises(SynthError, match="promoted already, to 'music_making'"):
            promotion(project, store, "E1")
        with pytest.raises(SynthError, match="no emergent candidate"):
            promotion(project, store, "E9")
