"""Embed queries with onnxruntime + tokenizers: no torch, no sentence-transformers.

`synth index` exports the same model to data/models/<slug>/ (see index.onnx_export);
this loads it in well under a second, so a cold `synth search` stays fast.
"""

from __future__ import annotations

import json
import threading
from pathlib import Path

import numpy as np

from synth.errors import SynthError


class QueryEncoder:
    def __init__(self, folder: str | Path, threads: int | None = None):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        folder = Path(folder)
        self.folder = folder
        try:
            self.info = json.loads((folder / "encoder.json").read_text())
        except (OSError, ValueError):
            raise SynthError(f"no exported query model in {folder}; run `synth index` to build it") from None
        self.model = self.info["model"]
        self.dim = int(self.info["dim"])
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        # Same truncation as sentence-transformers (max_seq_length), pad to the longest in the batch.
        self.tokenizer.enable_truncation(max_length=int(self.info["max_seq_length"]))
        self.tokenizer.enable_padding(pad_id=int(self.info["pad_id"]), pad_token=self.info["pad_token"])
        opts = ort.SessionOptions()
        opts.log_severity_level = 3
        if self.info.get("optimized"):
            opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL  # done at export time
        if threads:
            opts.intra_op_num_threads = threads
        self.inputs = list(self.info["inputs"])
        # Loading the graph (~0.3 s) releases the GIL: do it in the background so a caller can
        # open Chroma (importing chromadb takes ~1 s) meanwhile; encode() waits for it.
        self._session = None
        self._error: BaseException | None = None
        path = str(folder / "model.onnx")

        def load():
            try:
                self._session = ort.InferenceSession(path, sess_options=opts, providers=["CPUExecutionProvider"])
            except BaseException as e:  # noqa: BLE001 - re-raised in the caller's thread
                self._error = e

        self._loader = threading.Thread(target=load, name="onnx-load", daemon=True)
        self._loader.start()

    @property
    def session(self):
        if self._session is None:
            self._loader.join()
            if self._error is not None:
                raise SynthError(f"cannot load the query model in {self.folder}: {self._error}; run `synth index` to re-export it")
        return self._session

    @classmethod
    def for_project(cls, project, model: str | None = None) -> "QueryEncoder":
        """The encoder for the project's active index; a model other than the index's is an error."""
        from index.vectors import active_pointer, check_model

        pointer = active_pointer(project)
        if pointer is None:
            raise SynthError("no vector index yet; run `synth index` first")
        check_model(project, pointer, model)
        from index.onnx_export import export_dir

        return cls(export_dir(project, pointer["slug"]))

    def encode(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """L2-normalised float32 embeddings, one row per text."""
        if isinstance(texts, str):
            texts = [texts]
        out = []
        for i in range(0, len(texts), batch_size):
            enc = self.tokenizer.encode_batch(list(texts[i:i + batch_size]))
            feeds = {
                "input_ids": np.array([e.ids for e in enc], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask for e in enc], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids for e in enc], dtype=np.int64),
            }
            out.append(self.session.run(["embedding"], {k: feeds[k] for k in self.inputs})[0])
        if not out:
            return np.zeros((0, self.dim), dtype=np.float32)
        emb = np.concatenate(out).astype(np.float32, copy=False)
        # The graph normalises already; renormalise for float safety.
        return emb / np.maximum(np.linalg.norm(emb, axis=1, keepdims=True), 1e-12)
