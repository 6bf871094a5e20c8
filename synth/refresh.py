"""`synth refresh`: harvest → index → code mechanisms, under the project lock.

Each step is incremental and idempotent on its own (harvest windows are marked
done only when fully stored; records carry content hashes; the index and the
coder skip what is current), so a refresh killed at any moment is completed by
the next one, and two refreshes in a row change nothing the second time.
"""

from __future__ import annotations

import os
from datetime import date, timedelta

from synth.lock import ProjectLock
from synth.records import SOURCES


def plan_windows(project, store, sources=None, until: date | None = None) -> dict[str, tuple[date, date]]:
    """Each enabled source resumes from the end of its last completed window, minus the overlap."""
    from synth.harvest import last_window_end, parse_day

    harvest = project.section("harvest")
    overlap = timedelta(days=int(harvest.get("overlap_days", 7)))
    floor = parse_day(harvest.get("since") or "2000-01-01", "[harvest] since")
    until = until or (parse_day(harvest["until"], "[harvest] until") if harvest.get("until") else date.today())
    plan = {}
    for name in sources or SOURCES:
        cfg = project.source(name)
        if not cfg.get("enabled", True):
            continue
        end = last_window_end(store, name, cfg["query"])
        since = max(floor, end - overlap) if end else floor
        plan[name] = (min(since, until), until)
    return plan


def _close_abandoned_runs(store) -> int:
    """Runs left 'running' by a killed process (we hold the lock, so their owner is gone)."""
    cur = store.conn.execute(
        "UPDATE runs SET status = 'killed', finished_at = COALESCE(finished_at, started_at) "
        "WHERE status = 'running' AND pid != ?", (os.getpid(),))
    return cur.rowcount


def refresh(project, sources=None, wait: bool = False, progress: bool = True) -> dict:
    from synth.harvest import run_harvest

    with ProjectLock(project.lock_path).acquire(wait=wait):
        store = project.store()
        abandoned = _close_abandoned_runs(store)
        run_id = store.start_run("refresh")
        plan = plan_windows(project, store, sources)
        summary: dict = {"run_id": run_id, "recovered_runs": abandoned,
                         "windows": {s: [a.isoformat(), b.isoformat()] for s, (a, b) in plan.items()}}
        status = "ok"
        try:
            summary["harvest"] = run_harvest(project, sources=list(plan), since={s: w[0] for s, w in plan.items()},
                                             until={s: w[1] for s, w in plan.items()}, run_id=run_id, progress=progress) if plan else {}
            if any(s.get("status") != "ok" for s in summary["harvest"].values()):
                status = "partial"
            summary["index"] = _index(project, progress)
            summary["coding"] = _code(project, progress)
        except BaseException as e:
            store.finish_run(run_id, "failed", {**summary, "error": f"{type(e).__name__}: {e}"})
            raise
        summary["status"] = status
        store.finish_run(run_id, status, summary)
        store.close()
        return summary


def _index(project, progress: bool) -> dict:
    from index.indexer import sync
    from synth.lexical import build_lexical

    result = sync(project, progress=progress)
    result["lexical"] = build_lexical(project)
    return result


def _code(project, progress: bool) -> dict:
    from synth.mechanisms import code_project

    return code_project(project, progress=progress)
