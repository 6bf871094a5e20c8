"""What `synth status`, `synth new` and `synth quarantine` report: read-only views of the store."""

from __future__ import annotations

import re
from collections import defaultdict

from synth.errors import SynthError


def run_brief(run: dict) -> dict:
    """One run as status shows it: outcome, new records, failed sources, error."""
    s = run.get("summary") or {}
    harvest = s.get("harvest") if isinstance(s.get("harvest"), dict) else (s if run["kind"] == "harvest" else {})
    harvest = {k: v for k, v in (harvest or {}).items() if isinstance(v, dict)}
    status = run["status"]
    if status == "running" and run.get("pid"):
        from synth.lock import pid_alive

        if not pid_alive(str(run["pid"])):
            status = "killed"  # its process is gone; the next refresh records it so (close_abandoned_runs)
    return {
        "id": run["id"], "kind": run["kind"], "status": status, "started_at": run["started_at"],
        "finished_at": run["finished_at"], "pid": run["pid"],
        "new": (int((s.get("total") or {}).get("new") or 0) if run["kind"] == "import"  # an import's own summary
                else sum(int(v.get("new") or 0) for v in harvest.values())),
        "failed_sources": [k for k, v in harvest.items() if v.get("status") not in (None, "ok")],
        "embedded": int((s.get("index") or {}).get("embedded") or 0),
        "coded": int((s.get("coding") or {}).get("coded") or 0),
        "error": s.get("error"),
    }


def windows(project, store) -> list[dict]:
    """Per source: the latest completed window for its current query, and where the next refresh starts."""
    from spiders.state import query_hash
    from synth import harvestlog
    from synth.records import SOURCES

    try:
        from synth.refresh import plan_windows

        plan = plan_windows(project, store)
    except SynthError:
        plan = {}
    out = []
    for name in SOURCES:
        cfg = project.source(name)
        row = harvestlog.latest_window(store, name, query_hash(cfg["query"]))
        failed = harvestlog.open_failures(store, name)
        nxt = plan.get(name)
        out.append({
            "source": name, "enabled": bool(cfg.get("enabled", True)),
            "since": row["since"] if row else None, "until": row["until"] if row else None,
            "records": row["records"] if row else 0, "run_id": row["run_id"] if row else None,
            "completed_at": row["completed_at"] if row else None,
            "next_since": nxt[0].isoformat() if nxt else None, "failed_requests_open": failed,
        })
    return out


def counts(store) -> dict:
    from synth import harvestlog
    from synth.retractions import retracted_ids
    from synth.screening import excluded_ids

    totals = store.totals()
    return {**totals, "excluded": len(excluded_ids(store) & store.live_ids()),
            "retracted": len(retracted_ids(store)), "failed_requests_open": harvestlog.open_failures(store)}


def quarantined(store) -> list[dict]:
    return store.quarantined()


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def default_cutoff(store) -> int | None:
    """Run id after which records count as new by default: everything stored since the
    refresh before the last completed one (so records stored by a run that was killed and
    then completed by the last refresh are included). None: every record is new."""
    rows = store.finished_refreshes(2)
    return rows[1]["id"] if len(rows) == 2 else None


def cutoff(store, since: str | None) -> tuple[str, str, object]:
    """What `--since` means: (description, kind, value), kind one of
    all (every record: no refresh before the last one), after_run (run id > value),
    from_run (run id >= value), date (timestamp >= value). Default: what the last refresh brought."""
    if since is None:
        after = default_cutoff(store)
        if after is None:
            return "the first refresh", "all", None
        return f"refresh run {after}", "after_run", after
    since = since.strip()
    if since.isdigit():
        if len(since) > 18 or not store.run_exists(int(since)):  # (SQLite integers stop at 2**63)
            raise SynthError(f"no run {since}; see `synth status` for run ids")
        return f"run {since} (included)", "from_run", int(since)
    if _DATE.match(since):
        from datetime import date

        try:
            date.fromisoformat(since)
        except ValueError:
            raise SynthError(f"--since: {since!r} is not a valid date") from None
        return since, "date", since
    raise SynthError(f"--since takes a run id (see `synth status`) or a date YYYY-MM-DD, not {since!r}")


def new_records(store, since: str | None) -> tuple[str, list[dict]]:
    """Live records added since a run id or an ISO date (default: what the last refresh brought).

    Returns (description of the cut-off, records with their mechanisms).
    """
    desc, kind, value = cutoff(store, since)
    scan = {"all": {}, "after_run": {"after_run": value}, "from_run": {"from_run": value}, "date": {"since": value}}[kind]
    return desc, list(_records(store, store.iter_created(**scan)))


def _records(store, records):
    """The records `synth new` lists, with sources and mechanisms (curation applied) read per chunk."""
    from synth.mechanisms.codes import mechanisms_of
    from synth.retractions import notice_ids, retracted_ids
    from synth.screening import excluded_ids
    from synth.store import chunked

    excluded, retracted, notices = excluded_ids(store), retracted_ids(store), notice_ids(store)
    for chunk in chunked(records):
        ids = [r["id"] for r in chunk]
        mechs, prov = mechanisms_of(store, ids), store.provenance_of_many(ids)
        for rec in chunk:
            m = [(x["id"], x.get("name") or x["id"]) for x in mechs.get(rec["id"], [])]
            yield {"id": rec["id"], "title": rec["title"], "year": rec["year"], "doi": rec["doi"], "pmid": rec["pmid"],
                   "created_at": rec["created_at"], "created_run": rec["created_run"], "excluded": rec["id"] in excluded,
                   "retracted": rec["id"] in retracted, "retraction_notice": rec["id"] in notices,
                   "sources": sorted({p["source"] for p in prov[rec["id"]]}), "mechanisms": [i for i, _ in m],
                   "mechanism_names": dict(m)}


def group_by_mechanism(records: list[dict]) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        for m in r["mechanisms"] or ["(no mechanism)"]:
            groups[m].append(r)
    return dict(sorted(groups.items(), key=lambda kv: (kv[0] == "(no mechanism)", -len(kv[1]), kv[0])))


def newly_retracted(store, since: str | None = None) -> tuple[str, list[dict]]:
    """Records that became known as retracted since a run id or ISO date, with the same default as
    `synth new` (what the last refresh brought). Returns (description of the cut-off, records)."""
    from synth.retractions import _brief, retractions

    desc, kind, value = cutoff(store, since)
    out = []
    for info in retractions(store).values():
        run, at = info["known_run"] or 0, info["known_since"] or ""
        if kind == "all" or (kind == "after_run" and run > value) or (kind == "from_run" and run >= value) \
                or (kind == "date" and at >= value):
            out.append(_brief(store, info))
    return desc, sorted(out, key=lambda r: (r["known_since"] or "", r["id"]))


def status_report(project) -> dict:
    """`synth status`: last runs, each source's window, counts, store–index agreement and open errors."""
    from synth import harvestlog
    from synth.lock import ProjectLock

    store = project.store()
    try:
        return {
            "project": str(project.root),
            "running": ProjectLock(project.lock_path).holder(),
            "runs": [run_brief(r) for r in store.runs()],
            "windows": windows(project, store),
            "counts": counts(store),
            "index": agreement(project),
            "errors": harvestlog.recent_failures(store),
        }
    finally:
        store.close()


def agreement(project) -> dict:
    """Store vs index, without repairing; never fails `status` itself."""
    try:
        from index.indexer import check

        return check(project, repair=False, progress=False)
    except Exception as e:  # noqa: BLE001 - status must report, not crash
        return {"ok": False, "error": f"{type(e).__name__}: {e}"}
