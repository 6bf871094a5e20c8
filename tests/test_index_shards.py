"""Sentence vectors in bounded shards: filled in order, read as one collection, kept exact
through changes, merges, check/repair, rebuilds and indexes made before sharding existed.
Real model, real embedded Chroma; shards made tiny so a small corpus spans several."""

from __future__ import annotations

import json

import numpy as np
import pytest

from bench.corpus import sample_records
from index import indexer
from index import vectors as V
from index.indexer import check, sync
from index.shards import shard_name, shard_numbers
from synth.records import Record
from tests.test_index import QUERIES, _changed, make_project, onnx_cache, rows  # noqa: F401 - fixture

# End-to-end with the real model (and Chroma): the full suite runs it, `make test-fast` does not.
pytestmark = pytest.mark.slow

SHARD = 30


@pytest.fixture
def small_shards(monkeypatch):
    monkeypatch.setattr(indexer, "SHARD_VECTORS", SHARD)
    monkeypatch.setattr(indexer, "CHUNK_RECORDS", 2)


def shard_of_vectors(p) -> dict[str, int]:
    """Sentence id -> the shard Chroma actually holds it in."""
    idx = V.VectorIndex.open(p)
    out = {}
    for k in shard_numbers(idx.client, idx.pointer["sentences"]):
        for sid in idx.sentences.shard(k).get(include=[])["ids"]:
            assert sid not in out, f"{sid} is in two shards"
            out[sid] = k
    return out


def test_shards_fill_in_order_and_read_as_one_collection(tmp_path, onnx_cache, small_shards):
    from index.query_encoder import QueryEncoder
    from index.snapshot import Snapshot

    p = make_project(tmp_path / "review", onnx_cache, sample_records(12))
    summary = sync(p, progress=False)
    idx = V.VectorIndex.open(p)
    numbers = shard_numbers(idx.client, idx.pointer["sentences"])
    assert len(numbers) >= 3 and numbers == list(range(len(numbers)))
    per_record = max(n for (n,) in rows(p, "SELECT sentences FROM index_state"))
    sizes = [idx.sentences.shard(k).count() for k in numbers]
    assert sum(sizes) == summary["sentences"] == idx.sentences.count()
    assert all(n <= SHARD + 2 * per_record for n in sizes)  # a shard is closed after the chunk that fills it
    # index_state says where each record's sentences are, and that is where they are.
    where = shard_of_vectors(p)
    for rid, n, k in rows(p, "SELECT record_id, sentences, shard FROM index_state"):
        assert {where[f"{rid}:{i}"] for i in range(n)} <= {k}
    # Querying across shards gives the exact top-10 (the snapshot ranks every vector exactly).
    gen = V.gen_key(idx.pointer)
    with p.store() as s:
        snap = Snapshot.load(p, s, gen)
    assert snap.count("sentences") == summary["sentences"]
    for q in QueryEncoder.for_project(p).encode(QUERIES):
        hits = idx.nearest("sentences", q, 10, lambda rid: True, lambda hits: len(hits) >= 10)
        assert [h[0] for h in hits][:10] == [i for i, _ in snap.ranked("sentences", q, 10)]
    # Reads by id and by page see every shard.
    sids = sorted(where)
    got_ids, mat = idx.get_vectors(sids[::-1], "sentences")
    assert got_ids == sids[::-1] and mat.shape == (len(sids), 384)
    paged = [i for ids, _ in idx.iter_sentence_vectors(batch=7) for i in ids]
    assert sorted(paged) == sids
    assert check(p, progress=False)["ok"]


