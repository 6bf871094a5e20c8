"""Export the embedding model to ONNX at index time, for the torch-free query path.

The whole sentence-transformers pipeline after tokenisation (transformer, pooling,
normalisation, any dense layers) is traced into one graph, so the query encoder needs
only onnxruntime and the `tokenizers` library and cannot drift from the index-time
configuration. Files: data/models/<slug>/{model.onnx, tokenizer.json, encoder.json}.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from synth.errors import SynthError

FORMAT = 2  # bump when the export layout changes, to re-export old folders


def models_dir(project) -> Path:
    return project.data_dir / "models"


def export_dir(project, slug: str) -> Path:
    return models_dir(project) / slug


def is_exported(folder: Path, model_name: str, dim: int) -> bool:
    try:
        info = json.loads((folder / "encoder.json").read_text())
    except (OSError, ValueError):
        return False
    return (info.get("format") == FORMAT and info.get("model") == model_name and info.get("dim") == dim
            and (folder / "model.onnx").exists() and (folder / "tokenizer.json").exists())


def _cached(model_name: str, dim: int) -> Path | None:
    import hashlib

    from synth.cache import cache_dir, model_key

    root = cache_dir()
    key = hashlib.sha1(f"{model_key(model_name)}\0{dim}\0{FORMAT}".encode()).hexdigest()[:16]
    return root / "onnx" / key if root else None


def _copy(src: Path, dst: Path) -> bool:
    """SRC's files as DST, swapped in whole (a copy cut short never looks like an export)."""
    import shutil

    tmp = dst.with_name(dst.name + f".tmp{os.getpid()}")
    try:
        shutil.rmtree(tmp, ignore_errors=True)
        shutil.copytree(src, tmp)
        shutil.rmtree(dst, ignore_errors=True)
        tmp.rename(dst)
        return True
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        return False


def from_cache(folder: Path, model_name: str, dim: int) -> bool:
    """Copy an export of this model made for another project (synth/cache.py) into FOLDER."""
    src = _cached(model_name, dim)
    return (src is not None and is_exported(src, model_name, dim) and _copy(src, Path(folder))
            and is_exported(folder, model_name, dim))


def to_cache(folder: Path, model_name: str, dim: int) -> None:
    """Keep FOLDER's export for the next project; a failure only costs the next one an export."""
    dst = _cached(model_name, dim)
    if dst is not None and not is_exported(dst, model_name, dim):
        _copy(Path(folder), dst)


def export(st_model, model_name: str, folder: Path) -> Path:
    """Write model.onnx + tokenizer.json + encoder.json into FOLDER (atomically replaced)."""
    import torch

    folder = Path(folder)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = folder.with_name(folder.name + f".tmp{os.getpid()}")
    tmp.mkdir(parents=True, exist_ok=True)

    tok = st_model.tokenizer
    if not getattr(tok, "is_fast", False) or not hasattr(tok, "backend_tokenizer"):
        raise SynthError(f"model {model_name!r} has no fast tokenizer; the ONNX query path needs one")
    sample = tok(["a query to trace the graph", "two"], padding=True, return_tensors="pt")
    input_names = [n for n in ("input_ids", "attention_mask", "token_type_ids") if n in sample]

    class Pipeline(torch.nn.Module):
        def __init__(self, st):
            super().__init__()
            self.st = st

        def forward(self, *tensors):
            feats = dict(zip(input_names, tensors))
            emb = self.st(feats)["sentence_embedding"]
            return torch.nn.functional.normalize(emb, p=2, dim=1)

    pipe = Pipeline(st_model).eval()
    args = tuple(sample[n] for n in input_names)
    axes = {n: {0: "batch", 1: "seq"} for n in input_names}
    axes["embedding"] = {0: "batch"}
    import warnings

    with torch.no_grad(), warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tracer warnings about python booleans: shapes are dynamic axes here
        torch.onnx.export(pipe, args, str(tmp / "model.onnx"), input_names=input_names, output_names=["embedding"],
                          dynamic_axes=axes, opset_version=17, dynamo=False, do_constant_folding=True)
    _optimize(tmp / "model.onnx")
    tok.backend_tokenizer.save(str(tmp / "tokenizer.json"))
    info = {
        "format": FORMAT,
        "model": model_name,
        "dim": int((getattr(st_model, "get_embedding_dimension", None) or st_model.get_sentence_embedding_dimension)()),
        "max_seq_length": int(st_model.max_seq_length),
        "inputs": input_names,
        "pad_id": int(tok.pad_token_id or 0),
        "pad_token": tok.pad_token or "[PAD]",
        "optimized": True,
    }
    (tmp / "encoder.json").write_text(json.dumps(info, indent=1))
    if folder.exists():
        import shutil

        shutil.rmtree(folder)
    tmp.rename(folder)
    return folder


def _optimize(path: Path) -> None:
    """Apply onnxruntime's graph optimisations once, at export time, and save the result:
    a query process then loads it with optimisations off (0.3 s instead of 0.6 s)."""
    import onnxruntime as ort

    opt = path.with_name("model.opt.onnx")
    so = ort.SessionOptions()
    so.log_severity_level = 3
    # EXTENDED, not ALL: the saved graph stays portable (no hardware-specific layouts).
    so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_EXTENDED
    so.optimized_model_filepath = str(opt)
    ort.InferenceSession(str(path), sess_options=so, providers=["CPUExecutionProvider"])
    opt.replace(path)
