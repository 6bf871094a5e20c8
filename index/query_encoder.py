"""Embed queries with onnxruntime + tokenizers: no torch, no sentence-transformers.

`synth index` exports the same model to data/models/<slug>/ (see index.onnx_export);
this loads it in well under a second, so a cold `synth search` stays fast.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from synth.errors import SynthError


class QueryEncoder:
    def __init__(self, folder: str | Path, threads: int | None = None):
        import onnxruntime as ort
        from tokenizers import Tokenizer

        folder = Path(folder)
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
        if threads:
            opts.intra_op_num_threads = threads
        self.session = ort.InferenceSession(str(folder / "model.onnx"), sess_options=opts, providers=["CPUExecutionProvider"])
        self.inputs = list(self.info["inputs"])

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
