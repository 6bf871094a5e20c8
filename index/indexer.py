"""Keep the vector index in step with the record store, incrementally by content hash.

sync():  embeds live records whose content hash the index has not seen (records and their
         sentences), replaces a changed record's vectors and `sentences` rows, removes records
         merged away or deleted, refreshes vector metadata (sources, design) that changed
         without the text changing. The model is loaded only when there is something to embed,
         so a re-index with no changes costs a few SQL queries.
check(): compares the store, the index_state table and what Chroma actually holds;
         `repair=True` deletes orphan vectors, forgets what is missing, and re-syncs.

Crash safety: vectors are upserted before the SQLite state row that records them, so a crash
re-embeds at most one chunk; a rebuild fills new collections and switches the pointer last.

Memory: records stream from the store a chunk at a time, and sentence vectors go to bounded
shards (index/shards.py). With embedded Chroma the client is closed and reopened whenever work
moves to another shard, so the process holds one shard's HNSW graph, not the corpus's.
"""

from __future__ import annotations

import ctypes
import os
import time
from itertools import chain, groupby
from typing import Iterable

import numpy as np

from index import snapshot, state
from index import vectors as V
from index.shards import SHARD_VECTORS, Shards, shard_name, shard_numbers
from synth.errors import SynthError
from synth.sentences import split_abstract

CHUNK_RECORDS = 256  # records embedded per step: bounds memory, and is enough to sort batches by length
SMALL_INCREMENT = 2_000  # records: fewer than this are embedded with the ONNX export (see _OnnxEmbedder)


def record_text(rec: dict) -> str:
    """What a record vector embeds: title, then the abstract."""
    return f"{rec.get('title') or ''}\n{rec.get('abstract') or ''}".strip()


def embed(model, texts: list[str], batch_size: int) -> np.ndarray:
    """Embed TEXTS in batches sorted by length (little padding); rows in the input order."""
    if not texts:
        return np.zeros((0, 0), dtype=np.float32)
    order = np.argsort([-len(t) for t in texts], kind="stable")
    out = model.encode([texts[i] for i in order], batch_size=batch_size, normalize_embeddings=True,
                       convert_to_numpy=True, show_progress_bar=False)
    res = np.empty_like(out)
    res[order] = out
    return res.astype(np.float32, copy=False)


def _dim(model) -> int:
    get = getattr(model, "get_embedding_dimension", None) or model.get_sentence_embedding_dimension
    return int(get())


class _OnnxEmbedder:
    """The model's ONNX export (index/onnx_export.py) behind the two calls the indexer makes of a
    sentence-transformers model. A small increment embeds with it and so never imports torch and
    sentence-transformers, ~4 s of a run that embeds a few hundred records. Its vectors agree with
    sentence-transformers' to < 1e-4 (tests/test_index.py); large jobs keep sentence-transformers."""

    def __init__(self, encoder):
        self.encoder = encoder

    def encode(self, texts: list[str], batch_size: int = 32, **_) -> np.ndarray:
        return self.encoder.encode(texts, batch_size=batch_size)

    def count_tokens(self, texts: list[str]) -> int:
        return sum(sum(e.attention_mask) for e in self.encoder.tokenizer.encode_batch(texts))


def _embedder(s: "_Session", todo: int):
    """sentence-transformers, unless only a few records need embedding and the export exists."""
    if s._model is None and todo < SMALL_INCREMENT:
        from index.onnx_export import export_dir, is_exported
        from index.query_encoder import QueryEncoder

        folder = export_dir(s.project, s.target["slug"])
        if is_exported(folder, s.target["model"], s.target["dim"]):
            return _OnnxEmbedder(QueryEncoder(folder))
    return s.model


