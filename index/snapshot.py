"""A read-only numpy snapshot of the active collections, for `synth search`'s cold start.

A fresh `synth search` process would spend ~0.8 s importing chromadb alone. Chroma stays the
vector store; after every `synth index` that changed it, its vectors are also written here as
raw float32 matrices (exact search over a memory-mapped matrix costs milliseconds at 10k records),
versioned and swapped in atomically (synth/versioned.py).

Validity: sync sets meta `index.snapshot_dirty` before its first Chroma write and clears it
after writing the snapshot, so a snapshot is used only when it was written from the active
generation with nothing written to Chroma since. A crash in between leaves the flag set: the
searcher falls back to Chroma and the next `synth index` rewrites the snapshot.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np

DIRTY = "index.snapshot_dirty"
KINDS = ("records", "sentences")
# Exact search costs ~8 ms per 100k vectors here: beyond this, Chroma's HNSW is faster per query
# and the import cost is worth paying, so larger indexes get no snapshot (searches use Chroma).
MAX_VECTORS = 200_000


def snapshot_root(project) -> Path:
    return project.data_dir / "vectors"


def mark_dirty(store) -> None:
    if store.get_meta(DIRTY) != "1":
        store.set_meta(DIRTY, "1")


def needs_write(project, store, gen: str) -> bool:
    snap = _meta(project)
    return store.get_meta(DIRTY) == "1" or snap is None or snap.get("gen") != gen


def write(project, store, pages: dict, dim: int, gen: str, largest: int) -> dict:
    """Copy the index's vectors into a new snapshot version. PAGES maps each kind to a callable
    giving (ids, matrix) pages, so memory holds one page (and the indexer one shard) at a time.
    An index of more than MAX_VECTORS (LARGEST: its bigger kind) gets none: it stays marked dirty,
    so searches use Chroma."""
    from synth.versioned import new_version

    if largest > MAX_VECTORS:
        mark_dirty(store)
        return {}
    counts = {}
    with new_version(snapshot_root(project)) as tmp:
        for kind in KINDS:
            ids: list[str] = []
            # Plain sequential writes, not a writable memmap: dirty mapped pages would count
            # towards the indexing process's memory.
            with open(tmp / f"{kind}.f32", "wb") as f:
                for page_ids, page in pages[kind]():
                    f.write(np.ascontiguousarray(page, dtype=np.float32).tobytes())
                    ids.extend(page_ids)
            (tmp / f"{kind}.ids.json").write_text(json.dumps(ids))
            counts[kind] = len(ids)
        (tmp / "meta.json").write_text(json.dumps({"gen": gen, "dim": dim, **counts}))
    store.set_meta(DIRTY, "0")
    return counts


class Spill:
    """The vectors one sync writes to Chroma, appended to files as they are embedded, so the
    snapshot can be brought up to date from the previous one plus these, without reading the
    whole index back out of Chroma (seconds at 10k records, and every shard's graph loaded)."""

    def __init__(self, project, dim: int):
        from synth.lock import pid_alive

        root = project.data_dir
        for old in root.glob(".index-spill-*"):  # left by a killed sync
            pid = old.name.rsplit("-", 1)[1]
            if not pid.isdigit() or not pid_alive(pid) or int(pid) == os.getpid():
                shutil.rmtree(old, ignore_errors=True)
        self.folder = root / f".index-spill-{os.getpid()}"
        self.folder.mkdir(parents=True, exist_ok=True)
        self.dim = dim
        self._vec = {k: open(self.folder / f"{k}.f32", "wb") for k in KINDS}
        self._ids = {k: open(self.folder / f"{k}.ids", "w", encoding="utf-8") for k in KINDS}

    def add(self, kind: str, ids: list[str], mat: np.ndarray) -> None:
        self._vec[kind].write(np.ascontiguousarray(mat, dtype=np.float32).tobytes())
        self._ids[kind].write("".join(f"{i}\n" for i in ids))

    def pages(self, kind: str, batch: int = 10_000):
        self._vec[kind].flush()
        self._ids[kind].flush()
        ids = (self.folder / f"{kind}.ids").read_text(encoding="utf-8").splitlines()
        if not ids:
            return
        mat = np.memmap(self.folder / f"{kind}.f32", dtype=np.float32, mode="r", shape=(len(ids), self.dim))
        for i in range(0, len(ids), batch):
            yield ids[i:i + batch], np.asarray(mat[i:i + batch])

    def close(self) -> None:
        for f in (*self._vec.values(), *self._ids.values()):
            f.close()
        shutil.rmtree(self.folder, ignore_errors=True)


def _meta(project) -> dict | None:
    from synth.versioned import current

    folder = current(snapshot_root(project))
    try:
        return json.loads((folder / "meta.json").read_text()) if folder else None
    except FileNotFoundError:
        return None


class Snapshot:
    """Exact nearest neighbours over the memory-mapped matrices of one snapshot version."""

    def __init__(self, folder: Path):
        self.meta = json.loads((folder / "meta.json").read_text())
        self.ids = {k: json.loads((folder / f"{k}.ids.json").read_text()) for k in KINDS}
        dim = self.meta["dim"]
        self.mats = {k: (np.memmap(folder / f"{k}.f32", dtype=np.float32, mode="r", shape=(len(self.ids[k]), dim))
                         if self.ids[k] else np.zeros((0, dim), np.float32)) for k in KINDS}
        self._pos: dict[str, dict[str, int]] = {}

    @classmethod
    def load(cls, project, store, gen: str | None) -> "Snapshot | None":
        """The snapshot if it is current for generation GEN, else None (use Chroma)."""
        from synth.versioned import current

        if gen is None or store.get_meta(DIRTY) == "1":
            return None
        for _ in range(3):  # a rebuild may swap versions between reading CURRENT and opening files
            folder = current(snapshot_root(project))
            if folder is None:
                return None
            try:
                snap = cls(folder)
            except FileNotFoundError:
                continue
            return snap if snap.meta.get("gen") == gen else None
        return None

    def count(self, kind: str) -> int:
        return len(self.ids[kind])

    def pages(self, kind: str, drop_records: set[str], batch: int = 10_000):
        """(ids, matrix) pages of this snapshot's vectors, leaving out those of DROP_RECORDS."""
        ids, mat = self.ids[kind], self.mats[kind]
        for i in range(0, len(ids), batch):
            part = ids[i:i + batch]
            keep = [j for j, x in enumerate(part) if (x.rsplit(":", 1)[0] if kind == "sentences" else x) not in drop_records]
            if keep:
                yield [part[j] for j in keep], np.asarray(mat[i:i + batch])[keep]

    def ranked(self, kind: str, q: np.ndarray, n: int) -> list[tuple[str, float]]:
        """The N best (id, cosine) for unit query Q, best first (vectors are L2-normalised)."""
        mat, ids = self.mats[kind], self.ids[kind]
        if not ids or n <= 0:
            return []
        scores = mat @ q.astype(np.float32)
        n = min(n, len(ids))
        top = np.argpartition(-scores, n - 1)[:n] if n < len(ids) else np.arange(len(ids))
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(ids[i], float(scores[i])) for i in top]

    def get_vectors(self, ids, kind: str) -> tuple[list[str], np.ndarray]:
        if kind not in self._pos:
            self._pos[kind] = {i: n for n, i in enumerate(self.ids[kind])}
        pos = self._pos[kind]
        found = [i for i in ids if i in pos]
        return found, np.asarray(self.mats[kind][[pos[i] for i in found]]) if found else np.zeros((0, self.meta["dim"]), np.float32)
