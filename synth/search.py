"""Hybrid evidence search: dense retrieval (records and evidence sentences in Chroma) fused
with lexical BM25.

Three ranked candidate lists are computed per query:
  bm25       BM25 over title (weighted) + abstract + keywords + MeSH   (synth.lexical)
  records    cosine similarity of the query to the record vector (title + abstract)
  sentences  best cosine similarity of the query to any of the record's evidence sentences
and fused by `fuse`. The shipped form standardises each list before adding them (z-score
calibration: (score - mean) / std over the list's candidates, a record absent from a list gets that
list's lowest value), so a list whose scores stand out for this query (BM25 when a rare query term
matches a few records) counts for more than one whose scores are flat (cosines of records that are
all about the same topic); then sum_i w_i * z_i. Also implemented: score fusion scaled by each
list's best score (the form shipped before) and weighted reciprocal-rank fusion. The form and the
weights were chosen on the tuning half of the judged realistic query set
(bench/bench_search_quality.py, docs/search.md).

Filters (year, source, design, mechanism, screening) are resolved in SQLite (and the codes
API, for mechanisms with human curation applied) to the set of allowed record ids; BM25 is
masked by it, and dense retrieval over-fetches the unfiltered HNSW result and widens until
enough allowed records appear, pushing a filter that almost nothing passes into Chroma itself
(`ids=` / `where`), so a narrow filter never loses a record because it ranked low.

Nothing heavy is imported at module level: `synth search` must start fast and never import torch.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from synth import expansion
from synth.errors import SynthError
from synth.screening import excluded_ids

MAX_QUERY_CHARS = 2000
SOURCES = ("pubmed", "europepmc", "openalex", "crossref", "import")

# Chosen on the tuning half of bench/data/search/ (see docs/search.md); `Ranking` below starts from these.
FUSION = "z"
DEFAULT_WEIGHTS = {"bm25": 1.0, "records": 0.25, "sentences": 0.0}
RRF_K = 5
NEAR_MISS_PENALTY = 0.5
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
    terms: dict[str, float] = field(default_factory=dict)  # the weighted stems BM25 was asked for
    ok: object = field(default=None, repr=False, compare=False)  # the filter the lists passed


@dataclass(frozen=True)
class Ranking:
    """How `Searcher.rank` ranks: the fusion, its weights, and the query expansions (0 = off)."""
    fusion: str = FUSION
    weights: tuple[tuple[str, float], ...] = tuple(DEFAULT_WEIGHTS.items())
    theory: float = expansion.THEORY_WEIGHT      # a named mechanism / outcome's phrases share this BM25 weight
    # pseudo-relevance feedback, the share of the BM25 query it takes (expansion.FEEDBACK_WEIGHT when on): off
    feedback: float = 0.0
    feedback_docs: int = expansion.FEEDBACK_DOCS
    feedback_terms: int = expansion.FEEDBACK_TERMS
    near_miss: float = NEAR_MISS_PENALTY  # near misses move this many sd of the fused score down

    @property
    def weight_map(self) -> dict[str, float]:
        return dict(self.weights)


SHIPPED = Ranking()


def check_query(query: str) -> str:
    q = (query or "").strip()
    if not q:
        raise SynthError("empty query; give some words to search for, e.g. synth search \"peer navigator\"")
    if len(q) > MAX_QUERY_CHARS:
        raise SynthError(f"query too long ({len(q)} characters; at most {MAX_QUERY_CHARS})")
    return q


def fuse(c: Candidates, weights: dict[str, float] | None = None, k: int | None = None,
         method: str | None = None) -> list[tuple[str, float]]:
    """Fuse the candidate lists into one ranking, best first.

    method "z":     sum_i w_i * (score_i - mean_i) / std_i, mean and std over list i's candidates;
                    a record absent from list i gets list i's lowest standardised score
    method "score": sum_i w_i * score_i / max(score_i)   (each list's scores divided by its best,
                    so BM25's unbounded scores and cosines share a 0..1 scale; absent = 0)
    method "rrf":   sum_i w_i / (k + rank_i)            (reciprocal-rank fusion)
    """
    w = DEFAULT_WEIGHTS if weights is None else weights
    method = method or FUSION
    k = RRF_K if k is None else k
    parts: list[tuple[float, dict[str, float], float]] = []  # (weight, {id: value}, value when absent)
    for name in ("bm25", "records", "sentences"):
        wi = w.get(name, 0.0)
        ranked = getattr(c, name)
        if not wi or not ranked:
            continue
        vals = [s for _, s in ranked]
        if method == "rrf":
            parts.append((wi, {rid: 1.0 / (k + rank) for rank, (rid, _) in enumerate(ranked, start=1)}, 0.0))
        elif method == "z":
            mean = sum(vals) / len(vals)
            std = (sum((v - mean) ** 2 for v in vals) / len(vals)) ** 0.5
            # every candidate scored alike (or just one): the list says nothing about order, but its
            # candidates stay candidates
            z = {rid: ((s - mean) / std if std > 0 else 0.0) for rid, s in ranked}
            parts.append((wi, z, min(z.values())))
        else:
            top = max(vals)
            parts.append((wi, {rid: (s / top if top > 0 else 0.0) for rid, s in ranked}, 0.0))
    ids = {rid for _, vals, _ in parts for rid in vals}
    scores = {rid: sum(wi * vals.get(rid, floor) for wi, vals, floor in parts) for rid in ids}
    return sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))


# --------------------------------------------------------------------------- filters
def mechanism_names(store) -> dict[str, str]:
    """{id: name} of the theory's mechanisms (what the corpus was coded with), {} before mechanisms exist."""
    from synth.mechanisms.codes import theory_names

    return theory_names(store)["mechanisms"]


def mechanism_ids(project, store) -> set[str]:
    """Mechanism ids a filter may name: the theory's plus any emergent codes stored."""
    from synth.mechanisms.codes import coded_ids

    return coded_ids(store, "mechanism") | set(mechanism_names(store))


def effective_mechanisms(store, record_ids: list[str] | None) -> dict[str, dict[str, dict]]:
    """{record_id: {mechanism: {...}}} with human curation applied (the codes API); {} before coding exists."""
    from synth.mechanisms.codes import effective_mechanisms as eff

    return eff(store, record_ids)


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
    ids = store.ids_where(year_from=f.year_from, year_to=f.year_to, designs=f.designs, sources=f.sources)
    if f.mechanisms:
        # The codes API decides (curation applied): automatic codes alone would keep rejected ones.
        wanted = set(f.mechanisms)
        ids &= {rid for rid, mechs in effective_mechanisms(store, None).items() if wanted & set(mechs)}
    return ids




# --------------------------------------------------------------------------- the searcher
class Searcher:
    """Opens the store, the BM25 index and (lazily) the vector index and query encoder of a project."""

    def __init__(self, project, store=None):
        self.project = project
        self.store = store or project.store()
        self._vectors = None
        self._snapshot = None
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

            import sys

            idx = LexicalIndex.load(self.project)
            if idx is None:
                # Built by `synth index` and `synth refresh`; this catches a project indexed
                # before the lexical step existed. Saved, so it happens once, not per query.
                print("Building the lexical index…", file=sys.stderr)
                build_lexical(self.project)
                idx = LexicalIndex.load(self.project)
            elif not idx.is_current(self.store):
                # Never rebuilt here: a refresh may be writing the store right now, and it
                # rebuilds the index itself when it is done.
                print("note: records were added since the lexical index was built; `synth index` updates it",
                      file=sys.stderr)
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
    def snapshot(self):
        """The numpy snapshot of the embedded index when it is current, else None (use Chroma).
        It spares a cold search the ~0.8 s import of chromadb (index/snapshot.py)."""
        if self._snapshot is None:
            from index import vectors as V
            from index.snapshot import Snapshot

            self._snapshot = False
            pointer = V.active_pointer(self.project)
            if pointer is not None and V.chroma_location(self.project) == "embedded":
                V.check_model(self.project, pointer)
                snap = Snapshot.load(self.project, self.store, V.gen_key(pointer))
                if snap is not None and snap.count("records"):
                    self._snapshot = snap
        return self._snapshot or None

    def get_vectors(self, ids: list[str], kind: str):
        return (self.snapshot or self.vectors).get_vectors(ids, kind)

    @property
    def encoder(self):
        if self._encoder is None:
            from index.query_encoder import QueryEncoder

            self._encoder = QueryEncoder.for_project(self.project)
        return self._encoder

    def query_stems(self, query: str) -> set[str]:
        from synth import highlight

        return highlight.query_stems(query, self.lexical.stopwords)

    def embed(self, text: str):
        return self.encoder.encode([text])[0]

    # -- retrieval
    def candidates(self, query: str, filters: Filters | None = None, dense: bool = True, lexical: bool = True,
                   n: int = CANDIDATES, terms: dict[str, float] | None = None) -> Candidates:
        """Each method's candidates for QUERY (BM25 asked for TERMS when given: weighted stems)."""
        f = filters or Filters()
        allowed = allowed_ids(self.store, f)
        banned = self.banned(f)

        def ok(rid: str) -> bool:
            return rid not in banned and (allowed is None or rid in allowed)

        out = Candidates(ok=ok)
        if allowed is not None and not allowed:
            return out
        if dense:
            _ = self.encoder  # starts loading the ONNX session on its own thread while BM25 and chromadb load
        if lexical:
            out.terms = dict(terms) if terms is not None else self.lexical.query_terms(query)
            out.bm25 = self._bm25(out.terms, ok, n)
        if dense:
            q = self.embed(query)
            out.records = self._dense_records(q, allowed, banned, ok, n)
            out.sentences, out.best_sentence = self._dense_sentences(q, allowed, banned, ok, n)
        return out

    def banned(self, f: Filters) -> set[str]:
        """Ids no result may carry: records excluded at screening (unless asked for) and records merged
        into another since the indexes were built (until `synth index` drops them)."""
        out = self.store.merged_away_ids()
        return out if f.include_excluded else out | excluded_ids(self.store)

    def _bm25(self, terms: dict[str, float], ok, n: int) -> list[tuple[str, float]]:
        import numpy as np

        lex = self.lexical
        scores = lex.scores(terms)
        out: list[tuple[str, float]] = []
        hits = np.flatnonzero(scores > 0)  # only matching records need sorting
        for i in hits[np.argsort(-scores[hits], kind="stable")]:
            if len(out) >= n:
                break
            if ok(lex.ids[i]):
                out.append((lex.ids[i], float(scores[i])))
        return out

    def query_terms(self, query: str, ranking: Ranking = SHIPPED) -> dict[str, float]:
        """The query's weighted stems for BM25, plus the phrases of a mechanism or outcome it names."""
        terms = self.lexical.query_terms(query)
        if ranking.theory:
            terms.update(expansion.theory_terms(self.lexical, query, expansion.theory_codes(self.store, self.project),
                                                ranking.theory))
        return terms

    def rank(self, query: str, filters: Filters | None = None, ranking: Ranking = SHIPPED,
             n: int = CANDIDATES) -> tuple[list[tuple[str, float]], Candidates]:
        """The fused ranking of every candidate, best first, and the candidate lists behind it."""
        from synth.lexical import document_text

        c = self.candidates(query, filters, n=n, terms=self.query_terms(query, ranking))
        fused = fuse(c, ranking.weight_map, method=ranking.fusion)
        if ranking.feedback and c.bm25 and fused:
            top = [rid for rid, _ in fused[:ranking.feedback_docs]]
            recs = self.store.records_by_id(top)
            texts = [document_text(recs[rid]) for rid in top if rid in recs]
            c.terms = expansion.feedback_terms(self.lexical, c.terms, texts, ranking.feedback_terms, ranking.feedback)
            c.bm25 = self._bm25(c.terms, c.ok, n)
            fused = fuse(c, ranking.weight_map, method=ranking.fusion)
        if ranking.near_miss and fused and not expansion.asks_for_near_misses(
                self.lexical, query, expansion.near_miss_cues(self.store, self.project)):
            floor = relevance_floor(self.store)
            if floor is not None:
                rel = self.store.relevances_of([rid for rid, _ in fused])
                fused = expansion.sink_near_misses(fused, rel, floor, ranking.near_miss)
        return fused, c

    def _dense(self, kind: str, q, ok, want: int, allowed: set[str] | None, enough) -> list[tuple[str, float, dict]]:
        from index.vectors import nearest

        return nearest(kind, q, want, ok, enough, allowed, self.snapshot, lambda: self.vectors.collection(kind))

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
        ranking = SHIPPED if weights is None else Ranking(weights=tuple(weights.items()))
        fused, c = self.rank(query, f, ranking)
        return self.present(fused[:k], query=query, c=c)

    def similar(self, ref: str, k: int = 10, filters: Filters | None = None) -> tuple[dict, list[dict]]:
        """Records nearest to a stored record's vector (the record itself left out)."""
        self.require_corpus()
        rec = self.resolve(ref)
        f = filters or Filters()
        validate_filters(self.project, self.store, f)
        found, vecs = self.get_vectors([rec["id"]], "records")
        if not found:
            raise SynthError(f"record {rec['id']} is not indexed yet; run `synth index`")
        allowed = allowed_ids(self.store, f)
        banned = self.banned(f)
        banned.add(rec["id"])

        def ok(rid):
            return rid not in banned and (allowed is None or rid in allowed)

        ranked = self._dense_records(vecs[0], allowed, banned, ok, k)
        return rec, self.present(ranked)

    def resolve(self, ref: str) -> dict:
        rec = self.store.get(ref)
        if rec is None:
            raise SynthError(f"no record {ref!r} (give a synth id, DOI, PMID, PMCID or OpenAlex id)")
        return rec

    # -- presenting
    def present(self, ranked: list[tuple[str, float]], query: str | None = None, c: Candidates | None = None) -> list[dict]:
        """Result dicts for ranked (id, score) pairs, fetched in batches (one query per table, not per result)."""
        from synth import highlight

        ids = [rid for rid, _ in ranked]
        if not ids:
            return []
        rows = self.store.records_by_id(ids, brief=True)
        sources = {rid: sorted({p["source"] for p in prov}) for rid, prov in self.store.provenance_of_many(ids).items()}
        mechs = effective_mechanisms(self.store, ids)
        from synth import retractions as R

        retracted = R.retractions(self.store, ids)
        notices = R.notice_ids(self.store) & set(ids)
        floor = relevance_floor(self.store)
        snippets = self.best_sentences(ids, query, c) if query else {}
        stems = self.query_stems(query) if query else set()
        out = []
        for rank, (rid, score) in enumerate(ranked, start=1):
            r = rows[rid]
            authors = r["authors"] or []
            first = authors[0] if authors else ""
            first = (first.get("family") or "") if isinstance(first, dict) else str(first).split(",")[0]
            m = mechs.get(rid, {})
            d = {"rank": rank, "score": round(score, 4), "id": rid, "doi": r["doi"], "pmid": r["pmid"], "pmcid": r["pmcid"],
                 "openalex": r["openalex"], "title": r["title"], "year": r["year"], "journal": r["journal"],
                 "first_author": first, "design": r["design"], "relevance": r["relevance"], "sources": sources.get(rid, []),
                 "mechanisms": sorted(m, key=lambda code: -m[code]["score"]),
                 "retracted": rid in retracted, "retraction": _retraction_brief(retracted.get(rid)),
                 "retraction_notice": rid in notices,
                 "near_miss": r["relevance"] is not None and floor is not None and r["relevance"] < floor,
                 "protocol": r["design"] == "protocol"}
            if query:
                sent = snippets.get(rid)
                text = highlight.trim(sent["text"], stems) if sent else ""
                d.update(snippet=text, snippet_section=sent["section"] if sent else "", snippet_idx=sent["idx"] if sent else None,
                         highlights=highlight.matched_terms(text, stems), snippet_marked=highlight.mark_plain(text, stems),
                         matched_by={name: next((i for i, (x, _) in enumerate(getattr(c, name), start=1) if x == rid), None)
                                     for name in ("bm25", "records", "sentences")} if c else {})
            out.append(d)
        return out

    def sentences_of(self, rid: str) -> list[dict]:
        return self._sentences([rid]).get(rid, [])

    def _sentences(self, ids: list[str]) -> dict[str, list[dict]]:
        """Evidence sentences per record as `synth index` stored them (split on the fly if not indexed yet)."""
        out = self.store.sentences_of_many(ids)
        missing = [rid for rid in ids if not out.get(rid)]
        if missing:
            from synth.sentences import split_abstract

            for rid in missing:
                rec = self.store.get(rid) or {}
                out[rid] = [{"idx": x.idx, "section": x.section, "text": x.text, "role": None} for x in split_abstract(rec.get("abstract") or "")]
        return out

    def best_sentences(self, ids: list[str], query: str, c: Candidates | None) -> dict[str, dict]:
        """Per record, the evidence sentence that best matches the query: cosine to the query plus a
        bonus for the share of query terms it contains (so the sentence with the exact terms wins
        over a loose paraphrase, and a concept query still gets the closest sentence)."""
        from synth import highlight

        stems = self.query_stems(query)
        sents = self._sentences(ids)
        q = self.embed(query)
        sids = [f"{rid}:{x['idx']}" for rid in ids for x in sents.get(rid, [])]
        found, mat = self.get_vectors(sids, "sentences")
        cos = dict(zip(found, (mat @ q).tolist())) if found else {}
        out = {}
        for rid in ids:
            best, best_score = None, float("-inf")
            for x in sents.get(rid, []):
                matched = highlight.matched_stems(x["text"], stems)
                score = cos.get(f"{rid}:{x['idx']}", 0.0) + 0.3 * len(matched) / max(1, len(stems))
                if score > best_score:
                    best, best_score = x, score
            if best:
                out[rid] = best
        return out


def relevance_floor(store) -> float | None:
    """The coder's relevance threshold: records below it are near misses (None before coding exists)."""
    try:
        from synth.mechanisms.codes import relevance_min
    except ImportError:
        return None
    return relevance_min(store)


def _retraction_brief(info: dict | None) -> dict | None:
    """What a search result says about a retraction (synth.retractions.retraction_of, shortened)."""
    if not info:
        return None
    return {k: info.get(k) for k in ("date", "notice_pmid", "notice_doi", "notice", "sources")}
