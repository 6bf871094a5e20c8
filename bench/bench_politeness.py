"""Politeness: a 60-request PubMed crawl through the real spider against the fake API server.

For each configured limit the script starts the fake server, points a fresh project's
PubMed base_url at it, runs `synth harvest --source pubmed --max 59` in a subprocess
(1 esearch + 59 efetch batches of 1 record = 60 requests) and reads the arrival time of
every request from the server's log. Reported per limit: the achieved rate
(requests − 1) / (last − first arrival) and the most requests in any 1-s sliding window
(a window starting at each request).

    python bench/bench_politeness.py [--rates 3,10] [--json]

PubMed's own rules: 3 requests/s without an API key, 10 with one (rate 10 is run with a
dummy NCBI_API_KEY and the default `rate = 3.0`, so it also shows the key raising the limit).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def crawl(rate: float, n: int = 60) -> dict:
    from synth.fakeapi import FakeAPIServer, generate_corpus
    from synth.project import init_project

    with FakeAPIServer(generate_corpus(n + 40, seed=0)) as api, tempfile.TemporaryDirectory() as tmp:
        with_key = rate == 10.0
        cfg = {"base_url": api.base_url("pubmed"), "rate": 3.0 if with_key else rate, "batch_size": 1}
        project = init_project(Path(tmp) / "p", {"sources": {"pubmed": cfg}, "harvest": {"since": "1990-01-01"}})
        env = {**os.environ, "SYNTH_PROJECT": str(project.root), "NCBI_API_KEY": "dummy-key" if with_key else ""}
        synth = str(Path(sys.executable).parent / "synth")
        proc = subprocess.run([synth, "harvest", "--json", "--source", "pubmed", "--max", str(n - 1)],
                              env=env, capture_output=True, text=True, cwd=REPO)
        if proc.returncode != 0:
            raise SystemExit(proc.stderr)
        t = [r.t for r in api.requests_for("pubmed")]
        keyed = all(r.query.get("api_key") == "dummy-key" for r in api.requests_for("pubmed")) if with_key else False
    achieved = (len(t) - 1) / (t[-1] - t[0])
    worst = max(sum(1 for u in t if s <= u < s + 1.0) for s in t)
    return {"limit": rate, "requests": len(t), "seconds": round(t[-1] - t[0], 2), "achieved_rps": round(achieved, 3),
            "share_of_limit": round(achieved / rate, 3), "max_in_any_1s_window": worst, "api_key_sent": keyed,
            "ok": len(t) == n and achieved >= 0.9 * rate and worst <= rate}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rates", default="3,10")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    results = [crawl(float(r)) for r in args.rates.split(",")]
    meta = {"date": time.strftime("%Y-%m-%d"), "python": platform.python_version(), "machine": platform.machine()}
    if args.json:
        print(json.dumps({"results": results, **meta}))
        return
    print(f"{'limit':>6} {'requests':>8} {'seconds':>8} {'achieved':>9} {'share':>6} {'max/1s':>7}  ok")
    for r in results:
        print(f"{r['limit']:>6g} {r['requests']:>8} {r['seconds']:>8} {r['achieved_rps']:>9} "
              f"{r['share_of_limit']:>6} {r['max_in_any_1s_window']:>7}  {r['ok']}")


if __name__ == "__main__":
    main()
