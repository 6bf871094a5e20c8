"""Chroma collections for records and evidence sentences, and which ones are live.

Layout (per Chroma location: the embedded store in data/chroma, or a server URL):
  synth_records_<model-slug>_g<N>    one vector per record (title + abstract), id = record id
  synth_sentences_<model-slug>_g<N>  one vector per abstract sentence, id = f"{record_id}:{idx}",
                                     in shards of bounded size (..._g<N>, ..._g<N>_s1, ...; index/shards.py)
Metadata on every vector: record_id, year (absent when unknown), sources (list), design
(absent until inferred); sentences add idx and section. The collection metadata pins the
model's name and dimension. Which generation is live is a pointer in the store's meta
table (`index.active.<location>`), so `synth index --rebuild` fills generation N+1 while
N keeps answering searches, and switches over only when N+1 is complete.

Nothing here imports torch: search opens the index with `VectorIndex.open(project)`.
"""

from __future__ import annotations

import json
from typing import Iterator, Sequence
from urllib.parse import urlparse

import numpy as np

from synth.errors import SynthError

PREFIX = "synth"
# ---------------------------------------------------------------------- configuration
def canonical_model(name: str | None) -> str:
    from index.embedder import DEFAULT_MODEL, _BUNDLED

    name = (name or DEFAULT_MODEL).strip()
    return DEFAULT_MODEL if name.lower() in _BUNDLED else name


def configured_model(project, model: str | None = None) -> str:
    return canonical_model(model or project.section("index").get("model"))


def chroma_location(project, chroma_url: str | None = None) -> str:
    """'embedded', or the server URL (from --chroma-url or [index] chroma_url)."""
    url = (chroma_url or project.section("index").get("chroma_url") or "").strip().rstrip("/")
    return url or "embedded"


def make_client(project, location: str):
    import chromadb
    from chromadb.config import Settings

    settings = Settings(anonymized_telemetry=False)
    if location == "embedded":
        project.chroma_dir.mkdir(parents=True, exist_ok=True)
        return chromadb.PersistentClient(path=str(project.chroma_dir), settings=settings)
    u = urlparse(location if "://" in location else f"http://{location}")
    if u.scheme not in ("http", "https") or not u.hostname:
        raise SynthError(f"invalid chroma_url {location!r}; expected http://host:port")
    try:
        client = chromadb.HttpClient(host=u.hostname, port=u.port or (443 if u.scheme == "https" else 8000),
                                     ssl=u.scheme == "https", settings=settings)
        client.heartbeat()
    except Exception as e:  # noqa: BLE001 - connection problems are the user's to fix
        raise SynthError(f"cannot reach the Chroma server at {location}: {type(e).__name__}") from None
    return client


# ---------------------------------------------------------------------- pointers
def _key(kind: str, location: str) -> str:
    return f"index.{kind}.{location}"


def read_pointer(store, location: str, kind: str = "active") -> dict | None:
    raw = store.get_meta(_key(kind, location))
    return json.loads(raw) if raw else None


def write_pointer(store, location: str, pointer: dict | None, kind: str = "active") -> None:
    if pointer is None:
        store.delete_meta(_key(kind, location))
    else:
        store.set_meta(_key(kind, location), json.dumps(pointer, sort_keys=True))


def active_pointer(project, chroma_url: str | None = None) -> dict | None:
    """The live index's pointer for this project's Chroma location (None before `synth index`)."""
    from synth.store import read_meta

    if not project.db_path.exists():
        return None
    raw = read_meta(project.db_path, _key("active", chroma_location(project, chroma_url)))
    return json.loads(raw) if raw else None


def check_model(project, pointer: dict, model: str | None = None) -> None:
    wanted = configured_model(project, model)
    if wanted != pointer["model"]:
        where = "--model" if model else "synth.toml [index] model"
        raise SynthError(
            f"the index was built with model {pointer['model']!r} (dim {pointer['dim']}) but {where} is {wanted!r}; "
            f"run `synth index --rebuild` to re-embed with {wanted!r}, or set the model back"
        )