def trim_heap() -> None:
    """Give freed heap back to the OS. glibc keeps it otherwise, so a closed shard's graph and each
    chunk's tokenizer and activation buffers would stay in RSS and pile up over a long run."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (macOS, musl): nothing to do
        pass


class _Session:
    """One sync: the store, the Chroma client, the target generation, the model (lazily)."""

    def __init__(self, project, model: str | None, chroma_url: str | None, progress: bool):
        self.project = project
        self.store = project.store()
        self.model_name = V.configured_model(project, model)
        self.location = V.chroma_location(project, chroma_url)
        self.client = V.make_client(project, self.location)
        self.batch_size = int(project.section("index").get("batch_size") or 64)
        self.progress = progress
        self._model = None
        self.target: dict | None = None
        self.rec_col = None
        self.sents: Shards | None = None
        self.spill: snapshot.Spill | None = None  # this sync's new vectors, for the search snapshot
        self.superseded: set[str] = set()         # records whose earlier vectors this sync replaced or removed

    @property
    def model(self):
        if self._model is None:
            from index.embedder import load_model

            os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
            try:
                import transformers

                transformers.logging.set_verbosity_error()
                transformers.logging.disable_progress_bar()
            except Exception:  # noqa: BLE001 - cosmetics only
                pass
            self._model = load_model(self.model_name)
        return self._model

    def collections_exist(self, pointer: dict) -> bool:
        try:
            self.client.get_collection(pointer["records"])
            self.client.get_collection(pointer["sentences"])
            return True
        except Exception:  # noqa: BLE001 - NotFoundError differs across chromadb versions
            return False

    def open_target(self, pointer: dict, create: bool) -> None:
        """Open (or create) POINTER's collections as self.rec_col and self.sents."""
        self.target = pointer
        if create:
            self.rec_col = self.client.get_or_create_collection(pointer["records"], metadata=V.collection_metadata(pointer, "records"))
        else:
            self.rec_col = self.client.get_collection(pointer["records"])
        self.sents = Shards(self.client, pointer["sentences"], V.collection_metadata(pointer, "sentences"))
        for name, col in ((pointer["records"], self.rec_col), (pointer["sentences"], self.sents.shard(0, create))):
            pinned = col.metadata or {}
            if pinned.get("synth_model") != pointer["model"] or int(pinned.get("synth_dim", -1)) != pointer["dim"]:
                raise SynthError(f"collection {name} holds model {pinned.get('synth_model')!r}, "
                                 f"not {pointer['model']!r}; run `synth index --rebuild`")

    def release(self) -> None:
        """Embedded Chroma keeps the HNSW graph of every collection it touched in this process:
        close the client (the graphs go with it) and reopen, so memory holds one shard at a time.
        A server holds its graphs itself: nothing to do."""
        if self.location != "embedded":
            return
        self.client.close()
        trim_heap()
        self.client = V.make_client(self.project, self.location)
        self.open_target(self.target, create=False)

    def next_generation(self) -> int:
        gens = [0]
        for kind in ("active", "building"):
            p = V.read_pointer(self.store, self.location, kind)
            if p:
                gens.append(int(p["generation"]))
        for c in self.client.list_collections():
            name = getattr(c, "name", c)
            if name.startswith(f"{V.PREFIX}_records_"):
                try:
                    gens.append(int(name.rsplit("_g", 1)[1]))
                except (IndexError, ValueError):
                    pass
        return max(gens) + 1


def sync(project, rebuild: bool = False, progress: bool = True, model: str | None = None,
         chroma_url: str | None = None) -> dict:
    """Bring the index in step with the store; returns a summary dict."""
    t0 = time.perf_counter()
    s = _Session(project, model, chroma_url, progress)
    try:
        return _sync(s, rebuild, t0)
    finally:
        if s.spill is not None:
            s.spill.close()
        s.store.close()


def _sync(s: _Session, rebuild: bool, t0: float) -> dict:
    store = s.store
    active = V.read_pointer(store, s.location)
    if active and not s.collections_exist(active):
        V.write_pointer(store, s.location, None)  # collections gone (server wiped): start afresh
        state.forget(store, V.gen_key(active))
        active = None
    if active and active.get("model") != s.model_name and not rebuild:
        raise SynthError(
            f"the index was built with model {active['model']!r} (dim {active['dim']}), not {s.model_name!r}; "
            f"run `synth index --rebuild` to re-embed everything with {s.model_name!r}"
        )

    building = V.read_pointer(store, s.location, "building")
    if building and (building.get("model") != s.model_name or not s.collections_exist(building)):
        _drop_generation(s, building)
        V.write_pointer(store, s.location, None, "building")
        building = None

    switching = rebuild or active is None
    if switching:
        target = building
        if target is None:
            from index.embedder import model_slug

            dim = _dim(s.model)
            target = V.new_pointer(s.location, s.model_name, model_slug(s.model_name), dim, s.next_generation())
            V.write_pointer(store, s.location, target, "building")
        create = True
    else:
        target, create = active, False
    s.open_target(target, create)
    gen = V.gen_key(target)
    # The search snapshot is brought up to date from the current one (valid only while nothing has
    # been written since) or, for a generation filled from empty, from this sync's vectors alone.
    # Otherwise (after a crash or a repair) it is read back out of Chroma at the end.
    base = snapshot.Snapshot.load(s.project, store, gen) if s.location == "embedded" else None
    fresh = state.is_empty(store, gen)
    if s.location == "embedded" and (base is not None or fresh):
        s.spill = snapshot.Spill(s.project, target["dim"])

    _ensure_onnx(s, target)
    removed = _remove_orphans(s, gen)
    embedded, sentences, changed, seconds_embedding, tokens = _embed_pending(s, gen)

    if switching:
        old = active
        V.write_pointer(store, s.location, target)
        V.write_pointer(store, s.location, None, "building")
        if old and old["records"] != target["records"]:
            _drop_generation(s, old)
    store.prune_sentences()
    if s.location == "embedded" and snapshot.needs_write(s.project, store, gen):
        n_rec, n_sent = state.totals(store, gen)
        if s.spill is not None:
            pages = {k: (lambda k=k: chain(base.pages(k, s.superseded) if base else (), s.spill.pages(k))) for k in snapshot.KINDS}
        else:
            s.release()  # read back shard by shard: start with nothing resident
            pages = {k: (lambda k=k: _pages(s, k)) for k in snapshot.KINDS}
        snapshot.write(s.project, store, pages, target["dim"], gen, max(n_rec, n_sent))
    total = store.count()
    return {
        "model": target["model"],
        "dim": target["dim"],
        "location": s.location,
        "records_collection": target["records"],
        "sentences_collection": target["sentences"],
        "rebuilt": bool(switching and active is not None),
        "records": total,
        "embedded": embedded,
        "changed": changed,
        "skipped_unchanged": total - embedded,
        "removed": removed,
        "sentences": sentences,
        "seconds": round(time.perf_counter() - t0, 3),
        "seconds_embedding": round(seconds_embedding, 3),
        "tokens": tokens,
    }


