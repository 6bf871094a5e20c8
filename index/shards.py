"""Sentence vectors kept in numbered Chroma collections of bounded size ("shards").

Why: Chroma holds the whole HNSW graph of every collection it has touched in the process that
opened it (~1.8 KB per 384-d vector in embedded mode). With one sentence collection for the
corpus, `synth index` would grow with the corpus (10 sentences a record). With shards of at
most SHARD_VECTORS vectors, the indexer fills one shard at a time and closes its embedded client
between shards, so it holds one shard's graph however large the corpus grows.

Shard 0 is the generation's sentence collection name itself (indexes built before sharding are
a single shard 0); shard k > 0 is f"{name}_s{k}". Which shard holds a record's sentences is the
`shard` column of index_state: the indexer writes and deletes by shard. Readers (search, clustering,
coding) see one collection through `Shards`, which fans each read out and merges.
"""

from __future__ import annotations

import heapq

SHARD_VECTORS = 50_000


def shard_name(base: str, k: int) -> str:
    return base if k == 0 else f"{base}_s{k}"


def shard_numbers(client, base: str) -> list[int]:
    """The shards of BASE that exist in Chroma, in order."""
    out = []
    for c in client.list_collections():
        name = getattr(c, "name", c)
        if name == base:
            out.append(0)
        elif name.startswith(f"{base}_s") and name[len(base) + 2:].isdigit():
            out.append(int(name[len(base) + 2:]))
    return sorted(out)


class Shards:
    """One logical collection over the shards of BASE, with the part of Chroma's collection API
    synth reads through (count, get, query). Writes go to `shard(k)`."""

    def __init__(self, client, base: str, metadata: dict | None = None):
        self.client = client
        self.name = base
        self._metadata = metadata  # for shards created by `shard(k, create=True)`
        self._cols: dict[int, object] = {}
        self._counts: dict[int, int] = {}
        self._numbers: list[int] | None = None  # listed once: a search process needs it per query

    def numbers(self) -> list[int]:
        if self._numbers is None:
            self._numbers = shard_numbers(self.client, self.name)
        return self._numbers

    def shard(self, k: int, create: bool = False):
        if k not in self._cols:
            name = shard_name(self.name, k)
            if create:
                self._cols[k] = self.client.get_or_create_collection(name, metadata={**(self._metadata or {}), "synth_shard": k})
                if self._numbers is not None and k not in self._numbers:
                    self._numbers = sorted([*self._numbers, k])
            else:
                self._cols[k] = self.client.get_collection(name)
        return self._cols[k]

    def shards(self) -> list:
        return [self.shard(k) for k in self.numbers()]

    def _count(self, k: int) -> int:
        if k not in self._counts:
            self._counts[k] = self.shard(k).count()
        return self._counts[k]

    def count(self) -> int:
        return sum(self._count(k) for k in self.numbers())

    def get(self, ids=None, include=("metadatas",), limit: int | None = None, offset: int = 0, where=None) -> dict:
        """Like Collection.get: by ids (from whichever shard holds them), or a page across shards in shard order."""
        include = list(include)
        out: dict = {"ids": []}
        for key in include:
            out[key] = []
        if where is not None and (limit is not None or offset):
            raise ValueError("Shards.get pages by unfiltered counts: use where without limit/offset")
        if ids is not None:
            for col in self.shards():
                self._extend(out, col.get(ids=list(ids), include=include, where=where), include)
            return out
        for k in self.numbers():
            if limit is not None and len(out["ids"]) >= limit:
                break
            n = self._count(k)
            if offset >= n:
                offset -= n
                continue
            want = None if limit is None else limit - len(out["ids"])
            self._extend(out, self.shard(k).get(include=include, limit=want, offset=offset, where=where), include)
            offset = 0
        return out

    @staticmethod
    def _extend(out: dict, got: dict, include: list) -> None:
        out["ids"].extend(got["ids"])
        for key in include:
            vals = got.get(key)
            out[key].extend(list(vals) if vals is not None else [None] * len(got["ids"]))

    def query(self, query_embeddings, n_results: int, ids=None, where=None, include=("distances",)) -> dict:
        """Each shard's nearest N_RESULTS, merged: the global top N is among them."""
        include = list(dict.fromkeys([*include, "distances"]))
        hits: list[tuple] = []
        for k in self.numbers():
            col = self.shard(k)
            part = ids
            if ids is not None:  # Chroma rejects ids a collection does not hold
                part = col.get(ids=list(ids), include=[])["ids"]
                if not part:
                    continue
            n = min(n_results, len(part) if part is not None else self._count(k))
            if n <= 0:
                continue
            res = col.query(query_embeddings=query_embeddings, n_results=n, ids=part, where=where, include=include)
            for j, i in enumerate(res["ids"][0]):
                hits.append((res["distances"][0][j], i, {key: res[key][0][j] for key in include if key != "distances"}))
        best = heapq.nsmallest(n_results, hits, key=lambda h: h[0])
        out = {"ids": [[h[1] for h in best]], "distances": [[h[0] for h in best]]}
        for key in include:
            if key != "distances":
                out[key] = [[h[2][key] for h in best]]
        return out
