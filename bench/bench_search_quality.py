"""Search quality on the judged query set: nDCG@10 and recall@20 for dense-only, BM25-only and fused.

    python bench/bench_search_quality.py [--json results.json] [--keep DIR]

Builds a project from synth/data/sample_corpus.jsonl (every study stored once per source
that holds it, so cross-source duplicates merge as in a real harvest), indexes it with
the real model (index.indexer.sync) and the BM25 index (synth.lexical.build_lexical), runs
every query of bench/data/judged_queries.yaml once per method, and tunes the fusion.

Tuning guards against overfitting a small query set in two ways:
  * leave-one-query-out: for each query, the weights are chosen on the *other* queries and
    the held-out query is scored with them; the mean of those held-out scores is reported
    ("fused, LOO-tuned") next to the in-sample optimum;
  * the grid is coarse (a handful of weights and RRF constants), and the shipped default is
    taken from a plateau, not a single spike: the grid point with the best *mean LOO* rank.
"""

from __future__ import annotations

import argparse
import itertools
import json
import math
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

QUERIES = REPO / "bench" / "data" / "judged_queries.yaml"
CORPUS = REPO / "synth" / "data" / "sample_corpus.jsonl"

WEIGHT_GRID = (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0)
K_GRID = (1, 5, 10, 20, 60)


# --------------------------------------------------------------------------- corpus
def sample_records(path: Path = CORPUS):
    """One Record per (study, source), applying each source's variants, like a harvest would see them."""
    from synth.records import Record

    for line in path.read_text(encoding="utf-8").splitlines():
        if not line.strip():
            continue
        d = json.loads(line)
        for source in d.get("sources") or ["import"]:
            v = {**d, **(d.get("variants") or {}).get(source, {})}
            authors = [", ".join(x for x in (a.get("family"), a.get("given")) if x) if isinstance(a, dict) else str(a)
                       for a in v.get("authors") or []]
            rec = Record(title=v.get("title") or "", abstract=v.get("abstract") or "", doi=v.get("doi"), pmid=v.get("pmid"),
                         pmcid=v.get("pmcid"), openalex=v.get("openalex"), authors=authors, year=v.get("year"),
                         journal=v.get("journal") or "", pub_types=v.get("pub_types") or [], keywords=v.get("keywords") or [],
                         mesh=v.get("mesh") or [], language=v.get("language") or "", source=source,
                         source_id=v.get("pmid") or v.get("doi") or v.get("openalex") or d["key"])
            yield d["key"], rec


def build_sample_project(root: Path, progress: bool = False):
    """A project holding the sample corpus, indexed (vectors + BM25). Returns (project, key -> record id)."""
    from index.indexer import sync
    from synth.lexical import build_lexical
    from synth.project import init_project

    project = init_project(root)
    store = project.store()
    key_to_id: dict[str, str] = {}
    for key, rec in sample_records():
        _, rid = store.upsert(rec)
        key_to_id[key] = rid
    # Merges may have re-pointed earlier ids: resolve each to its live record.
    key_to_id = {k: store.get(rid)["id"] for k, rid in key_to_id.items()}
    store.close()
    sync(project, progress=progress)
    build_lexical(project)
    return project, key_to_id


def reuse_sample_project(root: Path):
    from synth.project import load_project

    project = load_project(root)
    store = project.store()
    key_to_id = {}
    for key, rec in sample_records():
        got = store.get(rec.pmid or rec.doi or rec.openalex or "")
        if got:
            key_to_id[key] = got["id"]
    store.close()
    return project, key_to_id


def load_queries(path: Path = QUERIES) -> list[dict]:
    import yaml

    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    items = data.get("queries", data) if isinstance(data, dict) else data
    return [{"id": q.get("id") or f"q{i}", "query": q["query"], "kind": q.get("kind", ""),
             "relevant": {str(k): float(v) for k, v in (q.get("relevant") or {}).items()}} for i, q in enumerate(items)]


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
    n = [ndcg(runs[q["id"]], q["grades"]) for q in queries]
    r = [recall(runs[q["id"]], q["grades"]) for q in queries]
    return {"ndcg@10": sum(n) / len(n), "recall@20": sum(r) / len(r), "per_query_ndcg": n}


def describe(point) -> str:
    w, k, method = point
    ws = f"bm25 {w['bm25']:g}, records {w['records']:g}, sentences {w['sentences']:g}"
    return f"RRF k={k} ({ws})" if method == "rrf" else f"score fusion ({ws})"