def _ensure_onnx(s: _Session, target: dict) -> None:
    from index.onnx_export import export, export_dir, from_cache, is_exported, to_cache

    folder = export_dir(s.project, target["slug"])
    if not is_exported(folder, target["model"], target["dim"]) and not from_cache(folder, target["model"], target["dim"]):
        export(s.model, target["model"], folder)
        to_cache(folder, target["model"], target["dim"])


def _pages(s: _Session, kind: str, batch: int = 1000):
    """(ids, matrix) pages of every vector of KIND, one sentence shard resident at a time."""
    if kind == "records":
        yield from V.VectorIndex._iter(s.rec_col, batch, False)
        return
    for k in shard_numbers(s.client, s.target["sentences"]):
        yield from V.VectorIndex._iter(s.sents.shard(k), batch, False)
        s.release()


def _drop_generation(s: _Session, pointer: dict) -> None:
    names = [pointer["records"]] + [shard_name(pointer["sentences"], k) for k in shard_numbers(s.client, pointer["sentences"])]
    for name in names:
        try:
            s.client.delete_collection(name)
        except Exception:  # noqa: BLE001 - already gone
            pass
    state.forget(s.store, V.gen_key(pointer))


def _sentence_ids(record_id: str, n: Iterable[int] | int) -> list[str]:
    rng = range(n) if isinstance(n, int) else n
    return [f"{record_id}:{i}" for i in rng]


def _delete_ids(col, ids: list[str], chunk: int = 2000) -> None:
    for i in range(0, len(ids), chunk):
        col.delete(ids=ids[i:i + chunk])


def _remove_orphans(s: _Session, gen: str) -> int:
    """Records merged away or deleted in the store leave the index (shard by shard)."""
    rows = state.orphans(s.store, gen)
    if rows:
        snapshot.mark_dirty(s.store)
    for shard, group in groupby(rows, key=lambda r: r[2]):
        mine = list(group)
        for i in range(0, len(mine), 500):
            part = mine[i:i + 500]
            ids = [r[0] for r in part]
            s.superseded.update(ids)
            _delete_ids(s.rec_col, ids)
            _delete_ids(s.sents.shard(shard, create=True), [sid for r in part for sid in _sentence_ids(r[0], r[1])])
            with s.store.transaction():
                state.drop(s.store, gen, ids)
        s.release()
    return len(rows)


