"""Hybrid evidence search: dense retrieval (records and evidence sentences in Chroma) fused
with lexical BM25 by weighted reciprocal-rank fusion.

Three ranked candidate lists are computed per query:
  bm25       BM25 over title (weighted) + abstract + keywords   (synth.lexical)
  records    cosine similarity of the query to the record vector (title + abstract)
  sentences  best cosine similarity of the query to any of the record's evidence sentences
and fused as  score(d) = sum_i w_i / (K + rank_i(d)).  RRF needs no score calibration between
BM25 and cosine, and the weights let exact terms or concepts dominate; the weights and K were
tuned on the judged query set (bench/bench_search_quality.py, docs/search.md).

Filters (year, source, design, mechanism, screening) are resolved in SQLite to the set of
allowed record ids first; BM25 is masked by it, and dense retrieval searches only inside it
(Chroma `ids=` / `where` pre-filter) when it is small, or over-fetches and post-filters when
it is large, so a narrow filter never returns an empty page because its records ranked low.

Nothing heavy is imported at module level: `synth search` must start fast and never import torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from synth.errors import SynthError

MAX_QUERY_CHARS = 2000
SOURCES = ("pubmed", "europepmc", "openalex", "crossref", "import")

# Tuned on bench/data/judged_queries.yaml (see docs/search.md).
DEFAULT_WEIGHTS = {"bm25": 1.0, "records": 1.0, "sentences": 1.0}
RRF_K = 60
CANDIDATES = 100  # per list
SENTENCE_CANDIDATES = 400

NO_CORPUS = "no records yet; build the corpus with `synth harvest` then `synth index`"
NO_INDEX = "the records are not indexed yet; run `synth index`"


@dataclass
class Filters:
    year_from: int | None = None
    year_to: int | None = None
    sources: tuple[str, ...] = ()
    designs: tuple[str, ...] = ()
    mechanisms: tuple[str, ...] = ()
    include_excluded: bool = False

    @property
    def narrowing(self) -> bool:
        return bool(self.year_from or self.year_to or self.sources or self.designs or self.mechanisms)


@dataclass
class Candidates:
    """Each method's ranked record ids (best first) with their scores, for one query."""
    bm25: list[tuple[str, float]] = field(default_factory=list)
    records: list[tuple[str, float]] = field(default_factory=list)
    sentences: list[tuple[str, float]] = field(default_factory=list)
    best_sentence: dict[str, tuple[int, float]] = field(default_factory=dict)  # record id -> (idx, cosine)


def check_query(query: str) -> str:
    q = (query or "").strip()
    if not q:
        raise SynthError("empty query; give some words to search for, e.g. synth search \"peer navigator\"")
    if len(q) > MAX_QUERY_CHARS:
        raise SynthError(f"query too long ({len(q)} characters; at most {MAX_QUERY_CHARS})")
    return q


def fuse(c: Candidates, weights: dict[str, float] | None = None, k: int = RRF_K) -> list[tuple[str, float]]:
    """Weighted reciprocal-rank fusion of the candidate lists; best first."""
    w = weights or DEFAULT_WEIGHTS
    scores: dict[str, float] = {}
    for name in ("bm25", "records", "sentences"):
        wi = w.get(name, 0.0)
        if not wi:
            continue
        for rank, (rid, _) in enumerate(getattr(c, name), start=1):
            scores[rid] = scores.get(rid, 0.0) + wi / (k + rank)
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


# --------------------------------------------------------------------------- filters
def mechanism_ids(project, store) -> set[str]:
    """Mechanism ids a filter may name: the theory's plus any emergent codes stored."""
    ids = {r[0] for r in store.conn.execute("SELECT DISTINCT code FROM codes WHERE kind='mechanism'")}
    try:
        from synth.mechanisms.theory import load_theory

        theory = load_theory(project)
        ids |= {m.id if hasattr(m, "id") else m["id"] for m in theory.mechanisms}
    except ImportError:
        pass
    except SynthError:
        pass
    return ids