# --------------------------------------------------------------------------- main
def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", help="write the full results here")
    ap.add_argument("--keep", help="build the project in this folder (and keep it)")
    ap.add_argument("--reuse", help="evaluate a project already built with --keep DIR (skips building)")
    args = ap.parse_args()

    from synth.search import Candidates, Searcher, fuse

    queries = load_queries()
    t0 = time.perf_counter()
    if args.reuse:
        project, key_to_id = reuse_sample_project(Path(args.reuse) / "review")
    else:
        tmp = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="synth-bench-search-"))
        project, key_to_id = build_sample_project(tmp / "review")
    build_s = time.perf_counter() - t0
    for q in queries:
        missing = [k for k in q["relevant"] if k not in key_to_id]
        if missing and not args.reuse:
            raise SystemExit(f"query {q['id']}: judged keys not in the sample corpus: {missing}")
        if missing:
            print(f"warning: query {q['id']}: judged keys not in the reused project: {missing}", file=sys.stderr)
        q["grades"] = {key_to_id[k]: g for k, g in q["relevant"].items() if k in key_to_id}
    queries = [q for q in queries if q["grades"]]

    s = Searcher(project)
    cands: dict[str, Candidates] = {}
    t1 = time.perf_counter()
    for q in queries:
        cands[q["id"]] = s.candidates(q["query"], n=100)
    query_s = (time.perf_counter() - t1) / len(queries)
    n_records = s.store.count()
    s.close()

    def ranking(c: Candidates, weights, k, method="rrf") -> list[str]:
        return [rid for rid, _ in fuse(c, weights, k, method)]

    methods = {
        "BM25 only": ({"bm25": 1, "records": 0, "sentences": 0}, 60),
        "dense: records only": ({"bm25": 0, "records": 1, "sentences": 0}, 60),
        "dense: sentences only": ({"bm25": 0, "records": 0, "sentences": 1}, 60),
        "dense: records + sentences (RRF)": ({"bm25": 0, "records": 1, "sentences": 1}, 60),
        "fused, equal weights (RRF k=60)": ({"bm25": 1, "records": 1, "sentences": 1}, 60),
    }
    results = {name: evaluate({q["id"]: ranking(cands[q["id"]], w, k) for q in queries}, queries) for name, (w, k) in methods.items()}

    # Grid: bm25 weight fixed at 1 (only ratios matter), dense weights and the fusion's form varied.
    grid = []
    for wr, ws in itertools.product(WEIGHT_GRID, WEIGHT_GRID):
        if wr == ws == 0:
            continue
        w = {"bm25": 1.0, "records": wr, "sentences": ws}
        grid += [(w, k, "rrf") for k in K_GRID] + [(w, None, "score")]
    per_point = [[ndcg(ranking(cands[q["id"]], *g), q["grades"]) for q in queries] for g in grid]
    n_q = len(queries)
    means = [sum(p) / n_q for p in per_point]
    best_in_sample = max(range(len(grid)), key=lambda i: means[i])

    # Leave one query out: choose on the others, score the held-out one.
    loo_scores, loo_recall, chosen = [], [], []
    for j, q in enumerate(queries):
        i_best = max(range(len(grid)), key=lambda i: (sum(per_point[i]) - per_point[i][j]))
        chosen.append(i_best)
        loo_scores.append(per_point[i_best][j])
        loo_recall.append(recall(ranking(cands[q["id"]], *grid[i_best]), q["grades"]))
    results["fused, LOO-tuned (held-out)"] = {"ndcg@10": sum(loo_scores) / n_q, "recall@20": sum(loo_recall) / n_q}
    results[f"fused, tuned on all queries (in-sample): {describe(grid[best_in_sample])}"] = evaluate(
        {q["id"]: ranking(cands[q["id"]], *grid[best_in_sample]) for q in queries}, queries)

    from collections import Counter

    picks = Counter(chosen)
    shipped_i = picks.most_common(1)[0][0]
    shipped = grid[shipped_i]

    by_kind = {}
    for kind in sorted({q["kind"] for q in queries}):
        sub = [q for q in queries if q["kind"] == kind]
        by_kind[kind or "-"] = {
            name: sum(ndcg(ranking(cands[q["id"]], w, k, *m), q["grades"]) for q in sub) / len(sub)
            for name, (w, k, *m) in {"BM25 only": methods["BM25 only"], "dense: records + sentences (RRF)": methods["dense: records + sentences (RRF)"],
                                     "fused (LOO choice)": shipped}.items()
        }

    print(f"# Search quality — {n_q} judged queries over {n_records} records ({time.strftime('%Y-%m-%d')})")
    print(f"(project built and indexed in {build_s:.1f} s; {query_s * 1000:.0f} ms per query for all three candidate lists)\n")
    print("| method | nDCG@10 | recall@20 |")
    print("|---|---:|---:|")
    for name, r in results.items():
        print(f"| {name} | {r['ndcg@10']:.3f} | {r['recall@20']:.3f} |")
    print("\nLOO picks (grid point: times chosen): " + "; ".join(f"{describe(grid[i])}: {c}" for i, c in picks.most_common(5)))
    print(f"Most often chosen under LOO: {describe(shipped)}, nDCG@10 in-sample {means[shipped_i]:.3f}")
    top = sorted(range(len(grid)), key=lambda i: -means[i])[:8]
    print("Top grid points in-sample: " + "; ".join(f"{describe(grid[i])} {means[i]:.3f}" for i in top))
    from synth import search as S

    current = ({k: S.DEFAULT_WEIGHTS[k] for k in ("bm25", "records", "sentences")}, S.RRF_K, S.FUSION)
    results[f"fused, as shipped in synth/search.py: {describe(current)}"] = evaluate(
        {q["id"]: ranking(cands[q["id"]], *current) for q in queries}, queries)
    print(f"As shipped: {describe(current)}: nDCG@10 {results[list(results)[-1]]['ndcg@10']:.3f}")
    print("\nnDCG@10 by query kind:")
    for kind, row in by_kind.items():
        print(f"  {kind}: " + ", ".join(f"{m} {v:.3f}" for m, v in row.items()))
    if args.json:
        Path(args.json).write_text(json.dumps({
            "queries": n_q, "records": n_records, "results": {k: {m: v for m, v in r.items() if m != "per_query_ndcg"} for k, r in results.items()},
            "loo_choice": describe(shipped), "shipped": describe(current), "by_kind": by_kind,
            "per_query": {q["id"]: {"query": q["query"], "bm25": results["BM25 only"]["per_query_ndcg"][i],
                                    "dense": results["dense: records + sentences (RRF)"]["per_query_ndcg"][i],
                                    "fused_loo": loo_scores[i]} for i, q in enumerate(queries)},
        }, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
