"""Search quality: nDCG@10 and recall@20 of every ranking method on a judged query set.

    python bench/bench_search_quality.py [--half tune|report|both] [--keep DIR] [--json OUT]
    python bench/bench_search_quality.py --corpus sample [--json OUT]

Realistic mode (the default): the 502 records of bench/data/search/corpus_keys.json (abstracts
modelled on real studies: synth/data/labelled/batch_a.jsonl + bench/data/labelled/batch_b.jsonl) are
written to a JSONL export and brought in as a user would: `synth import` (synth.importers), then
`synth index` (designs + BM25 + the real model's vectors + the search snapshot), then
`synth mechanisms` (codes and relevance from the bundled coder). The 64 queries of
bench/data/search/queries.jsonl, graded by annotators who never saw the code
(bench/data/search/README.md), are split once into a tuning half and a reporting half
(alternating within each kind of query, by query id). Tuning reads the tuning half only; a run
with --half report or both prints the reporting half, and is logged in
bench/results/search_quality_runs.jsonl so the order of runs is on record.

Methods: each single list (BM25; dense record vectors; dense best sentence), the fused search as
it was shipped before (score fusion 1 / 1 / 0.5 divided by each list's best), and each idea on its
own, each with a small grid of settings whose best *tuning-half* setting is reported; then the kept
combination (synth/search.py as shipped) on both halves. An idea is kept when, on the tuning half,
it raises nDCG@10 by at least 0.005 without lowering recall@20 by more than 0.005.

Sample mode: the bundled synthetic sample corpus (synth/data/sample_corpus.jsonl) and its 38
judged queries (bench/data/judged_queries.yaml), written by the project itself; single methods,
the old fused search and the shipped one, all queries, no tuning.

Metrics: nDCG@10 with gain 2^grade - 1 (ideal from all graded records of the query); recall@20
counts grade >= 1; unjudged records count as 0; judged@10 says how much of a top 10 was judged, and
ndcg@10_judged_only is nDCG@10 over the judged records alone (unjudged ones dropped from the ranking).
"""

from __future__ import annotations

import argparse
import hashlib
import itertools
import json
import math
import os
import re
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

DATA = REPO / "bench" / "data" / "search"     # judged set 1 (tuning since set 2 exists)
DATA2 = REPO / "bench" / "data" / "search2"   # judged set 2 (reporting)
BATCHES = tuple(REPO / p for p in ("synth/data/labelled/batch_a.jsonl", "synth/data/labelled/batch_a3.jsonl",
                                   "synth/data/labelled/batch_a4.jsonl", "bench/data/labelled/batch_b.jsonl"))
RESULTS = REPO / "bench" / "results" / "search_quality.json"
RESULTS2 = REPO / "bench" / "results" / "search_quality_set2.json"
RUN_LOG = REPO / "bench" / "results" / "search_quality_runs.jsonl"
SAMPLE_QUERIES = REPO / "bench" / "data" / "judged_queries.yaml"
SAMPLE_CORPUS = REPO / "synth" / "data" / "sample_corpus.jsonl"

# synth search from 2026-12-02 to 2026-12-04: chosen on set 1's tuning half (docs/search.md)
SHIPPED_12_02_ARGS = {"feedback": 0.1, "near_miss": 0.0}
BEFORE = ({"bm25": 1.0, "records": 1.0, "sentences": 0.5}, "score")  # the fused search before issue 16
KEEP_NDCG, KEEP_RECALL = 0.005, 0.005  # what "helps on the tuning half" means (module docstring)


# --------------------------------------------------------------------------- metrics
def ndcg(ranked: list[str], grades: dict[str, float], k: int = 10) -> float:
    dcg = sum((2 ** grades.get(d, 0) - 1) / math.log2(i + 2) for i, d in enumerate(ranked[:k]))
    ideal = sorted(grades.values(), reverse=True)[:k]
    idcg = sum((2 ** g - 1) / math.log2(i + 2) for i, g in enumerate(ideal))
    return dcg / idcg if idcg else 0.0


def recall(ranked: list[str], grades: dict[str, float], k: int = 20) -> float:
    rel = {d for d, g in grades.items() if g > 0}
    return len(rel & set(ranked[:k])) / len(rel) if rel else 0.0


def evaluate(runs: dict[str, list[str]], queries: list[dict]) -> dict:
    if not queries:
        return {}
    n = [ndcg(runs[q["id"]], q["grades"]) for q in queries]
    r = [recall(runs[q["id"]], q["grades"]) for q in queries]
    j = [sum(1 for d in runs[q["id"]][:10] if d in q["judged"]) / max(1, min(10, len(runs[q["id"]]))) for q in queries]
    # nDCG over the judged records only (Sakai's condensed list): how much unjudged records cost a method
    cond = [ndcg([d for d in runs[q["id"]] if d in q["judged"]], q["grades"]) for q in queries]
    return {"ndcg@10": round(sum(n) / len(n), 4), "recall@20": round(sum(r) / len(r), 4),
            "judged@10": round(sum(j) / len(j), 3), "ndcg@10_judged_only": round(sum(cond) / len(cond), 4),
            "queries": len(queries),
            "per_query_ndcg": {q["id"]: round(x, 4) for q, x in zip(queries, n)}}


# --------------------------------------------------------------------------- the judged set
def halves(queries: list[dict]) -> dict[str, str]:
    """qid -> 'tune' | 'report': alternating within each kind, in query-id order (fixed)."""
    out: dict[str, str] = {}
    kinds: dict[str, list[dict]] = {}
    for q in queries:
        kinds.setdefault(q["kind"], []).append(q)
    for group in kinds.values():
        for j, q in enumerate(sorted(group, key=lambda q: q["qid"])):
            out[q["qid"]] = "tune" if j % 2 == 0 else "report"
    return out