def _embed_pending(s: _Session, gen: str) -> tuple[int, int, int, float, int]:
    from synth.progress import progress_bar

    store = s.store
    todo = state.pending_count(store, gen)
    if todo == 0:
        return 0, 0, 0, 0.0, 0
    model = _embedder(s, todo)
    max_batch = _max_batch(s.client)
    # New records fill the last shard until it holds SHARD_VECTORS sentences, then open the next.
    shard, fill = state.last_shard(store, gen)
    totals = [0, 0, 0, 0.0, 0]  # embedded, sentences, changed, seconds embedding, tokens

    def step(chunk: list[dict]) -> None:
        nonlocal shard, fill
        if fill >= SHARD_VECTORS:
            shard, fill = shard + 1, 0
        *got, added, touched = _embed_chunk(s, gen, chunk, model, shard, max_batch)
        for i, v in enumerate(got):
            totals[i] += v
        fill += added
        if touched - {shard} or fill >= SHARD_VECTORS:
            s.release()  # moving on from a shard: let its graph go
        else:
            trim_heap()

    with progress_bar(s.progress) as bar:
        task = bar.add_task(f"Embedding {todo:,} records", total=todo, unit="records")
        chunk: list[dict] = []
        for rec in state.pending(store, gen, CHUNK_RECORDS):
            chunk.append(rec)
            if len(chunk) >= CHUNK_RECORDS:
                step(chunk)
                bar.advance(task, len(chunk))
                chunk = []
        if chunk:
            step(chunk)
            bar.advance(task, len(chunk))
    embedded, sentences_written, changed, t_embed, tokens = totals
    return embedded, sentences_written, changed, t_embed, tokens


def _max_batch(client) -> int:
    try:
        return max(1, min(5000, int(client.get_max_batch_size())))
    except Exception:  # noqa: BLE001 - older clients
        return 1000


def _upsert(col, ids, vecs, mds, max_batch: int) -> None:
    for i in range(0, len(ids), max_batch):
        col.upsert(ids=ids[i:i + max_batch], embeddings=vecs[i:i + max_batch], metadatas=mds[i:i + max_batch])


def _embed_chunk(s: _Session, gen: str, chunk: list[dict], model, shard: int, max_batch: int):
    """Embed CHUNK: new records' sentences go to SHARD, a changed record's stay in its own shard.
    Returns the counts, the sentences added to SHARD, and the shards touched."""
    store = s.store
    snapshot.mark_dirty(store)  # before any vector is written: the search snapshot is stale from here
    ids = [r["id"] for r in chunk]
    prev_rows = state.of_records(store, gen, ids)
    prev = {r[0]: r[1] for r in prev_rows}
    home = {rid: shard for rid in ids} | {r[0]: r[2] for r in prev_rows}

    # Record texts first, then all sentence texts: vecs[:n_rec] and vecs[n_rec:] below rely on this order.
    rec_texts: list[str] = []
    sent_texts: list[str] = []
    rec_mds: list[dict] = []
    sent_ids: list[str] = []
    sent_mds: list[dict] = []
    splits: dict[str, list] = {}
    for rec in chunk:
        # Only the record id: filters read the store (index/vectors.py nearest), never vector metadata.
        md = {"record_id": rec["id"]}
        rec_mds.append(md)
        rec_texts.append(record_text(rec))
        sents = split_abstract(rec.get("abstract") or "")
        splits[rec["id"]] = sents
        for sen in sents:
            sent_ids.append(f"{rec['id']}:{sen.idx}")
            sent_mds.append({**md, "idx": sen.idx})
            sent_texts.append(sen.text)
    texts = rec_texts + sent_texts

    t = time.perf_counter()
    vecs = embed(model, texts, s.batch_size)
    dt = time.perf_counter() - t
    tokens = _count_tokens(model, texts)
    n_rec = len(chunk)
    s.superseded.update(prev)
    if s.spill is not None:
        s.spill.add("records", ids, vecs[:n_rec])
        s.spill.add("sentences", sent_ids, vecs[n_rec:])
    _upsert(s.rec_col, ids, vecs[:n_rec], rec_mds, max_batch)
    sent_home = np.array([home[sid.rsplit(":", 1)[0]] for sid in sent_ids], dtype=np.int64)
    for k in sorted(set(home.values())):
        rows = np.flatnonzero(sent_home == k)
        if len(rows):
            _upsert(s.sents.shard(k, create=True), [sent_ids[i] for i in rows], vecs[n_rec:][rows], [sent_mds[i] for i in rows], max_batch)
        # A changed record with fewer sentences than before: drop the tail.
        stale = [sid for rid, n_old in prev.items() if home[rid] == k for sid in _sentence_ids(rid, range(len(splits[rid]), n_old))]
        if stale:
            _delete_ids(s.sents.shard(k, create=True), stale)
    added = sum(len(splits[rid]) - prev.get(rid, 0) for rid in ids if home[rid] == shard)

    with store.transaction():
        for rec in chunk:
            rid = rec["id"]
            store.put_sentences(rid, [(rid, x.idx, x.section, x.text) for x in splits[rid]])
        state.put(store, gen, [(rec["id"], rec["content_hash"], len(splits[rec["id"]]), home[rec["id"]]) for rec in chunk])
    return n_rec, len(sent_ids), len(prev), dt, tokens, added, set(home.values())