def validate_filters(project, store, f: Filters) -> None:
    from synth.design import DESIGNS

    bad = [s for s in f.sources if s not in SOURCES]
    if bad:
        raise SynthError(f"unknown source {bad[0]!r}; choose from {', '.join(SOURCES)}")
    bad = [d for d in f.designs if d not in DESIGNS]
    if bad:
        raise SynthError(f"unknown design {bad[0]!r}; choose from {', '.join(DESIGNS)}")
    if f.year_from and f.year_to and f.year_from > f.year_to:
        raise SynthError(f"--year-from {f.year_from} is after --year-to {f.year_to}")
    if f.mechanisms:
        known = mechanism_ids(project, store)
        if not known:
            raise SynthError("no mechanisms coded yet; run `synth refresh` (or `synth index`, then code mechanisms) first")
        bad = [m for m in f.mechanisms if m not in known]
        if bad:
            raise SynthError(f"unknown mechanism {bad[0]!r}; choose from {', '.join(sorted(known))}")


def allowed_ids(store, f: Filters) -> set[str] | None:
    """Live record ids passing the narrowing filters (None = no narrowing filter)."""
    if not f.narrowing:
        return None
    where, params = ["merged_into IS NULL"], []
    if f.year_from:
        where.append("year >= ?")
        params.append(f.year_from)
    if f.year_to:
        where.append("year <= ?")
        params.append(f.year_to)
    if f.designs:
        where.append(f"design IN ({','.join('?' * len(f.designs))})")
        params += list(f.designs)
    if f.sources:
        where.append(f"id IN (SELECT record_id FROM provenance WHERE source IN ({','.join('?' * len(f.sources))}))")
        params += list(f.sources)
    if f.mechanisms:
        marks = ",".join("?" * len(f.mechanisms))
        # Automatic codes (any level) or a human accept, minus a human record-level reject.
        where.append(f"(id IN (SELECT record_id FROM codes WHERE kind='mechanism' AND code IN ({marks}))"
                     f" OR id IN (SELECT record_id FROM curation WHERE decision='accept' AND code IN ({marks})))")
        where.append(f"id NOT IN (SELECT record_id FROM curation WHERE decision='reject' AND idx=-1 AND code IN ({marks}))")
        params += list(f.mechanisms) * 3
    return {r[0] for r in store.conn.execute(f"SELECT id FROM records WHERE {' AND '.join(where)}", params)}


def excluded_ids(store) -> set[str]:
    return {r[0] for r in store.conn.execute("SELECT record_id FROM screening WHERE decision='exclude'")}


