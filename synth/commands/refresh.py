"""`synth refresh`, `synth status`, `synth new`, `synth quarantine`: the periodic job and its monitoring."""

from __future__ import annotations

import json
import sys

import click

from synth.cli import pass_ctx
from synth.errors import EXIT_PARTIAL
from synth.records import SOURCES


def _console():
    from rich.console import Console

    return Console()


@click.command("refresh")
@click.option("--source", "sources", multiple=True, type=click.Choice(SOURCES), help="Only these sources (repeatable).")
@click.option("--wait", is_flag=True, help="If another refresh holds the lock, wait for it instead of exiting 75.")
@click.option("--quiet", "-q", is_flag=True, help="No progress or table; one summary line (for cron logs).")
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as JSON.")
@pass_ctx
def refresh_cmd(ctx, sources, wait, quiet, as_json):
    """Harvest new records, index them and code mechanisms (what cron runs).

    Exit codes: 0 success, 1 partial failure (some source failed; the rest is kept),
    2 usage or input error, 75 another refresh is running.
    """
    from synth.refresh import refresh

    summary = refresh(ctx.project, sources=list(sources) or None, wait=wait, progress=not (quiet or as_json))
    h = summary.get("harvest", {})
    new = sum(s.get("new", 0) for s in h.values())
    failed = [n for n, s in h.items() if s.get("status") != "ok"]
    if as_json:
        click.echo(json.dumps(summary, default=str))
    elif quiet:
        click.echo(f"refresh run {summary['run_id']}: {summary['status']}; {new} new records; "
                   f"{summary['index'].get('embedded', 0)} embedded; failed sources: {', '.join(failed) or 'none'}")
    else:
        _print_harvest(h)
        idx, code = summary.get("index") or {}, summary.get("coding") or {}
        click.echo(f"Index: {json.dumps({k: v for k, v in idx.items() if not isinstance(v, dict)})}")
        click.echo(f"Coding: {json.dumps({k: v for k, v in code.items() if not isinstance(v, (dict, list))})}")
        click.echo(f"Refresh run {summary['run_id']}: {summary['status']}")
    if summary["status"] != "ok":
        sys.exit(EXIT_PARTIAL)


def _print_harvest(h: dict) -> None:
    from rich.table import Table

    t = Table(title="Harvest")
    cols = ["requests", "seen", "new", "updated", "merged", "quarantined", "failed_requests"]
    t.add_column("source")
    for c in cols:
        t.add_column(c.replace("_", " "), justify="right")
    t.add_column("status")
    for name, s in h.items():
        t.add_row(name, *[str(s.get(c, 0)) for c in cols], s.get("status", ""))
    _console().print(t)


@click.command("status")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def status_cmd(ctx, as_json):
    """Last runs, each source's window, counts, store–index agreement and open errors."""
    from synth import status as S

    store = ctx.project.store()
    report = {"runs": S.last_runs(store), "windows": S.windows(store), "counts": S.counts(store),
              "errors": S.open_errors(store)}
    report["index"] = _agreement(ctx.project)
    if as_json:
        click.echo(json.dumps(report, default=str))
        return
    from rich.table import Table

    con = _console()
    runs = Table(title="Last runs")
    for c in ("run", "kind", "started", "finished", "status", "new"):
        runs.add_column(c)
    for r in report["runs"]:
        h = r["summary"].get("harvest", r["summary"]) if isinstance(r["summary"], dict) else {}
        new = sum(v.get("new", 0) for v in h.values() if isinstance(v, dict))
        runs.add_row(str(r["id"]), r["kind"], r["started_at"], r["finished_at"] or "", r["status"], str(new))
    con.print(runs)
    win = Table(title="Harvest windows (completed)")
    for c in ("source", "since", "until", "records", "completed"):
        win.add_column(c)
    for w in report["windows"]:
        win.add_row(w["source"], w["since"], w["until"], str(w["records"]), w["completed_at"])
    con.print(win)
    con.print("Counts: " + ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in report["counts"].items()))
    con.print(f"Store–index agreement: {report['index'].get('summary', report['index'])}")
    for e in report["errors"]:
        con.print(f"[red]open error[/red] {e['source']}: {e['error']} ({e['url']})", markup=True, highlight=False)


def _agreement(project) -> dict:
    """Store vs index, without repairing; never fails `status` itself."""
    try:
        from index.indexer import check

        result = check(project, repair=False)
        return result
    except Exception as e:  # noqa: BLE001 - status must report, not crash
        return {"summary": f"unknown ({type(e).__name__}: {e})"}


@click.command("new")
@click.option("--since", default=None, help="A run id (see `synth status`) or a date YYYY-MM-DD. Default: the last refresh.")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def new_cmd(ctx, since, as_json):
    """Records added since a run or date, grouped by mechanism."""
    from synth import status as S

    store = ctx.project.store()
    cutoff, records = S.new_records(store, since)
    groups = S.group_by_mechanism(records)
    if as_json:
        for mech, recs in groups.items():
            for r in recs:
                click.echo(json.dumps({"mechanism": mech, **r}, default=str))
        return
    con = _console()
    con.print(f"{len(records)} records added since {cutoff}")
    for mech, recs in groups.items():
        con.print(f"\n[bold]{mech}[/bold] ({len(recs)})")
        for r in recs:
            con.print(f"  {r['id']}  {r['year'] or '    '}  {r['title']}", markup=False, highlight=False)


@click.command("quarantine")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def quarantine_cmd(ctx, as_json):
    """Records that failed validation or parsing, with the reason (never silently dropped)."""
    from synth import status as S

    rows = S.quarantined(ctx.project.store())
    if as_json:
        for r in rows:
            click.echo(json.dumps(r, default=str))
        return
    from rich.table import Table

    t = Table(title=f"Quarantine ({len(rows)})")
    for c in ("source", "id / location", "reason", "run", "at"):
        t.add_column(c)
    for r in rows:
        t.add_row(r["source"], r["source_id"] or r["location"], r["reason"], str(r["run_id"] or ""), r["at"])
    _console().print(t)


COMMANDS = [refresh_cmd, status_cmd, new_cmd, quarantine_cmd]
