"""Folders rebuilt whole and swapped in atomically (the BM25 index, the vector snapshot).

root/CURRENT names the live version; a build writes root/<version>.partial, renames it,
then replaces CURRENT with os.replace under an flock. Readers never wait and never see
half a version; two builders never collide; a builder killed mid-write leaves only a
.partial folder, removed by the next build.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import time
from contextlib import contextmanager
from pathlib import Path


def current(root: Path) -> Path | None:
    """The live version's folder, or None before the first build."""
    try:
        version = (Path(root) / "CURRENT").read_text().strip()
    except FileNotFoundError:
        return None
    return Path(root) / version if version else None


@contextmanager
def new_version(root: Path):
    """Yields an empty folder to fill; on success it becomes the live version."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    with open(root.parent / f"{root.name}.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        version = f"v{time.time_ns()}-{os.getpid()}"
        tmp = root / f"{version}.partial"
        tmp.mkdir()
        try:
            yield tmp
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise
        tmp.rename(root / version)
        pointer = root / f"CURRENT.{os.getpid()}"
        pointer.write_text(version)
        os.replace(pointer, root / "CURRENT")
        _prune(root, keep=version)


def _prune(root: Path, keep: str) -> None:
    """Drop old versions (but the previous one, which a reader may still be opening) and the
    leftovers of builders killed mid-build (we hold the lock, so none is still writing)."""
    versions = sorted((p for p in root.iterdir() if p.is_dir() and p.name.startswith("v")),
                      key=lambda p: p.stat().st_mtime)
    for p in versions:
        if p.name.endswith(".partial") or (p.name != keep and p not in versions[-2:]):
            shutil.rmtree(p, ignore_errors=True)
