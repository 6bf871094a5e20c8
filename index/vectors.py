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
from dataclasses import dataclass
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
        store.conn.execute("DELETE FROM meta WHERE key=?", (_key(kind, location),))
    else:
        store.set_meta(_key(kind, location), json.dumps(pointer, sort_keys=True))


def active_pointer(project, chroma_url: str | None = None) -> dict | None:
    """The live index's pointer for this project's Chroma location (None before `synth index`)."""
    import sqlite3

    if not project.db_path.exists():
        return None
    conn = sqlite3.connect(f"file:{project.db_path}?mode=ro", uri=True, timeout=30)
    try:
        row = conn.execute("SELECT value FROM meta WHERE key=?", (_key("active", chroma_location(project, chroma_url)),)).fetchone()
    except sqlite3.OperationalError:
        return None
    finally:
        conn.close()
    return json.loads(row[0]) if row else None


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


# ---------------------------------------------------------------------- metadata
def record_metadata(rec: dict, sources: Sequence[str]) -> dict:
    md: dict = {"record_id": rec["id"], "sources": sorted(sources) or ["unknown"]}
    if rec.get("year"):
        md["year"] = int(rec["year"])
    if rec.get("design"):
        md["design"] = rec["design"]
    return md


def meta_hash(md: dict) -> str:
    import hashlib

    payload = json.dumps([md.get("year"), md.get("sources"), md.get("design")], sort_keys=True)
    return hashlib.sha1(payload.encode()).hexdigest()[:12]


@dataclass
class Filter:
    """Search filters, applied to vector metadata (year range inclusive; any of sources/designs)."""

    year_from: int | None = None
    year_to: int | None = None
    sources: Sequence[str] | None = None
    designs: Sequence[str] | None = None

    def __bool__(self) -> bool:
        return bool(self.year_from or self.year_to or self.sources or self.designs)

    def matches(self, md: dict) -> bool:
        y = md.get("year")
        if self.year_from and (y is None or y < self.year_from):
            return False
        if self.year_to and (y is None or y > self.year_to):
            return False
        if self.sources and not set(self.sources) & set(md.get("sources") or ()):
            return False
        if self.designs and md.get("design") not in set(self.designs):
            return False
        return True

    def where(self) -> dict | None:
        """The same filter as a Chroma `where` clause, for callers that want it (slow at scale: see query())."""
        parts: list[dict] = []
        if self.year_from:
            parts.append({"year": {"$gte": int(self.year_from)}})
        if self.year_to:
            parts.append({"year": {"$lte": int(self.year_to)}})
        if self.sources:
            src = [{"sources": {"$contains": s}} for s in self.sources]
            parts.append(src[0] if len(src) == 1 else {"$or": src})
        if self.designs:
            parts.append({"design": {"$in": list(self.designs)}})
        if not parts:
            return None
        return parts[0] if len(parts) == 1 else {"$and": parts}


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
    def query(self, vector: np.ndarray, k: int = 10, kind: str = "records", filter: Filter | None = None) -> list[tuple[str, float]]:
        """Top K (id, cosine similarity) for one query vector, best first.

        Filters are checked against the record store, not Chroma's `where`: at 100,000 vectors
        `where` costs 115-150 ms per query (it scans metadata before the HNSW search) while an
        unfiltered HNSW fetch of 200 ids costs ~4 ms. So the HNSW result is over-fetched and
        filtered by primary key in SQLite, widening the fetch until K hits pass; a filter that
        almost nothing passes pre-filters ids in SQLite instead (few ids: a cheap exact search).
        See docs/index.md for the measurements.
        """
        col = self.collection(kind)
        total = self._count(kind)
        if total == 0 or k <= 0:
            return []
        vec = np.asarray(vector, dtype=np.float32).reshape(1, -1)
        if not filter:
            return self._hits(col.query(query_embeddings=vec, n_results=min(k, total), include=["distances"]))
        n = min(total, max(5 * k, 50))
        while True:
            hits = self._hits(col.query(query_embeddings=vec, n_results=n, include=["distances"]))
            ok = self._passing([h[0] for h in hits], kind, filter)
            passed = [h for h in hits if h[0] in ok]
            if len(passed) >= k or n >= total:
                return passed[:k]
            # Widen to what the observed pass rate says is needed; give up early when that is too many.
            need = int(k * n / len(passed) * 1.5) if passed else OVERFETCH_LIMIT + 1
            if n >= OVERFETCH_LIMIT or need > OVERFETCH_LIMIT:
                break
            n = min(total, max(need, n * 2))
        allowed = self._allowed_ids(kind, filter)
        if not allowed:
            return []
        return self._hits(col.query(query_embeddings=vec, n_results=min(k, len(allowed)), ids=allowed, include=["distances"]))

    def _count(self, kind: str) -> int:
        counts = self.__dict__.setdefault("_counts", {})
        if kind not in counts:
            counts[kind] = self.collection(kind).count()
        return counts[kind]

    @staticmethod
    def _hits(res) -> list[tuple[str, float]]:
        return [(i, 1.0 - float(d)) for i, d in zip(res["ids"][0], res["distances"][0])]

    def _conn(self):
        if getattr(self, "_db", None) is None:
            import sqlite3

            self._db = sqlite3.connect(f"file:{self.project.db_path}?mode=ro", uri=True, timeout=30, check_same_thread=False)
        return self._db

    @staticmethod
    def _filter_sql(filter: Filter) -> tuple[str, list]:
        sql, params = ["r.merged_into IS NULL"], []
        if filter.year_from:
            sql.append("r.year >= ?")
            params.append(int(filter.year_from))
        if filter.year_to:
            sql.append("r.year <= ?")
            params.append(int(filter.year_to))
        if filter.designs:
            sql.append(f"r.design IN ({','.join('?' * len(filter.designs))})")
            params.extend(filter.designs)
        if filter.sources:
            sql.append(f"EXISTS (SELECT 1 FROM provenance p WHERE p.record_id=r.id AND p.source IN ({','.join('?' * len(filter.sources))}))")
            params.extend(filter.sources)
        return " AND ".join(sql), params

    def _passing(self, ids: list[str], kind: str, filter: Filter) -> set[str]:
        """The ids (record or sentence ids) whose record passes FILTER, by primary-key lookups."""
        rids = {i: (i.rsplit(":", 1)[0] if kind == "sentences" else i) for i in ids}
        uniq = list(set(rids.values()))
        cond, params = self._filter_sql(filter)
        ok = {r[0] for r in self._conn().execute(
            f"SELECT r.id FROM records r WHERE r.id IN ({','.join('?' * len(uniq))}) AND {cond}", (*uniq, *params))}
        return {i for i, rid in rids.items() if rid in ok}

    def _allowed_ids(self, kind: str, filter: Filter) -> list[str]:
        cond, params = self._filter_sql(filter)
        if kind == "records":
            q = f"SELECT r.id FROM records r WHERE {cond}"
        else:
            q = f"SELECT s.record_id || ':' || s.idx FROM sentences s JOIN records r ON r.id=s.record_id WHERE {cond}"
        return [r[0] for r in self._conn().execute(q, params)]


OVERFETCH_LIMIT = 800  # an unfiltered fetch of 800 costs ~11 ms at 100k vectors; past that, pre-filter ids


def collection_metadata(pointer: dict, kind: str) -> dict:
    return {
        "hnsw:space": "cosine",
        "synth_kind": kind,
        "synth_model": pointer["model"],
        "synth_dim": int(pointer["dim"]),
        "synth_generation": int(pointer["generation"]),
    }
