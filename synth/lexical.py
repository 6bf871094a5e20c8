"""Lexical BM25 index over records (bm25s + PyStemmer), built at index time, loaded per query.

Saved under data/lexical/<version>/ (CURRENT names the live version; a rebuild writes a new
version and swaps CURRENT with os.replace under an flock, so readers never see half an index and
two builders never collide): bm25s's own files (the precomputed sparse BM25 score matrix in CSC
form, the vocabulary), the record ids in document order, the stop words, and a stamp of the
store it was built from. Queries memory-map the matrix and sum the query terms' columns with
numpy -- exactly bm25s's own scoring for the Lucene variant (a test checks they agree), but
without importing bm25s and scipy, which would cost a cold `synth search` ~0.2 s.

The title is repeated TITLE_WEIGHT times in each document: a term in the title says more
about what a study is about than the same term deep in its abstract.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import time
from pathlib import Path

TITLE_WEIGHT = 2
FORMAT = 1
STOPWORDS = "en"
_BATCH = 2000


def lexical_root(project) -> Path:
    return project.data_dir / "lexical"


def lexical_dir(project) -> Path | None:
    """The live version's folder, or None before the first build."""
    root = lexical_root(project)
    try:
        version = (root / "CURRENT").read_text().strip()
    except FileNotFoundError:
        return None
    return root / version if version else None


def document_text(rec: dict) -> str:
    parts = [rec.get("title") or ""] * TITLE_WEIGHT
    parts.append(rec.get("abstract") or "")
    parts.extend(rec.get("keywords") or [])
    parts.extend(rec.get("mesh") or [])
    return "\n".join(parts)


def store_stamp(store) -> dict:
    """Cheap fingerprint of the live records: changes whenever a record is added, changed or merged."""
    row = store.conn.execute(
        "SELECT COUNT(*), COALESCE(MAX(updated_at), ''), COALESCE(MAX(rowid), 0) FROM records WHERE merged_into IS NULL"
    ).fetchone()
    return {"count": row[0], "updated_at": row[1], "max_rowid": row[2]}


def _stemmer():
    import Stemmer

    return Stemmer.Stemmer("english")


