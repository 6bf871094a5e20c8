"""Lexical BM25 index over records (bm25s + PyStemmer), built at index time, loaded per query.

Saved under data/lexical/<version>/ (swapped in atomically: synth/versioned.py): bm25s's own files (the precomputed sparse BM25 score matrix in CSC
form, the vocabulary), the record ids in document order, the stop words, and a stamp of the
store it was built from. Queries memory-map the matrix and sum the query terms' columns with
numpy -- exactly bm25s's own scoring for the Lucene variant (a test checks they agree), but
without importing bm25s and scipy, which would cost a cold `synth search` ~0.2 s.

The title is repeated TITLE_WEIGHT times in each document: a term in the title says more
about what a study is about than the same term deep in its abstract.
"""

from __future__ import annotations

import json
import re
import time
from functools import lru_cache
from pathlib import Path

TITLE_WEIGHT = 2
FORMAT = 1
STOPWORDS = "en"
_BATCH = 2000


def lexical_root(project) -> Path:
    return project.data_dir / "lexical"


def lexical_dir(project) -> Path | None:
    """The live version's folder, or None before the first build."""
    from synth.versioned import current

    return current(lexical_root(project))


def document_text(rec: dict) -> str:
    parts = [rec.get("title") or ""] * TITLE_WEIGHT
    parts.append(rec.get("abstract") or "")
    parts.extend(rec.get("keywords") or [])
    parts.extend(rec.get("mesh") or [])
    return "\n".join(parts)


def store_stamp(store) -> dict:
    """Cheap fingerprint of the live records: changes whenever a record is added, changed or merged."""
    return store.stamp()


@lru_cache(maxsize=1)
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

    from synth.versioned import new_version

    with new_version(lexical_root(project)) as tmp:
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


class LexicalIndex:
    """A loaded BM25 index: scores for every document, aligned with `ids`."""

    def __init__(self, folder: Path):
        self.folder = Path(folder)
        self.meta = json.loads((self.folder / "meta.json").read_text())
        self.ids: list[str] = json.loads((self.folder / "ids.json").read_text())
        self.stopwords = frozenset(self.meta.get("stopword_list") or ())
        # Open everything now, not at the first query: a rebuild may prune this version a moment later,
        # and an open memory map (and a parsed vocabulary) outlive the files' removal.
        self._vocab = json.loads((self.folder / "vocab.index.json").read_text()) if self.ids else {}
        self._matrix = self._open_matrix() if self.ids else None

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

    def _open_matrix(self):
        import numpy as np

        return tuple(np.load(self.folder / f"{name}.csc.index.npy", mmap_mode="r") for name in ("data", "indices", "indptr"))

    @property
    def matrix(self):
        """(data, indices, indptr) of the documents x terms BM25 matrix, memory-mapped."""
        if self._matrix is None:
            self._matrix = self._open_matrix()
        return self._matrix

    def tokenize(self, text: str) -> list[str]:
        """The query's stemmed terms, as the index was built (lower-case, English stop words removed)."""
        words = [w for w in re.findall(r"(?u)\b\w\w+\b", text.lower()) if w not in self.stopwords]
        return _stemmer().stemWords(words)

    def query_terms(self, query: str) -> dict[str, float]:
        """{stem: weight} of a query: each stem weighs as often as it occurs (as in bm25s)."""
        out: dict[str, float] = {}
        for t in self.tokenize(query):
            out[t] = out.get(t, 0.0) + 1.0
        return out

    def scores(self, query: str | dict[str, float]):
        """BM25 score of every document for `query` (numpy float32 array aligned with self.ids):
        query text, or weighted stems {stem: weight} (query_terms, plus any expansion terms).

        A term repeated in the query counts again, as in bm25s."""
        import numpy as np

        terms = self.query_terms(query) if isinstance(query, str) else query
        out = np.zeros(len(self.ids), dtype=np.float32)
        weighted = [(self.vocab[t], w) for t, w in terms.items() if t in self.vocab and w]
        if not weighted:
            return out
        data, indices, indptr = self.matrix
        for t, w in weighted:  # a column holds each document at most once, so += is safe
            a, b = int(indptr[t]), int(indptr[t + 1])
            out[indices[a:b]] += data[a:b] if w == 1.0 else w * data[a:b]
        return out

    def df(self, term: str) -> int:
        """How many documents hold the stemmed TERM."""
        t = self.vocab.get(term)
        if t is None:
            return 0
        indptr = self.matrix[2]
        return int(indptr[t + 1]) - int(indptr[t])