# --------------------------------------------------------------------------- the searcher
class Searcher:
    """Opens the store, the BM25 index and (lazily) the vector index and query encoder of a project."""

    def __init__(self, project, store=None):
        self.project = project
        self.store = store or project.store()
        self._vectors = None
        self._encoder = None
        self._lexical = None

    def close(self) -> None:
        self.store.close()

    # -- components
    def require_corpus(self) -> None:
        if self.store.count() == 0:
            raise SynthError(NO_CORPUS)

    @property
    def lexical(self):
        if self._lexical is None:
            from synth.lexical import LexicalIndex, build_lexical

            idx = LexicalIndex.load(self.project)
            if idx is None or not idx.is_current(self.store):
                # Built at index time; this catches a store changed since (or an index built
                # before the lexical step existed). Saved, so it happens once, not per query.
                import sys

                print("Updating the lexical index…", file=sys.stderr)
                build_lexical(self.project)
                idx = LexicalIndex.load(self.project)
            self._lexical = idx
        return self._lexical

    @property
    def vectors(self):
        if self._vectors is None:
            from index.vectors import VectorIndex

            try:
                self._vectors = VectorIndex.open(self.project)
            except SynthError:
                raise
            if self._vectors.records is None or self._vectors.records.count() == 0:
                raise SynthError(NO_INDEX)
        return self._vectors

    @property
    def encoder(self):
        if self._encoder is None:
            from index.query_encoder import QueryEncoder

            self._encoder = QueryEncoder.for_project(self.project)
        return self._encoder

    def embed(self, text: str):
        return self.encoder.encode([text])[0]

    # -- retrieval
    def candidates(self, query: str, filters: Filters | None = None, dense: bool = True, lexical: bool = True,
                   n: int = CANDIDATES) -> Candidates:
        import numpy as np

        f = filters or Filters()
        allowed = allowed_ids(self.store, f)
        banned = set() if f.include_excluded else excluded_ids(self.store)
        out = Candidates()
        if allowed is not None and not allowed:
            return out

        def ok(rid: str) -> bool:
            return rid not in banned and (allowed is None or rid in allowed)

        if lexical:
            lex = self.lexical
            scores = lex.scores(query)
            if len(scores):
                top = np.argsort(-scores, kind="stable")
                for i in top:
                    s = float(scores[i])
                    if s <= 0 or len(out.bm25) >= n:
                        break
                    if ok(lex.ids[i]):
                        out.bm25.append((lex.ids[i], s))
        if dense:
            q = self.embed(query)
            out.records = self._dense_records(q, allowed, banned, ok, n)
            out.sentences, out.best_sentence = self._dense_sentences(q, allowed, banned, ok, n)
        return out

    def _dense(self, kind: str, q, ok, want: int, allowed: set[str] | None, enough) -> list[tuple[str, float, dict]]:
        """Nearest vectors of KIND passing `ok`, best first: over-fetch the unfiltered HNSW result
        and widen until `enough(hits)`; a filter that almost nothing passes is pushed into Chroma."""
        from index.vectors import OVERFETCH_LIMIT

        col = self.vectors.collection(kind)
        total = col.count()
        if total == 0:
            return []
        vec = [q.tolist()]
        n = min(total, want)
        while True:
            hits = [h for h in self._query(col, vec, n) if ok(h[2].get("record_id") or h[0])]
            if enough(hits) or n >= total:
                return hits
            if allowed is None or n >= OVERFETCH_LIMIT:
                break
            n = min(total, n * 4)
        if allowed is None:
            return hits
        ids = sorted(r for r in allowed if ok(r))
        if not ids:
            return []
        if kind == "records":
            res = col.query(query_embeddings=vec, n_results=min(want, len(ids)), ids=ids, include=["distances", "metadatas"])
        else:
            res = col.query(query_embeddings=vec, n_results=min(want, total), where={"record_id": {"$in": ids}},
                            include=["distances", "metadatas"])
        return [h for h in self._hits(res) if ok(h[2].get("record_id") or h[0])]

    def _query(self, col, vec, n):
        return self._hits(col.query(query_embeddings=vec, n_results=n, include=["distances", "metadatas"]))

    @staticmethod
    def _hits(res) -> list[tuple[str, float, dict]]:
        # Collections are created in cosine space (index.vectors.collection_metadata).
        return [(i, 1.0 - float(d), m or {}) for i, d, m in zip(res["ids"][0], res["distances"][0], res["metadatas"][0])]

    def _dense_records(self, q, allowed, banned, ok, n) -> list[tuple[str, float]]:
        hits = self._dense("records", q, ok, n + len(banned), allowed, lambda h: len(h) >= n)
        return [(rid, s) for rid, s, _ in hits][:n]

    def _dense_sentences(self, q, allowed, banned, ok, n):
        want = SENTENCE_CANDIDATES

        def enough(hits):
            return len({h[2].get("record_id") for h in hits}) >= min(n, 20)

        hits = self._dense("sentences", q, ok, want, allowed, enough)
        best: dict[str, tuple[int, float]] = {}
        for sid, s, meta in hits:
            rid = meta.get("record_id") or sid.rsplit(":", 1)[0]
            if rid not in best or s > best[rid][1]:
                best[rid] = (int(meta.get("idx", sid.rsplit(":", 1)[1])), s)
        ranked = sorted(((rid, s) for rid, (_, s) in best.items()), key=lambda kv: (-kv[1], kv[0]))[:n]
        return ranked, best

    # -- the command's entry point
    def search(self, query: str, k: int = 10, filters: Filters | None = None,
               weights: dict[str, float] | None = None) -> list[dict]:
        query = check_query(query)
        f = filters or Filters()
        validate_filters(self.project, self.store, f)
        self.require_corpus()
        c = self.candidates(query, f)
        fused = fuse(c, weights)[:k]
        q = self.embed(query)
        return [self.result(rid, score, rank, query, q, c) for rank, (rid, score) in enumerate(fused, start=1)]

    def similar(self, ref: str, k: int = 10, filters: Filters | None = None) -> tuple[dict, list[dict]]:
        """Records nearest to a stored record's vector (the record itself left out)."""
        self.require_corpus()
        rec = self.resolve(ref)
        f = filters or Filters()
        validate_filters(self.project, self.store, f)
        col = self.vectors.records
        got = col.get(ids=[rec["id"]], include=["embeddings"])
        if not got["ids"]:
            raise SynthError(f"record {rec['id']} is not indexed yet; run `synth index`")
        vec = got["embeddings"][0]
        allowed = allowed_ids(self.store, f)
        banned = set() if f.include_excluded else excluded_ids(self.store)
        banned.add(rec["id"])

        def ok(rid):
            return rid not in banned and (allowed is None or rid in allowed)

        import numpy as np

        ranked = self._dense_records(np.asarray(vec, dtype=np.float32), allowed, banned, ok, k)
        return rec, [self.describe(rid) | {"score": round(s, 4), "rank": i} for i, (rid, s) in enumerate(ranked, start=1)]

    def resolve(self, ref: str) -> dict:
        rec = self.store.get(ref)
        if rec is None:
            raise SynthError(f"no record {ref!r} (give a synth id, DOI, PMID, PMCID or OpenAlex id)")
        return rec

    # -- presenting
    def describe(self, rid: str) -> dict:
        rec = self.store.get(rid) or {"id": rid}
        authors = rec.get("authors") or []
        first = authors[0] if authors else ""
        if isinstance(first, dict):
            first = first.get("family") or first.get("name") or ""
        return {
            "id": rec.get("id"), "doi": rec.get("doi"), "pmid": rec.get("pmid"), "pmcid": rec.get("pmcid"),
            "title": rec.get("title", ""), "year": rec.get("year"), "journal": rec.get("journal", ""),
            "first_author": str(first).split(",")[0], "design": rec.get("design"),
            "relevance": rec.get("relevance"), "sources": self.store.sources_of(rid),
            "mechanisms": record_mechanism_ids(self.store, rid),
        }

    def result(self, rid: str, score: float, rank: int, query: str, q, c: Candidates) -> dict:
        from synth import highlight

        out = self.describe(rid) | {"score": round(score, 5), "rank": rank}
        stems = highlight.query_stems(query)
        sent = self.best_sentence(rid, q, stems, c.best_sentence.get(rid))
        text = sent["text"] if sent else ""
        text = highlight.trim(text, stems)
        out["snippet"] = text
        out["snippet_section"] = sent["section"] if sent else ""
        out["snippet_idx"] = sent["idx"] if sent else None
        out["highlights"] = highlight.matched_terms(text, stems)
        out["snippet_marked"] = highlight.mark_plain(text, stems)
        out["matched_by"] = {name: next((i for i, (r, _) in enumerate(getattr(c, name), start=1) if r == rid), None)
                             for name in ("bm25", "records", "sentences")}
        return out

    def sentences_of(self, rid: str) -> list[dict]:
        rows = self.store.conn.execute("SELECT idx, section, text, role FROM sentences WHERE record_id=? ORDER BY idx", (rid,)).fetchall()
        if rows:
            return [dict(r) for r in rows]
        rec = self.store.get(rid) or {}
        from synth.sentences import split_abstract

        return [{"idx": s.idx, "section": s.section, "text": s.text, "role": None} for s in split_abstract(rec.get("abstract") or "")]

    def best_sentence(self, rid: str, q, stems: set[str], hint: tuple[int, float] | None) -> dict | None:
        """The evidence sentence that best matches the query: cosine to the query plus a bonus
        per distinct query term it contains (so an exact phrase wins over a loose paraphrase)."""
        from synth import highlight

        sents = self.sentences_of(rid)
        if not sents:
            return None
        cos: dict[int, float] = {}
        if q is not None:
            ids, mat = self.vectors.get_vectors([f"{rid}:{s['idx']}" for s in sents], "sentences")
            for sid, sim in zip(ids, (mat @ q).tolist()):
                cos[int(sid.rsplit(":", 1)[1])] = float(sim)
        if hint and hint[0] not in cos:
            cos[hint[0]] = hint[1]

        def score(s):
            terms = {t.lower() for t in highlight.matched_terms(s["text"], stems)}
            lexical = len(terms) / max(1, len(stems))
            return cos.get(s["idx"], 0.0) + 0.3 * lexical

        return max(sents, key=score)


def record_mechanism_ids(store, rid: str) -> list[str]:
    """Mechanism ids of a record via the codes API (curation applied); [] before coding exists."""
    try:
        from synth.mechanisms.codes import record_mechanisms
    except ImportError:
        return []
    try:
        return [m["id"] for m in record_mechanisms(store, rid)]
    except Exception:  # noqa: BLE001 - codes are optional decoration on a search result
        return []