def build_lexical(project, progress: bool = False) -> dict:
    """(Re)build the BM25 index from the store and classify designs; returns a summary.

    Written to a temporary folder and swapped in, so a crash or a concurrent query
    never sees half an index.
    """
    import bm25s
    from bm25s.tokenization import Tokenizer

    from synth.design import classify_all

    t0 = time.perf_counter()
    store = project.store()
    try:
        designs = classify_all(store)
        stamp = store_stamp(store)
        tokenizer = Tokenizer(stopwords=STOPWORDS, stemmer=_stemmer())
        ids: list[str] = []
        token_ids: list[list[int]] = []
        batch: list[str] = []

        def flush():
            if batch:
                token_ids.extend(tokenizer.tokenize(batch, update_vocab=True, return_as="ids", show_progress=False))
                batch.clear()

        for rec in store.iter_records():
            ids.append(rec["id"])
            batch.append(document_text(rec))
            if len(batch) >= _BATCH:
                flush()
        flush()
    finally:
        store.close()

    root = lexical_root(project)
    root.mkdir(parents=True, exist_ok=True)
    with open(root.parent / "lexical.lock", "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # one builder at a time; readers never wait
        version = f"v{time.time_ns()}-{os.getpid()}"
        tmp = root / f"{version}.partial"
        tmp.mkdir()
        if ids:
            vocab = tokenizer.get_vocab_dict()
            model = bm25s.BM25()
            model.index((token_ids, vocab), show_progress=progress)
            model.save(str(tmp), show_progress=False)
        (tmp / "ids.json").write_text(json.dumps(ids))
        from bm25s.stopwords import STOPWORDS_EN

        meta = {"format": FORMAT, "title_weight": TITLE_WEIGHT, "stemmer": "english", "stopwords": STOPWORDS,
                "stopword_list": sorted(STOPWORDS_EN), "method": "lucene",
                "documents": len(ids), "vocabulary": len(tokenizer.get_vocab_dict()) if ids else 0,
                "store": stamp, "built_at": time.strftime("%Y-%m-%dT%H:%M:%S")}
        (tmp / "meta.json").write_text(json.dumps(meta, indent=1))
        tmp.rename(root / version)
        pointer = root / f"CURRENT.{os.getpid()}"
        pointer.write_text(version)
        os.replace(pointer, root / "CURRENT")
        _prune(root, keep=version)
    return {"documents": len(ids), "vocabulary": meta["vocabulary"], "designs": designs,
            "seconds": round(time.perf_counter() - t0, 2)}


def ensure_lexical(project) -> dict:
    """Rebuild the BM25 index (and classify designs) only when the store changed since it was built."""
    store = project.store()
    try:
        idx = LexicalIndex.load(project)
        if idx is not None and idx.is_current(store):
            return {"documents": len(idx.ids), "rebuilt": False}
    finally:
        store.close()
    return {**build_lexical(project), "rebuilt": True}


def _prune(root: Path, keep: str) -> None:
    """Drop old versions (but the previous one, which a reader may still be opening) and the
    leftovers of builders killed mid-build (we hold the lock, so none is still writing)."""
    versions = sorted((p for p in root.iterdir() if p.is_dir() and p.name.startswith("v")),
                      key=lambda p: p.stat().st_mtime)
    for p in versions:
        if p.name.endswith(".partial") or (p.name != keep and p not in versions[-2:]):
            shutil.rmtree(p, ignore_errors=True)


class LexicalIndex:
    """A loaded BM25 index: scores for every document, aligned with `ids`."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.meta = json.loads((self.folder / "meta.json").read_text())
        self.ids: list[str] = json.loads((self.folder / "ids.json").read_text())
        self.stopwords = frozenset(self.meta.get("stopword_list") or ())
        self._matrix = None
        self._vocab = None

    @classmethod
    def load(cls, project) -> "LexicalIndex | None":
        for _ in range(3):  # a rebuild may swap versions between reading CURRENT and opening files
            folder = lexical_dir(project)
            if folder is None:
                return None
            try:
                idx = cls(folder)
                break
            except FileNotFoundError:
                continue
        else:
            return None
        if idx.meta.get("format") != FORMAT:
            return None
        return idx

    def is_current(self, store) -> bool:
        return self.meta.get("store") == store_stamp(store)

    @property
    def vocab(self) -> dict[str, int]:
        if self._vocab is None:
            self._vocab = json.loads((self.folder / "vocab.index.json").read_text()) if self.ids else {}
        return self._vocab

    @property
    def matrix(self):
        """(data, indices, indptr) of the documents x terms BM25 matrix, memory-mapped."""
        if self._matrix is None:
            import numpy as np

            self._matrix = tuple(np.load(self.folder / f"{name}.csc.index.npy", mmap_mode="r") for name in ("data", "indices", "indptr"))
        return self._matrix

    def tokenize(self, text: str) -> list[str]:
        """The query's stemmed terms, as the index was built (lower-case, English stop words removed)."""
        words = [w for w in re.findall(r"(?u)\b\w\w+\b", text.lower()) if w not in self.stopwords]
        return _stemmer().stemWords(words)

    def scores(self, query: str):
        """BM25 score of every document for `query` (numpy float32 array aligned with self.ids).

        A term repeated in the query counts again, as in bm25s."""
        import numpy as np

        out = np.zeros(len(self.ids), dtype=np.float32)
        term_ids = [self.vocab[t] for t in self.tokenize(query) if t in self.vocab]
        if not term_ids:
            return out
        data, indices, indptr = self.matrix
        for t in term_ids:  # a column holds each document at most once, so += is safe
            a, b = int(indptr[t]), int(indptr[t + 1])
            out[indices[a:b]] += data[a:b]
        return out