def _count_tokens(model, texts: list[str]) -> int:
    """Tokens actually run through the transformer (after truncation), for the GFLOP/s figure."""
    if isinstance(model, _OnnxEmbedder):
        return model.count_tokens(texts)
    tok = model.tokenizer
    enc = tok(texts, add_special_tokens=True, truncation=True, max_length=model.max_seq_length)["input_ids"]
    return sum(len(e) for e in enc)


# ---------------------------------------------------------------------- check
def _all_ids(col, page: int = 5000) -> set[str]:
    out: set[str] = set()
    offset = 0
    while True:
        got = col.get(include=[], limit=page, offset=offset)
        if not got["ids"]:
            return out
        out.update(got["ids"])
        offset += len(got["ids"])


def check(project, repair: bool = False, chroma_url: str | None = None, progress: bool = True) -> dict:
    """Disagreements between the store and the index; with REPAIR, fix them and say what was done."""
    s = _Session(project, None, chroma_url, progress)
    try:
        store = s.store
        active = V.read_pointer(store, s.location)
        if active is None:
            n = store.count()
            report = {"location": s.location, "index": None, "records": n, "missing": n, "stale": 0,
                      "orphan_records": 0, "orphan_sentences": 0, "missing_vectors": 0, "ok": n == 0}
            if repair and n:
                report["repaired"] = sync(project, progress=progress, chroma_url=chroma_url)
                report["after"] = check(project, chroma_url=chroma_url, progress=False)
            return report
        V.check_model(project, active)
        if not s.collections_exist(active):
            raise SynthError(f"the index collections are missing at {s.location}; run `synth index --rebuild`")
        s.open_target(active, create=False)
        gen = V.gen_key(active)
        live_hash = store.content_hashes()
        embedded = state.all_of(store, gen)
        rec_ids = _all_ids(s.rec_col)
        sent_ids: set[tuple[str, int]] = set()  # (sentence id, shard): a vector in the wrong shard counts as orphan + lost
        for k in shard_numbers(s.client, active["sentences"]):
            sent_ids |= {(sid, k) for sid in _all_ids(s.sents.shard(k))}
            s.release()
        missing = [rid for rid in live_hash if rid not in embedded]
        stale = [rid for rid, h in live_hash.items() if rid in embedded and embedded[rid][0] != h]
        expected_sent = {(sid, k) for rid, (_, n, k) in embedded.items() if rid in live_hash for sid in _sentence_ids(rid, n)}
        orphan_recs = sorted(rec_ids - set(live_hash))
        orphan_sents = sorted(sent_ids - expected_sent)
        lost = sorted({rid for rid in embedded if rid in live_hash and rid not in rec_ids}
                      | {sid.rsplit(":", 1)[0] for sid, _ in expected_sent - sent_ids})
        sentence_rows = store.sentence_counts()
        bad_rows = sorted(rid for rid, (h, n, _) in embedded.items() if rid in live_hash and h == live_hash[rid] and sentence_rows.get(rid, 0) != n)
        report = {
            "location": s.location, "index": active["records"], "model": active["model"],
            "records": len(live_hash), "record_vectors": len(rec_ids), "sentence_vectors": len(sent_ids),
            "missing": len(missing), "stale": len(stale), "orphan_records": len(orphan_recs),
            "orphan_sentences": len(orphan_sents), "missing_vectors": len(lost), "sentence_rows_mismatch": len(bad_rows),
        }
        report["ok"] = not any(report[k] for k in ("missing", "stale", "orphan_records", "orphan_sentences", "missing_vectors", "sentence_rows_mismatch"))
        report["examples"] = (missing + stale + orphan_recs + [sid for sid, _ in orphan_sents] + lost + bad_rows)[:5]
        if repair and not report["ok"]:
            snapshot.mark_dirty(store)
            _delete_ids(s.rec_col, orphan_recs)
            for k in sorted({k for _, k in orphan_sents}):
                _delete_ids(s.sents.shard(k), [sid for sid, kk in orphan_sents if kk == k])
                s.release()
            redo = set(lost) | set(bad_rows)
            with store.transaction():
                state.drop(store, gen, [r for r in embedded if r not in live_hash])
                # Re-embedded as changed records: into the shard that holds them, replacing what is left there.
                state.invalidate(store, gen, sorted(redo))
            s.client.close()  # the sync below opens its own; holding this one would keep its graphs resident
            report["repaired"] = sync(project, progress=progress, chroma_url=chroma_url)
            report["after"] = check(project, chroma_url=chroma_url, progress=False)
        return report
    finally:
        s.store.close()