def new_pointer(location: str, model: str, slug: str, dim: int, generation: int) -> dict:
    return {
        "location": location, "model": model, "slug": slug, "dim": dim, "generation": generation,
        "records": f"{PREFIX}_records_{slug}_g{generation}",
        "sentences": f"{PREFIX}_sentences_{slug}_g{generation}",
    }


def gen_key(pointer: dict) -> str:
    return f"{pointer['location']}|{pointer['records']}"


# ---------------------------------------------------------------------- the index
class VectorIndex:
    """The live record and sentence collections of a project."""

    def __init__(self, project, client, pointer: dict, records, sentences):
        self.project = project
        self.client = client
        self.pointer = pointer
        self.records = records
        self.sentences = sentences
        self.model = pointer["model"]
        self.dim = pointer["dim"]

    @classmethod
    def open(cls, project, chroma_url: str | None = None, model: str | None = None) -> "VectorIndex":
        """The live index; a clear error if there is none or it was built with another model."""
        location = chroma_location(project, chroma_url)
        pointer = active_pointer(project, chroma_url)
        if pointer is None:
            raise SynthError("no vector index yet; run `synth index` first")
        check_model(project, pointer, model)
        client = make_client(project, location)
        from index.shards import Shards

        try:
            records = client.get_collection(pointer["records"])
            sentences = Shards(client, pointer["sentences"])
            sentences.shard(0)
        except Exception:  # noqa: BLE001 - chromadb raises NotFoundError/ValueError by version
            raise SynthError(f"the vector index at {location} is missing its collections; run `synth check --repair`") from None
        pinned = records.metadata or {}
        if pinned.get("synth_model") != pointer["model"] or int(pinned.get("synth_dim", -1)) != pointer["dim"]:
            raise SynthError(
                f"collection {pointer['records']} holds model {pinned.get('synth_model')!r}, not {pointer['model']!r}; "
                "run `synth index --rebuild`"
            )
        return cls(project, client, pointer, records, sentences)

    def collection(self, kind: str):
        if kind not in ("records", "sentences"):
            raise ValueError(f"kind must be 'records' or 'sentences', not {kind!r}")
        return self.records if kind == "records" else self.sentences

    # -------------------------------------------------------------- reading vectors
    def iter_sentence_vectors(self, batch: int = 1000, with_metadata: bool = False) -> Iterator[tuple]:
        """(ids, float32 matrix[, metadatas]) pages over every sentence vector: bounded memory."""
        yield from self._iter(self.sentences, batch, with_metadata)

    def iter_record_vectors(self, batch: int = 1000, with_metadata: bool = False) -> Iterator[tuple]:
        yield from self._iter(self.records, batch, with_metadata)

    @staticmethod
    def _iter(col, batch: int, with_metadata: bool):
        include = ["embeddings", "metadatas"] if with_metadata else ["embeddings"]
        offset = 0
        while True:
            got = col.get(include=include, limit=batch, offset=offset)
            if not got["ids"]:
                return
            mat = np.asarray(got["embeddings"], dtype=np.float32)
            yield (got["ids"], mat, got["metadatas"]) if with_metadata else (got["ids"], mat)
            offset += len(got["ids"])

    def get_vectors(self, ids: Sequence[str], kind: str = "sentences") -> tuple[list[str], np.ndarray]:
        """Vectors for IDS in the order asked; ids not in the index are left out of the result."""
        ids = list(ids)
        if not ids:
            return [], np.zeros((0, self.dim), dtype=np.float32)
        got = self.collection(kind).get(ids=ids, include=["embeddings"])
        pos = {i: n for n, i in enumerate(got["ids"])}
        found = [i for i in ids if i in pos]
        mat = np.asarray(got["embeddings"], dtype=np.float32)
        if not found:
            return [], np.zeros((0, self.dim), dtype=np.float32)
        return found, mat[[pos[i] for i in found]]

    # -------------------------------------------------------------- querying
    def nearest(self, kind: str, q: np.ndarray, want: int, ok, enough, allowed: set[str] | None = None,
                snapshot=None) -> list[tuple[str, float, dict]]:
        """index.vectors.nearest over this index's collection of KIND."""
        return nearest(kind, q, want, ok, enough, allowed, snapshot, lambda: self.collection(kind))


