"""The user's cache folder: what any project on this machine may reuse (vectors of the bundled
training sentences, ONNX exports of a model), so that a second project does not pay again for
work that depends only on the model. `SYNTH_CACHE_DIR` overrides the place; where it cannot be
written, nothing is cached and everything works as before."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path | None:
    """SYNTH_CACHE_DIR, else $XDG_CACHE_HOME/synth, else ~/.cache/synth; None when it cannot be made."""
    root = os.environ.get("SYNTH_CACHE_DIR") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "synth")
    try:
        path = Path(root)
        path.mkdir(parents=True, exist_ok=True)
        return path if os.access(path, os.W_OK) else None
    except OSError:
        return None


def model_key(model_name: str) -> str:
    """What cached results of a model are filed under: its name, and for a model in a local folder
    also when the folder's files last changed (a retrained model at the same path is another model)."""
    path = Path(os.path.expanduser(model_name))
    if not path.is_dir():
        return model_name
    try:
        stamp = max((p.stat().st_mtime_ns for p in path.iterdir() if p.is_file()), default=0)
    except OSError:
        stamp = 0
    return f"{path.resolve()}@{stamp}"
