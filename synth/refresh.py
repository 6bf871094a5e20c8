"""`synth refresh`: harvest → index → code mechanisms, under the project lock.

Each step is incremental and idempotent on its own, which is what makes the whole job
crash-safe without a journal of its own:
  * harvest: every record is one SQLite transaction (all of it or none of it), keyed by
    (source, source id), so re-fetching it changes nothing; a source's window is recorded
    as done only after the crawl finished with no failed request, so a killed crawl is
    simply re-crawled from the last completed window (minus the overlap);
  * index: vectors are written before the SQLite row that says they exist, so a kill
    re-embeds at most one chunk; records are skipped by content hash;
  * code: a batch's codes, roles and coded_hash are one transaction; records are
    skipped by coded_hash.
So a refresh killed at any moment is completed by the next one, and two refreshes in a
row change nothing the second time (docs/refresh.md).
"""

from __future__ import annotations

import os
import sys
import time
from datetime import date, timedelta

from synth.lock import ProjectLock, pid_alive
from synth.records import SOURCES

def plan_windows(project, store, sources=None, until: date | None = None) -> dict[str, tuple[date, date]]:
    """Each enabled source resumes from the end of its last completed window, minus the overlap."""
    from spiders.state import parse_day
    from synth.harvest import last_window_end

    harvest = project.section("harvest")
    from synth.errors import SynthError

    raw = harvest.get("overlap_days", 7)
    try:
        days = int(raw)
        if days < 0 or isinstance(raw, bool) or (isinstance(raw, float) and not raw.is_integer()):
            raise ValueError
    except (TypeError, ValueError):
        # A negative overlap would start after the last window's end and skip what was entered in between.
        raise SynthError(f"[harvest] overlap_days must be a whole number of days, 0 or more; got {raw!r}") from None
    overlap = timedelta(days=days)
    floor = parse_day(harvest.get("since") or "2000-01-01", "[harvest] since")
    until = until or (parse_day(harvest["until"], "[harvest] until") if harvest.get("until") else date.today())
    plan = {}
    for name in sources or SOURCES:
        cfg = project.source(name)
        if not isinstance(cfg.get("enabled", True), bool):
            raise SynthError(f"[sources.{name}] enabled must be true or false, got {cfg.get('enabled')!r}")
        if not sources and not cfg.get("enabled", True):
            continue
        end = last_window_end(store, name, cfg["query"])
        since = max(floor, end - overlap) if end else floor
        plan[name] = (min(since, until), until)
    return plan



def close_abandoned_runs(store) -> list[int]:
    """Runs left 'running' by a killed process become 'killed'.

    A 'running' refresh cannot be live (we hold the lock); other kinds (`synth harvest`,
    which takes no lock) are closed only when their process is gone.
    """
    dead = [r["id"] for r in store.running_runs(os.getpid()) if r["kind"] == "refresh" or not pid_alive(r["pid"])]
    if dead:
        store.mark_killed(dead)
    return dead


def resolve_failed_requests(store, sources: list[str]) -> int:
    """Failed requests of a source are settled once a later window of that source completes:
    the new window starts at the end of the last completed one, so it covers every page
    that failed since."""
    from synth import harvestlog

    return harvestlog.resolve_failures(store, sources)


def _say(enabled: bool, text: str) -> None:
    if enabled:
        print(f"==> {text}", file=sys.stderr, flush=True)


def refresh(project, sources=None, wait: bool = False, progress: bool = True, phases: bool = True) -> dict:
    """Run one refresh; returns its summary (status "ok" or "partial"); raises SynthError
    (exit 75) when another refresh holds the lock and `wait` is false."""
    from synth.harvest import run_harvest
    from synth.lexical import ensure_lexical

    t0 = time.perf_counter()
    lock = ProjectLock(project.lock_path)
    lock.acquire(wait=wait, on_wait=(lambda pid: _say(phases, f"waiting for the refresh running as pid {pid}")))
    try:
        store = project.store()
        try:
            recovered = close_abandoned_runs(store)
            run_id = store.start_run("refresh")
            summary: dict = {"run_id": run_id, "status": "running", "recovered_runs": recovered}
            try:
                plan = plan_windows(project, store, sources)
                summary["windows"] = {s: [a.isoformat(), b.isoformat()] for s, (a, b) in plan.items()}
                _say(phases, f"harvest (run {run_id}) " + ", ".join(f"{s} {a}..{b}" for s, (a, b) in plan.items()))
                harvest = run_harvest(project, sources=list(plan), since={s: w[0] for s, w in plan.items()},
                                      until={s: w[1] for s, w in plan.items()}, run_id=run_id,
                                      progress=progress) if plan else {}
                summary["harvest"] = harvest
                completed = [s for s, h in harvest.items() if h.get("window_complete")]
                summary["resolved_failed_requests"] = resolve_failed_requests(store, completed)
                summary["failed_sources"] = [s for s, h in harvest.items() if h.get("status") != "ok"]
                from synth.retractions import retracted_in_run

                summary["newly_retracted"] = retracted_in_run(store, run_id)  # known retracted from this run on
                _say(phases, "index")
                summary["lexical"] = ensure_lexical(project)
                summary["index"] = _index(project, progress)
                _say(phases, "code")
                summary["coding"] = _code(project, progress)
            except BaseException as e:  # noqa: BLE001 - record the failure, then let it propagate
                # Ctrl-C or SIGTERM (through the harvest's Scrapy shutdown) is a person's or cron's stop, not a failure
                summary["status"] = "interrupted" if isinstance(e, KeyboardInterrupt) else "failed"
                summary["error"] = f"{type(e).__name__}: {e}".rstrip(": ")
                store.finish_run(run_id, summary["status"], summary)
                raise
            summary["status"] = "partial" if summary["failed_sources"] else "ok"
            summary["totals"] = totals(summary)
            summary["seconds"] = round(time.perf_counter() - t0, 2)
            store.finish_run(run_id, summary["status"], summary)
            return summary
        finally:
            store.close()
    finally:
        lock.release()


def totals(summary: dict) -> dict:
    h = summary.get("harvest") or {}
    idx = summary.get("index") or {}
    code = summary.get("coding") or {}
    out = {k: sum(int(s.get(k) or 0) for s in h.values()) for k in ("new", "updated", "merged", "quarantined", "failed_requests")}
    out.update(embedded=int(idx.get("embedded") or 0), removed_from_index=int(idx.get("removed") or 0),
               recoded=int(code.get("coded") or 0))
    return out


def index_project(project, rebuild: bool = False, progress: bool = True, model: str | None = None,
                  chroma_url: str | None = None) -> dict:
    """`synth index`: the BM25 arrays, the vectors (incremental), then code the records that are new or
    changed, so that what a user reads next (export, table, search) carries mechanisms."""
    from index.indexer import sync
    from synth.lexical import ensure_lexical

    # Designs first: they are part of each vector's metadata, so sync writes them in the same pass.
    lexical = ensure_lexical(project)
    summary = sync(project, rebuild=rebuild, progress=progress, model=model, chroma_url=chroma_url)
    summary["lexical"] = lexical
    # the coder reads the vectors just written: the same model and server, given here or in synth.toml
    overrides = {k: v for k, v in (("model", model), ("chroma_url", chroma_url)) if v}
    project.config.setdefault("index", {}).update(overrides)
    summary["coding"] = _code(project, progress)
    return summary


def _index(project, progress: bool) -> dict:
    from index.indexer import sync

    return sync(project, progress=progress)


def _code(project, progress: bool) -> dict:
    from synth.mechanisms import code_project

    return code_project(project, progress=progress)