def nearest(kind: str, q: np.ndarray, want: int, ok, enough, allowed: set[str] | None = None, snapshot=None,
            collection=None) -> list[tuple[str, float, dict]]:
    """The one vector search `synth search` and `synth similar` run: nearest vectors of KIND
    (id, cosine similarity, {record_id[, idx]}) whose record passes `ok(record_id)`, best first.

    With a SNAPSHOT (index/snapshot.py: the numpy copy cold searches read) the search is exact and
    widens until `enough(hits)`; COLLECTION (a callable giving the Chroma collection, so that a
    search served by the snapshot never imports chromadb) is then never called. Otherwise Chroma's
    HNSW result is over-fetched and filtered by `ok`, widening up to OVERFETCH_LIMIT: a Chroma
    `where` would cost 115-150 ms per query at 100,000 vectors (it scans metadata before the HNSW
    search) against ~4 ms for an unfiltered fetch of 200 ids. A filter that almost nothing passes
    (ALLOWED, the ids a filter lets through) is pushed into Chroma as ids instead. See docs/index.md.
    """
    if snapshot is not None:
        total, n = snapshot.count(kind), min(snapshot.count(kind), want)
        while True:
            hits = [_hit(i, sc) for i, sc in snapshot.ranked(kind, q, n)]
            hits = [h for h in hits if ok(h[2]["record_id"])]
            if enough(hits) or n >= total:
                return hits
            n = min(total, n * 4)
    col = collection()
    total = col.count()
    if total == 0:
        return []
    vec = [np.asarray(q, dtype=np.float32).tolist()]
    n = min(total, want)
    while True:
        hits = [h for h in _hits(col.query(query_embeddings=vec, n_results=n, include=["distances"]))
                if ok(h[2]["record_id"])]
        if enough(hits) or n >= total:
            return hits
        if allowed is None or n >= OVERFETCH_LIMIT:
            break
        n = min(total, n * 4)
    if allowed is None:
        return hits
    ids = sorted(r for r in allowed if ok(r))
    if not ids:
        return []
    if kind == "records":
        res = col.query(query_embeddings=vec, n_results=min(want, len(ids)), ids=ids, include=["distances"])
    else:
        res = col.query(query_embeddings=vec, n_results=min(want, total), where={"record_id": {"$in": ids}},
                        include=["distances"])
    return [h for h in _hits(res) if ok(h[2]["record_id"])]


def _hits(res) -> list[tuple[str, float, dict]]:
    """(id, cosine similarity, {record_id, idx}) -- parsed from the id (`record_id` or `record_id:idx`):
    asking Chroma for metadata costs more than the whole vector search at 100k records."""
    return [_hit(i, 1.0 - float(d)) for i, d in zip(res["ids"][0], res["distances"][0])]


def _hit(vector_id: str, score: float) -> tuple[str, float, dict]:
    rid, _, idx = vector_id.partition(":")
    return vector_id, score, ({"record_id": rid, "idx": int(idx)} if idx else {"record_id": rid})


OVERFETCH_LIMIT = 800  # an unfiltered fetch of 800 costs ~11 ms at 100k vectors; past that, pre-filter ids


def collection_metadata(pointer: dict, kind: str) -> dict:
    return {
        "hnsw:space": "cosine",
        "synth_kind": kind,
        "synth_model": pointer["model"],
        "synth_dim": int(pointer["dim"]),
        "synth_generation": int(pointer["generation"]),
    }