def load_judged(folder: Path = DATA, split: bool = True) -> list[dict]:
    queries = [json.loads(line) for line in (folder / "queries.jsonl").read_text(encoding="utf-8").splitlines() if line.strip()]
    grades: dict[str, dict[str, int]] = {}
    for path in sorted(folder.glob("judgments_*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                d = json.loads(line)
                if d["qid"] in grades:
                    raise SystemExit(f"{d['qid']} judged twice ({path.name})")
                grades[d["qid"]] = d["grades"]
    missing = [q["qid"] for q in queries if q["qid"] not in grades]
    if missing:
        raise SystemExit(f"queries without judgments: {missing}")
    half = halves(queries) if split else {q["qid"]: "set2" for q in queries}
    return [{"id": q["qid"], "kind": q["kind"], "query": q["query"], "need": q.get("need", ""), "half": half[q["qid"]],
             "relevant": grades[q["qid"]]} for q in queries]


def corpus_records(folder: Path = DATA) -> tuple[list[dict], list[str]]:
    """The corpus records named in corpus_keys.json, in that order, and the keys not found."""
    keys = json.loads((folder / "corpus_keys.json").read_text())
    found: dict[str, dict] = {}
    for path in BATCHES:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                r = json.loads(line)
                found.setdefault(r["key"], r)
    return [found[k] for k in keys if k in found], [k for k in keys if k not in found]


def export_line(r: dict) -> dict:
    """A record as a database export would give it: citation fields, title, abstract."""
    c = r.get("citation") or {}
    authors = [a.strip() for a in re.split(r",\s*", c.get("authors") or "") if a.strip() and a.strip() != "et al."]
    return {"title": r["title"], "abstract": r["abstract"], "authors": authors, "year": c.get("year"),
            "journal": c.get("journal") or "", "doi": c.get("doi") or None}


def corpus_fingerprint(records: list[dict]) -> str:
    h = hashlib.sha256()
    for r in records:
        h.update(json.dumps(export_line(r), sort_keys=True).encode())
    return h.hexdigest()[:16]


def build_realistic_project(root: Path, records: list[dict], progress: bool = False):
    """Import, index and code RECORDS as a user would. Returns (project, build summary)."""
    from index.indexer import sync
    from synth.importers import read_all, store_results
    from synth.lexical import ensure_lexical
    from synth.mechanisms.pipeline import code_project
    from synth.project import init_project

    t0 = time.perf_counter()
    project = init_project(root)
    export = root / "export.jsonl"
    export.write_text("".join(json.dumps(export_line(r), ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    store = project.store()
    try:
        run_id = store.start_run("import")
        imported = store_results(store, read_all([str(export)], "auto", None), run_id)["total"]
        store.finish_run(run_id, "ok", {})
    finally:
        store.close()
    lexical = ensure_lexical(project)
    index = sync(project, progress=progress)
    coded = code_project(project, progress=progress)
    summary = {"imported": imported, "designs": lexical.get("designs"), "sentences": index["sentences"],
               "index_s": index["seconds"], "coded": coded["coded"], "near_misses": coded["near_misses"],
               "build_s": round(time.perf_counter() - t0, 1)}
    (root / "bench-build.json").write_text(json.dumps({"fingerprint": corpus_fingerprint(records), **summary}))
    return project, summary


def realistic_project(keep: str | None, records: list[dict], rebuild: bool):
    from synth.project import load_project

    if keep:
        root = Path(keep) / "review"
        stamp = root / "bench-build.json"
        if stamp.exists() and not rebuild:
            info = json.loads(stamp.read_text())
            if info.get("fingerprint") == corpus_fingerprint(records):
                return load_project(root), info
        if root.exists():
            import shutil

            shutil.rmtree(root)
    else:
        root = Path(tempfile.mkdtemp(prefix="synth-bench-search-")) / "review"
    return build_realistic_project(root, records)


def key_to_id(store, records: list[dict]) -> dict[str, str]:
    """Corpus key -> live record id (by DOI where the record has one, else by its exact title)."""
    by_title: dict[str, list[str]] = {}
    for row in store.conn.execute("SELECT id, title FROM records WHERE merged_into IS NULL"):
        by_title.setdefault(row[1], []).append(row[0])
    out = {}
    for r in records:
        doi = (r.get("citation") or {}).get("doi")
        got = store.get(doi) if doi else None
        if got is None:
            ids = by_title.get(r["title"]) or []
            if len(ids) != 1:
                raise SystemExit(f"{r['key']}: {len(ids)} stored records with its title")
            got = store.get(ids[0])
        out[r["key"]] = got["id"]
    return out


# --------------------------------------------------------------------------- what each query needs
class Lab:
    """One project's data for the ranking experiments: the searcher (store, BM25, snapshot, encoder)
    plus arrays over all records, so each idea can be computed the way synth would compute it."""

    def __init__(self, project):
        import numpy as np

        from synth.search import Searcher

        self.np = np
        self.s = Searcher(project)
        self.project = project
        self.store = self.s.store
        self.lex = self.s.lexical
        snap = self.s.snapshot
        if snap is None:
            raise SystemExit("the project has no current vector snapshot; run `synth index`")
        self.snap = snap
        self.rec_ids = list(snap.ids["records"])
        self.pos = {r: i for i, r in enumerate(self.rec_ids)}
        self.R = np.asarray(snap.mats["records"])
        self.S = np.asarray(snap.mats["sentences"])
        self.owner = np.array([self.pos[x.rsplit(":", 1)[0]] for x in snap.ids["sentences"]])
        rows = {r["id"]: r for r in self.store.conn.execute(
            "SELECT id, title, abstract, design, relevance FROM records WHERE merged_into IS NULL")}
        self.rows = rows
        self.cands: dict[str, object] = {}
        self.qvec: dict[str, object] = {}

    def candidates(self, q: dict):
        if q["id"] not in self.cands:
            self.cands[q["id"]] = self.s.candidates(q["query"], n=100)
            self.qvec[q["id"]] = self.s.embed(q["query"])
        return self.cands[q["id"]]


def ranked(c, weights, method) -> list[str]:
    from synth.search import fuse

    return [rid for rid, _ in fuse(c, weights, None, method)]


def with_lists(c, **lists):
    """A copy of candidates C with some lists replaced."""
    from synth.search import Candidates

    return Candidates(bm25=lists.get("bm25", c.bm25), records=lists.get("records", c.records),
                      sentences=lists.get("sentences", c.sentences), best_sentence=c.best_sentence)


def top_list(lab: Lab, scores, n: int = 100, positive: bool = False) -> list[tuple[str, float]]:
    np = lab.np
    order = np.argsort(-scores, kind="stable")[:n]
    return [(lab.rec_ids[i], float(scores[i])) for i in order if not positive or scores[i] > 0]


def bm25_array(lab: Lab, terms: dict[str, float]):
    """BM25 of every record (snapshot order) for weighted stemmed TERMS, from the lexical index's matrix."""
    np = lab.np
    out = np.zeros(len(lab.lex.ids), dtype=np.float64)
    data, indices, indptr = lab.lex.matrix
    for t, w in terms.items():
        tid = lab.lex.vocab.get(t)
        if tid is None:
            continue
        a, b = int(indptr[tid]), int(indptr[tid + 1])
        out[indices[a:b]] += w * data[a:b]
    res = np.zeros(len(lab.rec_ids))
    res[[lab.pos[r] for r in lab.lex.ids]] = out
    return res


# --------------------------------------------------------------------------- the ideas
# Each idea: name -> (grid of settings, function(lab, query, candidates, setting) -> ranked ids).
# They start from the calibrated fusion (see `base`) and change one thing.

def base_fusion(setting=None):
    from synth import search as S

    return (S.DEFAULT_WEIGHTS, S.FUSION) if setting is None else setting


def idea_theory(lab: Lab, q, c, setting):
    """The programme theory: a query naming a mechanism or outcome (one of its phrases, specific
    enough: its rarest word in under 20 % of records) gains the code's phrases in BM25 (weight LAM
    shared among them) and its description in the dense query (weight ALPHA)."""
    lam, alpha = setting
    np = lab.np
    codes = theory_codes(lab)
    qstems = lab.lex.tokenize(q["query"])
    hit = [c_ for c_ in codes if any(_contains(qstems, t) for t in c_["triggers"])]
    if not hit:
        return ranked(c, *base_fusion())
    extra: dict[str, float] = {}
    for code in hit:
        for t in code["terms"]:
            if t not in qstems:
                extra[t] = 1.0
    terms = {t: 1.0 for t in qstems}
    if extra and lam:
        terms.update({t: lam / math.sqrt(len(extra)) for t in extra})
    bm = bm25_array(lab, terms)
    qv = lab.qvec[q["id"]]
    if alpha:
        dv = lab.s.embed(" ".join(code["text"] for code in hit))
        qv = qv + alpha * dv
        qv = qv / np.linalg.norm(qv)
    c2 = with_lists(c, bm25=top_list(lab, bm, positive=True), records=top_list(lab, lab.R @ qv))
    return ranked(c2, *base_fusion())


def _contains(seq, sub) -> bool:
    return any(seq[i:i + len(sub)] == sub for i in range(len(seq) - len(sub) + 1))


def theory_codes(lab: Lab) -> list[dict]:
    if getattr(lab, "_codes", None) is None:
        from collections import Counter

        from synth.mechanisms.theory import load_theory

        th = load_theory(lab.project)
        df = Counter()
        for r in lab.rows.values():
            df.update(set(lab.lex.tokenize(f"{r['title']}\n{r['abstract'] or ''}")))
        n = len(lab.rows)
        out = []
        for kind in ("mechanisms", "outcomes"):
            for code in getattr(th, kind):
                trig = [lab.lex.tokenize(p) for p in (code.name, *code.phrases)]
                trig = [t for t in trig if t and min(df.get(x, 0) for x in t) / n < 0.2]
                terms = sorted({t for p in code.phrases for t in lab.lex.tokenize(p)})
                text = getattr(code, "description", "") or f"{code.name}: {', '.join(code.phrases)}"
                out.append({"id": code.id, "triggers": trig, "terms": terms, "text": text})
        lab._codes = out
    return lab._codes


def idea_prf(lab: Lab, q, c, setting):
    """Pseudo-relevance feedback. dense: the dense query moves towards the record vectors of BM25's
    top K (Rocchio, weight BETA). rm3: BM25 gains the top K fused records' most distinctive terms."""
    kind, k, beta = setting
    np = lab.np
    if kind == "dense":
        top = [lab.pos[r] for r, _ in c.bm25[:k]]
        if not top:
            return ranked(c, *base_fusion())
        centroid = lab.R[top].mean(axis=0)
        qv = lab.qvec[q["id"]] + beta * centroid / np.linalg.norm(centroid)
        qv = qv / np.linalg.norm(qv)
        c2 = with_lists(c, records=top_list(lab, lab.R @ qv))
        return ranked(c2, *base_fusion())
    from collections import Counter

    first = ranked(c, *base_fusion())[:k]
    df = rm3_df(lab)
    n = len(lab.rows)
    w = Counter()
    for rid in first:
        r = lab.rows[rid]
        toks = lab.lex.tokenize(f"{r['title']}\n{r['title']}\n{r['abstract'] or ''}")
        for t, f in Counter(toks).items():
            w[t] += f / len(toks) * math.log(n / df[t])
    qstems = lab.lex.tokenize(q["query"])
    exp = [(t, v) for t, v in w.most_common(60) if t not in qstems and t in lab.lex.vocab][:10]
    total = sum(v for _, v in exp) or 1.0
    terms = {t: 1.0 - beta for t in qstems}
    for t, v in exp:
        terms[t] = terms.get(t, 0.0) + beta * len(set(qstems)) * v / total
    c2 = with_lists(c, bm25=top_list(lab, bm25_array(lab, terms), positive=True))
    return ranked(c2, *base_fusion())


def rm3_df(lab: Lab):
    if getattr(lab, "_df", None) is None:
        from collections import Counter

        lab._df = Counter()
        for r in lab.rows.values():
            lab._df.update(set(lab.lex.tokenize(f"{r['title']}\n{r['abstract'] or ''}")))
    return lab._df


def idea_fields(lab: Lab, q, c, setting):
    """Field weighting: the BM25 document rebuilt with the title repeated TW times and each evidence
    sentence repeated by its coded role (synth.mechanisms roles: aim, methods, finding, conclusion,
    background)."""
    idx = field_index(lab, setting)
    scores = idx.scores(q["query"])
    arr = lab.np.zeros(len(lab.rec_ids))
    arr[[lab.pos[r] for r in idx.ids]] = scores
    c2 = with_lists(c, bm25=top_list(lab, arr, positive=True))
    return ranked(c2, *base_fusion())


def field_index(lab: Lab, setting):
    """A LexicalIndex built by synth.lexical.build_lexical with another document text, in a scratch folder."""
    cache = lab.__dict__.setdefault("_fields", {})
    if setting in cache:
        return cache[setting]
    from synth import lexical as L

    tw, role_w = setting
    role_w = dict(role_w)
    roles: dict[str, list[tuple[str, str]]] = {}
    for row in lab.store.conn.execute("SELECT record_id, role, text FROM sentences ORDER BY record_id, idx"):
        roles.setdefault(row[0], []).append((row[1], row[2]))

    def text(rec):
        parts = [rec.get("title") or ""] * tw
        for role, t in roles.get(rec["id"], []):
            parts += [t] * role_w.get(role, 1)
        parts.extend(rec.get("keywords") or [])
        parts.extend(rec.get("mesh") or [])
        return "\n".join(parts)

    folder = Path(tempfile.mkdtemp(prefix="synth-fields-"))

    class Scratch:  # what build_lexical needs of a project, with the index written elsewhere
        data_dir = folder

        def store(self):
            return lab.project.store()

    old = L.document_text
    L.document_text = text
    try:
        L.build_lexical(Scratch())
    finally:
        L.document_text = old
    cache[setting] = L.LexicalIndex.load(Scratch())
    return cache[setting]


def idea_sentence_bm25(lab: Lab, q, c, setting):
    """Evidence-sentence BM25: a BM25 index whose documents are the evidence sentences (and titles);
    a record scores its best sentence; added to the fusion as a fourth list with weight W."""
    w = setting
    np = lab.np
    model, owner = sentence_bm25(lab)
    toks = [t for t in lab.lex.tokenize(q["query"]) if t in model.vocab_dict]
    best = np.zeros(len(lab.rec_ids))
    if toks:
        np.maximum.at(best, owner, model.get_scores(toks))
    extra = top_list(lab, best, positive=True)
    return fuse_extra(lab, c, extra, w)


def sentence_bm25(lab: Lab):
    if getattr(lab, "_sbm", None) is None:
        import bm25s

        docs, owner = [], []
        for row in lab.store.conn.execute("SELECT record_id, text FROM sentences ORDER BY record_id, idx"):
            docs.append(lab.lex.tokenize(row[1]))
            owner.append(lab.pos[row[0]])
        for rid, r in lab.rows.items():
            docs.append(lab.lex.tokenize(r["title"] or ""))
            owner.append(lab.pos[rid])
        vocab: dict[str, int] = {}
        ids = [[vocab.setdefault(t, len(vocab)) for t in d] for d in docs]
        model = bm25s.BM25()
        model.index((ids, vocab), show_progress=False)
        lab._sbm = (model, lab.np.array(owner))
    return lab._sbm


def fuse_extra(lab: Lab, c, extra: list[tuple[str, float]], w: float) -> list[str]:
    """The calibrated fusion plus one more standardised list EXTRA with weight W."""
    from synth.search import fuse

    fused = dict(fuse(c, *_wm(base_fusion())))
    if extra and w:
        vals = [s for _, s in extra]
        mean = sum(vals) / len(vals)
        std = (sum((v - mean) ** 2 for v in vals) / len(vals)) ** 0.5 or 1.0
        z = {r: (s - mean) / std for r, s in extra}
        floor, absent = min(z.values()), _floor_of(c)
        for r in set(fused) | set(z):
            fused[r] = fused.get(r, absent) + w * z.get(r, floor)
    return [r for r, _ in sorted(fused.items(), key=lambda kv: (-kv[1], kv[0]))]


def _wm(setting):
    weights, method = setting
    return weights, None, method


def _floor_of(c) -> float:
    """The fused score of a record in none of C's lists (each list's lowest standardised score)."""
    from synth.search import Candidates, fuse

    weights, method = base_fusion()
    ghost = "\0ghost"
    lists = {}
    for name in ("bm25", "records", "sentences"):
        ranked_ = getattr(c, name)
        lists[name] = ranked_ + ([(ghost, min(s for _, s in ranked_))] if ranked_ else [])
    got = dict(fuse(Candidates(**lists), weights, None, method))
    return got.get(ghost, 0.0)


def idea_pooled(lab: Lab, q, c, setting):
    """Record vectors that cover the whole abstract: the mean of the record's stored sentence vectors
    (plus, with weight A, the record vector of title + first 256 word pieces), in place of the
    record vector."""
    a = setting
    np = lab.np
    if getattr(lab, "_pooled", None) is None:
        P = np.zeros_like(lab.R)
        np.add.at(P, lab.owner, lab.S)
        lab._pooled = P
    P = lab._pooled + a * lab.R
    P = P / np.maximum(np.linalg.norm(P, axis=1, keepdims=True), 1e-9)
    c2 = with_lists(c, records=top_list(lab, P @ lab.qvec[q["id"]]))
    return ranked(c2, *base_fusion())


def idea_relevance(lab: Lab, q, c, setting):
    """The relevance score: near misses (records.relevance below the coder's threshold) sink by
    PENALTY (in standard deviations of the fused score), unless the query names one of the scope's
    near-miss cues (theory.yaml scope.exclude: "bullying", "peer review", ...): then it asks for them.
    synth.expansion's own functions, as synth search runs them."""
    penalty = setting
    from synth import expansion
    from synth.mechanisms.codes import relevance_min
    from synth.search import fuse

    fused = fuse(c, *_wm(base_fusion()))
    if expansion.asks_for_near_misses(lab.lex, q["query"], expansion.near_miss_cues(lab.store, lab.project)):
        return [r for r, _ in fused]
    rel = {rid: r["relevance"] for rid, r in lab.rows.items() if r["relevance"] is not None}
    return [r for r, _ in expansion.sink_near_misses(fused, rel, relevance_min(lab.store), penalty)]


DESIGN_CUES = [
    (r"\bcluster[- ]randomi[sz]ed|\brandomi[sz]ed (controlled )?trial|\brct\b", ("rct",)),
    (r"\bqualitative\b", ("qualitative",)), (r"\brealist evaluation", ("realist_evaluation",)),
    (r"\brealist (review|synthesis)", ("realist_review",)), (r"\bprotocol\b", ("protocol",)),
    (r"\bsystematic review|\bmeta-analys", ("systematic_review",)), (r"\bscoping review", ("scoping_review",)),
    (r"\bmixed[- ]methods?\b", ("mixed_methods",)), (r"\blongitudinal\b|\bcohort\b", ("cohort",)),
    (r"\bcross-sectional\b|\bsurvey\b", ("cross_sectional",)), (r"\bquasi-experiment", ("quasi_experimental",)),
    (r"\bfeasibility\b|\bpilot\b", ("rct", "quasi_experimental")),
]


def idea_design(lab: Lab, q, c, setting):
    """Study design: a query naming a design lifts records classified with it (records.design) by BOOST sd."""
    boost = setting
    from synth.search import fuse

    wanted = {d for pat, ds in DESIGN_CUES if re.search(pat, q["query"].lower()) for d in ds}
    fused = fuse(c, *_wm(base_fusion()))
    if not wanted:
        return [r for r, _ in fused]
    out = [(rid, s + (boost if lab.rows[rid]["design"] in wanted else 0.0)) for rid, s in fused]
    return [r for r, _ in sorted(out, key=lambda kv: (-kv[1], kv[0]))]


IDEAS = {
    "theory expansion (mechanism / outcome named in the query)": (idea_theory, [(lam, a) for lam in (0.25, 0.5) for a in (0.0, 0.5, 1.0)]),
    "pseudo-relevance feedback": (idea_prf, [("dense", k, b) for k in (5, 10) for b in (0.5, 1.0)]
                                  + [("rm3", k, b) for k in (5, 10) for b in (0.1, 0.2)]),
    "field weighting (title, coded sentence roles)": (idea_fields, [(1, ()), (3, ()), (2, (("aim", 2),)), (2, (("conclusion", 2),)),
                                                                    (2, (("background", 0),)), (2, (("aim", 2), ("conclusion", 2)))]),
    "evidence-sentence BM25 (fourth list)": (idea_sentence_bm25, [0.1, 0.25, 0.5]),
    "record vectors over the whole abstract (pooled sentence vectors)": (idea_pooled, [0.0, 0.5, 1.0]),
    "relevance: near misses sink": (idea_relevance, [0.25, 0.5, 1.0]),
    "study design named in the query": (idea_design, [0.25, 0.5, 1.0]),
}


# --------------------------------------------------------------------------- runs
def weight_grid():
    for wr, ws in itertools.product((0.0, 0.125, 0.25, 0.5, 0.75, 1.0), (0.0, 0.125, 0.25, 0.5)):
        yield {"bm25": 1.0, "records": wr, "sentences": ws}


def realistic(args) -> dict:
    records, missing = corpus_records()
    if missing:
        print(f"warning: {len(missing)} corpus keys not in the labelled batches, left out: {missing}", file=sys.stderr)
    project, build = realistic_project(args.keep, records, args.rebuild)
    queries = load_judged()
    store = project.store()
    try:
        ids = key_to_id(store, records)
    finally:
        store.close()
    for q in queries:
        q["grades"] = {}
        for k, g in q["relevant"].items():
            if k in ids:
                q["grades"][ids[k]] = max(g, q["grades"].get(ids[k], 0))
        q["judged"] = set(q["grades"])
    show = {"tune": ["tune"], "report": ["report"], "both": ["tune", "report", "all"]}[args.half]
    by_half = {h: [q for q in queries if q["half"] == h] for h in ("tune", "report")}
    by_half["all"] = queries  # since set 2 exists, the whole of set 1 is its tuning set
    lab = Lab(project)
    t0 = time.perf_counter()
    for q in queries if "report" in show else by_half["tune"]:
        lab.candidates(q)
    per_query_ms = 1000 * (time.perf_counter() - t0) / max(1, len(lab.cands))

    def run(fn, halves_=show) -> dict:
        return {h: evaluate({q["id"]: fn(q) for q in by_half[h]}, by_half[h]) for h in halves_}

    table: dict[str, dict] = {}
    c_of = lab.candidates
    singles = {
        "BM25 alone": lambda q: [r for r, _ in c_of(q).bm25],
        "dense alone: record vectors": lambda q: [r for r, _ in c_of(q).records],
        "dense alone: best evidence sentence": lambda q: [r for r, _ in c_of(q).sentences],
        "dense: records + sentences (score fusion 1 / 0.5)": lambda q: ranked(c_of(q), {"records": 1.0, "sentences": 0.5}, "score"),
    }
    for name, fn in singles.items():
        table[name] = {"kind": "single", **run(fn)}
    table["fused before (score fusion 1 / 1 / 0.5, each list / its best)"] = {
        "kind": "before", **run(lambda q: ranked(c_of(q), *BEFORE))}

    # Calibration first: it decides how the lists combine, and the other ideas build on it.
    # Its weights are chosen on the tuning half: the best nDCG@10 whose recall@20 is at least BM25's.
    tune_q = by_half["tune"]
    bm25_tune = evaluate({q["id"]: singles["BM25 alone"](q) for q in tune_q}, tune_q)
    cal = []
    for method in ("z", "score"):
        for w in weight_grid():
            m = evaluate({q["id"]: ranked(c_of(q), w, method) for q in tune_q}, tune_q)
            cal.append((method, w, m["ndcg@10"], m["recall@20"]))
    ok = [x for x in cal if x[3] >= bm25_tune["recall@20"]] or cal
    best_z = max((x for x in ok if x[0] == "z"), key=lambda x: (x[2], x[3]))
    best_score = max((x for x in ok if x[0] == "score"), key=lambda x: (x[2], x[3]))
    table["score fusion, weights re-tuned (no calibration)"] = {
        "kind": "idea", "setting": describe(best_score[1], "score"), **run(lambda q: ranked(c_of(q), best_score[1], "score"))}
    table["score calibration before fusion (z-scores), weights re-tuned"] = {
        "kind": "idea", "setting": describe(best_z[1], "z"), **run(lambda q: ranked(c_of(q), best_z[1], "z"))}
    from synth import search as S

    shipped = (S.DEFAULT_WEIGHTS, S.FUSION)
    base_tune = evaluate({q["id"]: ranked(c_of(q), *shipped) for q in tune_q}, tune_q)

    ideas_out = {}
    for name, (fn, grid) in IDEAS.items():
        scored = []
        for setting in grid:
            m = evaluate({q["id"]: fn(lab, q, c_of(q), setting) for q in tune_q}, tune_q)
            scored.append((m["ndcg@10"], m["recall@20"], setting))
        nd, rc, setting = choose(scored, base_tune["recall@20"])
        helps = nd - base_tune["ndcg@10"] >= KEEP_NDCG and base_tune["recall@20"] - rc <= KEEP_RECALL
        ideas_out[name] = {"grid": [{"setting": repr(s_), "tune_ndcg@10": a, "tune_recall@20": b} for a, b, s_ in scored]}
        table[f"+ {name}"] = {"kind": "idea on the calibrated fusion", "setting": repr(setting), "helps_on_tune": helps,
                              **run(lambda q, fn=fn, setting=setting: fn(lab, q, c_of(q), setting))}
    # The kept combination is synth's own ranking (Searcher.rank), with each kept part left out in turn.
    table.update(shipped_variants(lab, run))

    out = {
        "mode": "realistic", "date": time.strftime("%Y-%m-%d"), "records": len(lab.rec_ids),
        "missing_keys": missing, "build": build, "halves": show,
        "queries": {h: len(v) for h, v in by_half.items()},
        "candidates_ms_per_query": round(per_query_ms, 1),
        "baseline_for_ideas": {"setting": describe(*shipped), "tune": {k: v for k, v in base_tune.items() if k != "per_query_ndcg"}},
        "calibration_grid_tune": [{"method": m, "weights": w, "ndcg@10": a, "recall@20": b} for m, w, a, b in cal],
        "ideas": ideas_out, "methods": table,
    }
    lab.s.close()
    return out


def shipped_variants(lab: Lab, run) -> dict:
    """synth search as shipped (Searcher.rank itself) and its ablations, each scored by RUN."""
    from synth import expansion
    from synth.search import SHIPPED, Ranking

    variants = {
        "kept combination: synth search as shipped": SHIPPED,
        "  the same without theory expansion": Ranking(theory=0.0),
        "  the same without the near-miss sink": Ranking(near_miss=0.0),
        "  the same with pseudo-relevance feedback": Ranking(feedback=expansion.FEEDBACK_WEIGHT),
        "  as shipped 2026-12-02 to 12-04 (feedback, no sink)": Ranking(**SHIPPED_12_02_ARGS),
    }
    return {name: {"kind": "shipped" if r == SHIPPED else "ablation", "setting": repr(r),
                   **run(lambda q, r=r: [x for x, _ in lab.s.rank(q["query"], ranking=r)[0]])}
            for name, r in variants.items()}


# Each idea's setting as set 1 chose it (its tuning half; bench/results/search_quality.json), for set 2.
SET1_SETTINGS = {
    "theory expansion (mechanism / outcome named in the query)": (0.25, 0.0),
    "pseudo-relevance feedback": ("rm3", 10, 0.1),
    "field weighting (title, coded sentence roles)": (3, ()),
    "evidence-sentence BM25 (fourth list)": 0.1,
    "record vectors over the whole abstract (pooled sentence vectors)": 0.5,
    "relevance: near misses sink": 0.5,
    "study design named in the query": 0.25,
}


def fresh(args) -> dict:
    """Judged set 2 (bench/data/search2): every query reports; nothing is chosen here. The 860 records
    of its corpus_keys.json, each single method, the fused search before issue 16, the calibrated
    fusion alone, each idea at set 1's setting, synth search as shipped and its ablations."""
    from synth import search as S

    records, missing = corpus_records(DATA2)
    if missing:
        raise SystemExit(f"{len(missing)} corpus keys of set 2 not in the labelled batches: {missing[:5]}")
    project, build = realistic_project(args.keep, records, args.rebuild)
    store = project.store()
    try:
        ids = key_to_id(store, records)
    finally:
        store.close()
    queries, judged = [], load_judged(DATA2, split=False)
    for q in judged:
        grades = {ids[k]: g for k, g in q["relevant"].items()}
        if any(g > 0 for g in grades.values()):  # a query nothing answers has no nDCG
            queries.append({**q, "grades": grades, "judged": set(grades)})
    lab = Lab(project)
    c_of = lab.candidates

    def run(fn) -> dict:
        got = evaluate({q["id"]: fn(q) for q in queries}, queries)
        kinds = {}
        for kind in sorted({q["kind"] for q in queries}):
            sub = [q for q in queries if q["kind"] == kind]
            kinds[kind] = evaluate({q["id"]: fn(q) for q in sub}, sub)["ndcg@10"]
        return {"set2": got, "by_kind_ndcg@10": kinds}

    methods = {
        "BM25 alone": lambda q: [r for r, _ in c_of(q).bm25],
        "dense alone: record vectors": lambda q: [r for r, _ in c_of(q).records],
        "dense alone: best evidence sentence": lambda q: [r for r, _ in c_of(q).sentences],
        "dense: records + sentences (score fusion 1 / 0.5)": lambda q: ranked(c_of(q), {"records": 1.0, "sentences": 0.5}, "score"),
        "fused before (score fusion 1 / 1 / 0.5, each list / its best)": lambda q: ranked(c_of(q), *BEFORE),
        "score calibration before fusion (z-scores)": lambda q: ranked(c_of(q), S.DEFAULT_WEIGHTS, S.FUSION),
    }
    table = {name: {"kind": "single" if i < 4 else "before" if i == 4 else "idea", **run(fn)}
             for i, (name, fn) in enumerate(methods.items())}
    for name, setting in SET1_SETTINGS.items():
        fn = IDEAS[name][0]
        table[f"+ {name}"] = {"kind": "idea on the calibrated fusion", "setting": repr(setting),
                              **run(lambda q, fn=fn, setting=setting: fn(lab, q, c_of(q), setting))}
    table.update(shipped_variants(lab, run))
    shipped = table["kept combination: synth search as shipped"]["set2"]["per_query_ndcg"]
    paired = {}
    for name in ("BM25 alone", "dense alone: record vectors"):
        d = [shipped[q["id"]] - table[name]["set2"]["per_query_ndcg"][q["id"]] for q in queries]
        mean = sum(d) / len(d)
        se = (sum((x - mean) ** 2 for x in d) / (len(d) - 1) / len(d)) ** 0.5
        paired[name] = {"mean": round(mean, 4), "se": round(se, 4)}
    lab.s.close()
    return {"mode": "set2", "date": time.strftime("%Y-%m-%d"), "records": len(lab.rec_ids), "build": build,
            "halves": ["set2"], "queries": {"set2": len(queries)},
            "dropped_queries": sorted({q["id"] for q in judged} - {q["id"] for q in queries}),
            "shipped_minus_single_ndcg@10": paired, "methods": table}


def choose(scored: list[tuple[float, float, object]], base_recall: float):
    """The setting an idea is tried with: the best tuning nDCG@10 among those losing at most
    KEEP_RECALL of recall@20, and of those within 0.001 of it the first in the grid (each grid lists
    the cheaper settings first)."""
    fine = [x for x in scored if base_recall - x[1] <= KEEP_RECALL] or scored
    best = max(x[0] for x in fine)
    return next(x for x in fine if x[0] >= best - 0.001)


def describe(weights, method) -> str:
    ws = ", ".join(f"{k} {weights.get(k, 0):g}" for k in ("bm25", "records", "sentences"))
    return {"z": "z-score calibration", "score": "score fusion (÷ best)", "rrf": "RRF"}[method] + f" ({ws})"


def sample(args) -> dict:
    """The bundled synthetic sample corpus and its 38 judged queries: single methods, before, shipped."""
    import yaml

    from index.indexer import sync
    from synth.lexical import build_lexical
    from synth.project import init_project
    from synth.records import Record
    from synth.search import Searcher

    root = Path(tempfile.mkdtemp(prefix="synth-bench-sample-", dir=args.keep)) / "sample"
    project = init_project(root)
    store = project.store()
    key_to: dict[str, str] = {}
    for line in SAMPLE_CORPUS.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        d = json.loads(line)
        for source in d.get("sources") or ["import"]:  # once per source: duplicates merge as in a harvest
            v = {**d, **(d.get("variants") or {}).get(source, {})}
            authors = [", ".join(x for x in (a.get("family"), a.get("given")) if x) if isinstance(a, dict) else str(a)
                       for a in v.get("authors") or []]
            rec = Record(title=v.get("title") or "", abstract=v.get("abstract") or "", doi=v.get("doi"), pmid=v.get("pmid"),
                         pmcid=v.get("pmcid"), openalex=v.get("openalex"), authors=authors, year=v.get("year"),
                         journal=v.get("journal") or "", pub_types=v.get("pub_types") or [], keywords=v.get("keywords") or [],
                         mesh=v.get("mesh") or [], language=v.get("language") or "", source=source,
                         source_id=v.get("pmid") or v.get("doi") or v.get("openalex") or d["key"])
            key_to[d["key"]] = store.upsert(rec)[1]
    key_to = {k: store.get(rid)["id"] for k, rid in key_to.items()}
    store.close()
    sync(project, progress=False)
    build_lexical(project)
    data = yaml.safe_load(SAMPLE_QUERIES.read_text(encoding="utf-8"))
    items = data.get("queries", data) if isinstance(data, dict) else data
    queries = []
    for i, q in enumerate(items):
        grades = {key_to[str(k)]: float(v) for k, v in (q.get("relevant") or {}).items() if str(k) in key_to}
        queries.append({"id": q.get("id") or f"q{i}", "query": q["query"], "grades": grades, "judged": set(grades)})
    s = Searcher(project)
    cands = {q["id"]: s.candidates(q["query"], n=100) for q in queries}
    from synth import search as S

    methods = {
        "BM25 alone": lambda q: [r for r, _ in cands[q["id"]].bm25],
        "dense alone: record vectors": lambda q: [r for r, _ in cands[q["id"]].records],
        "dense alone: best evidence sentence": lambda q: [r for r, _ in cands[q["id"]].sentences],
        "fused before (score fusion 1 / 1 / 0.5)": lambda q: ranked(cands[q["id"]], *BEFORE),
        "calibrated fusion alone (z-scores, bm25 1, records 0.25)": lambda q: ranked(cands[q["id"]], S.DEFAULT_WEIGHTS, S.FUSION),
        "synth search as shipped": lambda q: [x for x, _ in s.rank(q["query"], ranking=S.SHIPPED)[0]],
    }
    out = {"mode": "sample", "date": time.strftime("%Y-%m-%d"), "records": s.store.count(), "queries": len(queries),
           "methods": {name: {"all": evaluate({q["id"]: fn(q) for q in queries}, queries)} for name, fn in methods.items()}}
    s.close()
    return out


def print_table(out: dict) -> None:
    halves_ = [h for h in ("tune", "report", "all", "set2") if any(h in m for m in out["methods"].values())]
    print(f"# Search quality, {out['mode']} corpus: {out['records']} records ({out['date']})\n")
    head = " | ".join(f"{h} nDCG@10 | {h} recall@20" for h in halves_)
    print(f"| method | {head} | setting |")
    print("|---|" + "---:|---:|" * len(halves_) + "---|")
    for name, m in out["methods"].items():
        cells = " | ".join(f"{m[h]['ndcg@10']:.3f} | {m[h]['recall@20']:.3f}" if h in m else " | " for h in halves_)
        extra = m.get("setting", "")
        if "helps_on_tune" in m:
            extra += " — kept" if m["helps_on_tune"] else " — not kept"
        print(f"| {name} | {cells} | {extra} |")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--corpus", choices=("realistic", "sample"), default="realistic")
    ap.add_argument("--set", choices=("1", "2"), default="1",
                    help="realistic corpus: judged set 1 (tuning; its halves) or set 2 (reporting, 860 records)")
    ap.add_argument("--half", choices=("tune", "report", "both"), default="both",
                    help="which half of the judged queries to score (tuning reads only 'tune')")
    ap.add_argument("--keep", help="build the project in this folder, and reuse it while the corpus is unchanged")
    ap.add_argument("--rebuild", action="store_true", help="with --keep: build afresh")
    ap.add_argument("--json", default=None, help=f"write the results here (default for a full run: {RESULTS.relative_to(REPO)})")
    args = ap.parse_args()
    out = sample(args) if args.corpus == "sample" else fresh(args) if args.set == "2" else realistic(args)
    print_table(out)
    default = RESULTS2 if args.set == "2" else RESULTS if args.half == "both" else None
    target = Path(args.json) if args.json else (default if args.corpus == "realistic" else None)
    if target:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(json.dumps(out, indent=1, default=list))
    if args.corpus == "realistic":
        RUN_LOG.parent.mkdir(parents=True, exist_ok=True)
        with RUN_LOG.open("a") as f:
            f.write(json.dumps({"at": time.strftime("%Y-%m-%dT%H:%M:%S"), "set": args.set,
                                "half": args.half if args.set == "1" else "set2",
                                "shipped": out["methods"]["kept combination: synth search as shipped"].get("setting"),
                                "figures": {m: {h: {k: v[h][k] for k in ("ndcg@10", "recall@20")} for h in out["halves"] if h in v}
                                            for m, v in out["methods"].items()}}) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