def test_changes_merges_and_repair_stay_exact_across_shards(tmp_path, onnx_cache, small_shards):
    recs = sample_records(10)
    p = make_project(tmp_path / "review", onnx_cache, recs)
    sync(p, progress=False)
    (home, n_before), = rows(p, "SELECT shard, sentences FROM index_state WHERE record_id=(SELECT id FROM records WHERE pmid=?)", (recs[0].pmid,))

    # A changed record is re-embedded in the shard that holds it; its old tail goes.
    with p.store() as s:
        _, rid = s.upsert(_changed(recs[0], "CONCLUSIONS: Peer support helped. It was cheap."))
    assert sync(p, progress=False)["embedded"] == 1
    assert rows(p, "SELECT shard, sentences FROM index_state WHERE record_id=?", (rid,)) == [(home, 2)]
    where = shard_of_vectors(p)
    assert where[f"{rid}:0"] == where[f"{rid}:1"] == home and f"{rid}:{n_before - 1}" not in where

    # A merge removes the absorbed record's sentences from whichever shard held them.
    last = recs[-1]
    with p.store() as s:
        gone_shard = rows(p, "SELECT shard FROM index_state WHERE record_id=?", (s.get(last.pmid)["id"],))[0][0]
        s.upsert(Record(title=recs[1].title, doi=recs[1].doi, pmid=last.pmid, year=recs[1].year, source="crossref",
                        source_id="x"))
    assert gone_shard > 0
    assert sync(p, progress=False)["removed"] == 1
    assert set(shard_of_vectors(p)) == {f"{r}:{i}" for r, i in rows(p, "SELECT record_id, idx FROM sentences")}
    assert check(p, progress=False)["ok"]

    # A vector in the wrong shard is both an orphan there and missing where it belongs: repair fixes both.
    idx = V.VectorIndex.open(p)
    sid = f"{rid}:0"
    vec = idx.sentences.shard(home).get(ids=[sid], include=["embeddings", "metadatas"])
    other = next(k for k in shard_numbers(idx.client, idx.pointer["sentences"]) if k != home)
    idx.sentences.shard(other).add(ids=[sid], embeddings=vec["embeddings"], metadatas=vec["metadatas"])
    idx.sentences.shard(home).delete(ids=[sid])
    report = check(p, progress=False)
    assert (report["orphan_sentences"], report["missing_vectors"], report["ok"]) == (1, 1, False)
    fixed = check(p, repair=True, progress=False)
    assert fixed["after"]["ok"] and shard_of_vectors(p)[sid] == home


def test_rebuild_drops_every_shard_of_the_old_generation(tmp_path, onnx_cache, small_shards):
    p = make_project(tmp_path / "review", onnx_cache, sample_records(8))
    sync(p, progress=False)
    old = V.active_pointer(p)
    client = V.VectorIndex.open(p).client
    assert len(shard_numbers(client, old["sentences"])) >= 2
    sync(p, rebuild=True, progress=False)
    new = V.active_pointer(p)
    names = {c.name for c in V.VectorIndex.open(p).client.list_collections()}
    assert not {n for n in names if n.startswith(old["sentences"])}
    assert {shard_name(new["sentences"], k) for k in shard_numbers(client, new["sentences"])} <= names
    assert check(p, progress=False)["ok"]


def test_an_index_from_before_sharding_is_used_as_shard_zero(tmp_path, onnx_cache):
    p = make_project(tmp_path / "review", onnx_cache, sample_records(6))
    sync(p, progress=False)
    with p.store() as s:  # the index_state table as it was before the shard column
        s.conn.execute("ALTER TABLE index_state DROP COLUMN shard")
        s.conn.execute("PRAGMA user_version = 0")  # as databases from before schema versions are
    out = sync(p, progress=False)
    assert (out["embedded"], out["removed"]) == (0, 0)
    assert {k for (k,) in rows(p, "SELECT DISTINCT shard FROM index_state")} == {0}
    assert check(p, progress=False)["ok"]
    assert json.loads(rows(p, "SELECT value FROM meta WHERE key='index.snapshot_dirty'")[0][0]) == 0
    v = V.VectorIndex.open(p)
    q = np.ones(384, np.float32) / np.sqrt(384)
    assert len(v.nearest("sentences", q, 3, lambda rid: True, lambda hits: len(hits) >= 3)) >= 3


def test_embedded_indexer_lets_each_filled_shard_go(tmp_path, onnx_cache, small_shards, monkeypatch):
    """Memory stays bounded because the indexer closes its embedded client (freeing the HNSW graphs
    Chroma holds in-process) whenever it moves on from a shard, and reopens a fresh one."""
    closed: list[bool] = []
    real = indexer._Session.release

    def spy(self):
        old = self.client
        real(self)
        closed.append(old._closed and self.client is not old)

    monkeypatch.setattr(indexer._Session, "release", spy)
    p = make_project(tmp_path / "review", onnx_cache, sample_records(10))
    sync(p, progress=False)
    shards = len(shard_numbers(V.VectorIndex.open(p).client, V.active_pointer(p)["sentences"]))
    assert shards >= 3 and len(closed) >= shards - 1 and all(closed)
