"""Commands that read the corpus, at 20,000 and 100,000 records (issue 15).

    nice -n 10 python bench/bench_scale.py --sizes 20000 100000            # seeded (100,000: copies)
    nice -n 10 python bench/bench_scale.py --harvest --sizes 20000         # harvested from the fake APIs

Each corpus is indexed and coded by synth itself with a tiny one-layer embedder (embedding is
not what is measured here; its cost per record is in docs/index.md); 1 record in 100 gets a
screening decision through `synth screen --from`; then every command that reads the corpus
runs in its own process, as a user runs it, and its wall time and peak RSS (from wait4: that
process alone) are recorded. Results: bench/results/scale.json, quoted in docs/scale.md.

Two ways to fill the store:
  seeded (default): 20,000 generated records (abstracts recombined from the sample corpus's
    sentences, bench/corpus.py) bulk-inserted, then `synth index` embeds and codes them; larger N
    are copies of that coded corpus (replicated_project: coding 100,000 takes hours here);
  --harvest: the local fake APIs serve N generated studies (synth.fakeapi.generate_corpus)
    and `synth refresh` harvests (with cross-source de-duplication), indexes and codes them,
    as a cron job would; the harvest time is itself a figure.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import shutil
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.corpus import make_tiny_model  # noqa: E402

RESULTS = REPO / "bench" / "results" / "scale.json"
WORK = Path(os.environ.get("BENCH_DIR", "/tmp/synth_bench_scale"))
SYNTH = str(Path(sys.executable).parent / "synth")
LIMIT_S = 10.0  # the bound for each read command at 20,000 records

# (label, argv after `synth`); outputs go to files, as a user exporting a corpus would do.
COMMANDS = [
    ("export ris", ["export", "--format", "ris", "-o", "{out}/c.ris"]),
    ("export bibtex", ["export", "--format", "bibtex", "-o", "{out}/c.bib"]),
    ("export csl-json", ["export", "--format", "csl-json", "-o", "{out}/c.json"]),
    ("export jsonl", ["export", "--format", "jsonl", "-o", "{out}/c.jsonl"]),
    ("export --mechanism", ["export", "--format", "ris", "--mechanism", "{mechanism}", "-o", "{out}/m.ris"]),
    ("table (xlsx)", ["table", "-o", "{out}/review.xlsx"]),
    ("table (csv)", ["table", "-o", "{out}/review.csv"]),
    ("report", ["report", "-o", "{out}/report.html"]),
    ("status", ["status"]),
    ("status --json", ["status", "--json"]),
    ("new", ["new"]),
    ("screen --list", ["screen", "--list"]),
    ("mechanisms", ["mechanisms"]),
    ("evidence", ["evidence", "{mechanism}"]),
    ("search", ["search", "peer mentoring and hope for young people"]),
    ("search --by-mechanism", ["search", "peer mentoring and hope for young people", "--by-mechanism"]),
]


def env_for(root: Path) -> dict:
    return {**os.environ, "SYNTH_PROJECT": str(root), "HF_HUB_OFFLINE": "1", "NCBI_API_KEY": "",
            "OPENALEX_API_KEY": "", "COLUMNS": "100"}


def timed(root: Path, argv: list[str], fail_ok: bool = False) -> dict:
    """Run `synth ARGV` in its own process: wall seconds, that process's peak RSS (MiB), exit code."""
    t = time.perf_counter()
    proc = subprocess.Popen([SYNTH, *argv], cwd=str(root), env=env_for(root),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # wait4 gives the rusage of this child alone (RUSAGE_CHILDREN would be the max over all of them).
    out_chunks: list[bytes] = []
    import threading

    def drain(stream):
        for chunk in iter(lambda: stream.read(1 << 16), b""):
            out_chunks.append(chunk)

    readers = [threading.Thread(target=drain, args=(s,), daemon=True) for s in (proc.stdout, proc.stderr)]
    for r in readers:
        r.start()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t
    for r in readers:
        r.join()
    proc.returncode = os.waitstatus_to_exitcode(status)
    text = b"".join(out_chunks).decode("utf-8", "replace")
    if proc.returncode and fail_ok:  # recorded: e.g. a sheet longer than Excel allows is refused (exit 2)
        error = [ln for ln in text.splitlines() if ln.startswith("Error")]
        return {"s": round(wall, 2), "peak_mib": round(usage.ru_maxrss / 1024, 1), "exit": proc.returncode,
                "error": error[-1] if error else text[-200:]}
    if proc.returncode:
        raise SystemExit(f"synth {' '.join(argv)} exited {proc.returncode}:\n{text[-3000:]}")
    return {"s": round(wall, 2), "peak_mib": round(usage.ru_maxrss / 1024, 1), "output_bytes": len(text)}


def seeded_project(n: int, tiny: str) -> tuple[Path, dict]:
    """A project holding N generated records, indexed and coded by `synth index`."""
    from bench.corpus import fill_store_fast, iter_synthetic
    from synth.project import init_project

    root = WORK / f"seed{n}"
    marker = root / "bench-index.json"
    if marker.exists():
        return root, json.loads(marker.read_text())
    if root.exists():
        shutil.rmtree(root)
    p = init_project(root, {"index": {"model": tiny, "batch_size": 256}})
    with p.store() as s:
        fill_store_fast(s, iter_synthetic(n, seed=1))
    print(f"n={n}: synth index (embed with a tiny embedder, code) ...", flush=True)
    built = timed(root, ["index", "--quiet"])
    built["records"] = n
    built["screening_decisions"] = screen_some(root)
    marker.write_text(json.dumps(built))
    return root, built


def replicated_project(n: int, tiny: str) -> tuple[Path, dict]:
    """N = k × 20,000 records: the coded 20,000-record corpus copied k times under new ids, rows of
    every table the read commands use (records, provenance, sentences, codes, fit, screening).
    Coding 100,000 records here would take hours on 2 cores and is not what is measured; the copies'
    vectors are not in the index, so `synth search` is timed on the 20,000 (bench_search_cold.py
    measures search at 100,000) and `status` reports the copies as not indexed."""
    import sqlite3

    base_root, base = seeded_project(20000, tiny)
    root = WORK / f"copies{n}"
    marker = root / "bench-index.json"
    if marker.exists():
        return root, json.loads(marker.read_text())
    if root.exists():
        shutil.rmtree(root)
    shutil.copytree(base_root, root)
    (root / "bench-index.json").unlink()
    con = sqlite3.connect(root / "data" / "synth.db")
    cols = {t: [r[1] for r in con.execute(f"PRAGMA table_info({t})")] for t in
            ("records", "provenance", "sentences", "codes", "sentence_fit", "screening")}
    renamed = {"records": {"id", "doi"}, "provenance": {"source_id", "record_id"}}
    with con:
        for k in range(1, n // 20000):
            for table, names in cols.items():
                sel = [f"{c} || '.c{k}'" if c in renamed.get(table, {"record_id"}) else c for c in names]
                con.execute(f"INSERT INTO {table}({', '.join(names)}) SELECT {', '.join(sel)} FROM {table} "
                            f"WHERE {'id' if table == 'records' else 'record_id'} NOT LIKE '%.c%'")
    con.close()
    built = {"records": n, "copies_of": 20000, "screening_decisions": base["screening_decisions"] * (n // 20000)}
    marker.write_text(json.dumps(built))
    return root, built


def screen_some(root: Path) -> int:
    """A reviewer's screening so far: 1 decision in 100, made through `synth screen --from`."""
    from synth.project import load_project

    with load_project(root).store() as s:
        ids = [r["id"] for r in s.iter_records()][::100]
    with (root / "decisions.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["id", "decision", "reason"])
        for i, rid in enumerate(ids):
            w.writerow([rid, "exclude" if i % 3 == 0 else "include", "adult sample" if i % 3 == 0 else ""])
    timed(root, ["screen", "--from", str(root / "decisions.csv")])
    return len(ids)


def harvested_project(n: int, tiny: str) -> tuple[Path, dict]:
    """A project holding N studies harvested, indexed and coded by `synth refresh` from the fake APIs."""
    from synth.fakeapi import FakeAPIServer, generate_corpus
    from synth.project import init_project
    from synth.records import SOURCES

    root = WORK / f"n{n}"
    marker = root / "bench-refresh.json"
    if marker.exists():
        return root, json.loads(marker.read_text())
    if root.exists():
        shutil.rmtree(root)
    with FakeAPIServer(generate_corpus(n, seed=0)) as api:
        sources = {s: {"base_url": api.base_url(s), "rate": 100.0} for s in SOURCES}
        sources["openalex"]["date_field"] = "created"
        init_project(root, {"harvest": {"contact_email": "bench@example.org", "since": "2000-01-01"},
                            "sources": sources, "index": {"model": tiny, "batch_size": 256}})
        print(f"n={n}: synth refresh (harvest, index with a tiny embedder, code) ...", flush=True)
        refresh = timed(root, ["refresh", "--quiet"])
    from synth.project import load_project

    with load_project(root).store() as s:
        refresh["records"] = s.count()
    refresh["screening_decisions"] = screen_some(root)
    marker.write_text(json.dumps(refresh))
    return root, refresh


def top_mechanism(root: Path) -> str:
    out = subprocess.run([SYNTH, "mechanisms", "--json"], cwd=str(root), env=env_for(root),
                         capture_output=True, text=True, check=True).stdout
    rows = [json.loads(line) for line in out.splitlines() if line.strip()]
    theory = [r for r in rows if r.get("kind", "theory") == "theory" and r.get("records")]
    return max(theory, key=lambda r: r["records"])["id"]


def bench_size(n: int, tiny: str, repeat: int, harvest: bool, only: list[str] | None = None, old: dict | None = None) -> dict:
    make = harvested_project if harvest else seeded_project if n == 20000 else replicated_project
    root, built = make(n, tiny)
    out = WORK / f"out{n}"
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    mechanism = top_mechanism(root)
    rows = dict((old or {}).get("commands") or {})
    for label, argv in COMMANDS:
        if only and label not in only:
            continue
        argv = [a.format(out=out, mechanism=mechanism) for a in argv]
        runs = [timed(root, argv, fail_ok=True) for _ in range(repeat)]
        best = min(runs, key=lambda r: r["s"])
        best["us_per_record"] = round(best["s"] / built["records"] * 1e6, 1)
        rows[label] = best
        flag = (f"  exit {best['exit']}: {best['error']}" if best.get("exit") else
                "" if best["s"] <= LIMIT_S else f"  OVER {LIMIT_S:.0f} s")
        print(f"  n={n:>6}  {label:<24} {best['s']:>7.2f} s  {best['peak_mib']:>7.1f} MiB{flag}", flush=True)
    return {("refresh" if harvest else "index"): built, "mechanism": mechanism, "commands": rows}


def markdown(results: dict) -> str:
    """The docs/scale.md table: one row per command, seconds / peak MiB / µs per record per corpus."""
    runs = sorted(results, key=lambda k: (k.split()[0], int(k.split()[1])))
    head = "| command | " + " | ".join(f"{k}: s · MiB · µs/record" for k in runs) + " |"
    lines = [head, "|---" * (len(runs) + 1) + "|"]
    for label, _ in COMMANDS:
        cells = []
        for k in runs:
            c = results[k]["commands"].get(label)
            cells.append("-" if not c else f"refused (exit {c['exit']}) after {c['s']:.0f} s" if c.get("exit")
                         else f"{c['s']:.2f} · {c['peak_mib']:.0f} · {c['us_per_record']:.0f}")
        lines.append(f"| `synth {label}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sizes", type=int, nargs="+", default=[20000, 100000])
    ap.add_argument("--repeat", type=int, default=1, help="Runs per command (the fastest is kept).")
    ap.add_argument("--harvest", action="store_true", help="Harvest each corpus from the fake APIs (see above).")
    ap.add_argument("--markdown", action="store_true", help="Only print the table of bench/results/scale.json.")
    ap.add_argument("--only", nargs="+", metavar="LABEL", help="Re-time only these commands (labels as printed), keeping the rest.")
    args = ap.parse_args()
    if args.markdown:
        print(markdown(json.loads(RESULTS.read_text())))
        return
    WORK.mkdir(parents=True, exist_ok=True)
    tiny = make_tiny_model(WORK / "tiny-model")
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    for n in args.sizes:
        key = f"{'harvested' if args.harvest else 'seeded'} {n}"
        results[key] = {**bench_size(n, tiny, args.repeat, args.harvest, args.only, results.get(key)), "date": date.today().isoformat(),
                           "machine": f"{platform.machine()}, {os.cpu_count()} cores (shared)"}
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text(json.dumps(results, indent=1))
    print(f"wrote {RESULTS}")


if __name__ == "__main__":
    main()
