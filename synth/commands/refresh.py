"""`synth refresh`, `synth status`, `synth new`, `synth quarantine`: the periodic job and its monitoring."""

from __future__ import annotations

import json
import sys

import click

from synth.cli import pass_ctx
from synth.errors import EXIT_PARTIAL
from synth.records import SOURCES


def _console(stderr: bool = False):
    from rich.console import Console

    return Console(stderr=stderr)


@click.command("refresh")
@click.option("--source", "sources", multiple=True, type=click.Choice(SOURCES), help="Only these sources (repeatable).")
@click.option("--wait", is_flag=True, help="If another refresh holds the lock, wait for it instead of exiting 75.")
@click.option("--quiet", "-q", is_flag=True, help="No progress, no tables: one summary line (for cron logs).")
@click.option("--json", "as_json", is_flag=True, help="Print the run summary as one JSON object.")
@pass_ctx
def refresh_cmd(ctx, sources, wait, quiet, as_json):
    """Harvest new records, index them and code mechanisms (what cron runs).

    Each source is harvested from the end of its last completed window, less
    [harvest] overlap_days. Safe to kill at any moment: the next refresh completes the work.

    Exit codes: 0 success, 1 partial failure (some source failed; the rest is kept),
    2 usage or input error, 75 another refresh is running.
    """
    from synth.refresh import refresh

    summary = refresh(ctx.project, sources=list(sources) or None, wait=wait,
                      progress=not (quiet or as_json), phases=not quiet)
    t = summary["totals"]
    failed = summary.get("failed_sources") or []
    if as_json:
        click.echo(json.dumps(summary, default=str))
    elif quiet:
        click.echo(f"synth refresh run {summary['run_id']}: {summary['status']}; {t['new']} new, {t['updated']} updated, "
                   f"{t['merged']} merged, {t['quarantined']} quarantined, {t['embedded']} embedded, {t['recoded']} coded, "
                   f"{len(summary.get('newly_retracted') or [])} newly retracted; "
                   f"failed sources: {', '.join(failed) or 'none'}; {summary['seconds']}s")
    else:
        _print_harvest(summary.get("harvest") or {})
        idx, code = summary.get("index") or {}, summary.get("coding") or {}
        click.echo(f"Index: {idx.get('embedded', 0)} embedded, {idx.get('changed', 0)} changed, "
                   f"{idx.get('removed', 0)} removed, {idx.get('metadata_updated', 0)} metadata updated; "
                   f"{idx.get('records', 0)} records in the index")
        click.echo(f"Coding: {code.get('coded', 0)} coded ({code.get('near_misses', 0)} near misses), "
                   f"{code.get('skipped_unindexed', 0)} waiting for the index")
        retracted = summary.get("newly_retracted") or []
        if retracted:
            click.echo(f"Newly retracted: {len(retracted)} (leave them out of the synthesis; `synth show ID` for the notice)")
            for r in retracted:
                click.echo(f"  {r['id']}  {r.get('year') or '    '}  {r['title']}  [{_retraction_brief(r['retraction'])}]")
        if summary.get("resolved_failed_requests"):
            click.echo(f"Earlier failed requests now covered: {summary['resolved_failed_requests']}")
        click.echo(f"Refresh run {summary['run_id']}: {summary['status']} in {summary['seconds']}s"
                   + (f" (failed: {', '.join(failed)}; run `synth refresh` again to retry)" if failed else ""))
    if summary["status"] != "ok":
        sys.exit(EXIT_PARTIAL)


def _retraction_brief(info: dict) -> str:
    """'retracted 2024-03-05, notice PMID 39000171 (pubmed, crossref)'."""
    bits = ["retracted" + (f" {info['date']}" if info.get("date") else "")]
    if info.get("notice_pmid") or info.get("notice_doi"):
        bits.append("notice " + (f"PMID {info['notice_pmid']}" if info.get("notice_pmid") else f"doi:{info['notice_doi']}"))
    return ", ".join(bits) + f" ({', '.join(info.get('sources') or [])})"


def _print_harvest(h: dict) -> None:
    from rich.table import Table

    t = Table(title="Harvest", title_justify="left")
    cols = [("requests", "req"), ("seen", "seen"), ("new", "new"), ("updated", "upd"), ("merged", "merged"),
            ("quarantined", "quar"), ("failed_requests", "failed")]
    t.add_column("source")
    for _, head in cols:
        t.add_column(head, justify="right")
    t.add_column("status")
    for name, s in h.items():
        t.add_row(name, *[str(s.get(c, 0)) for c, _ in cols],
                  ("ok" if s.get("status") == "ok" else f"[red]{s.get('status')}[/red]"))
    _console().print(t)


def status_report(project) -> dict:
    from synth import status as S
    from synth.lock import ProjectLock

    store = project.store()
    try:
        return {
            "project": str(project.root),
            "running": ProjectLock(project.lock_path).holder(),
            "runs": [S.run_brief(r) for r in S.last_runs(store)],
            "windows": S.windows(project, store),
            "counts": S.counts(store),
            "index": _agreement(project),
            "errors": S.open_errors(store),
        }
    finally:
        store.close()


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@pass_ctx
def status_cmd(ctx, as_json):
    """Last runs, each source's window, counts, store–index agreement and open errors."""
    report = status_report(ctx.project)
    if as_json:
        click.echo(json.dumps(report, default=str))
        return
    from rich.markup import escape
    from rich.table import Table

    con = _console()
    if report["running"]:
        con.print(f"[yellow]A refresh is running (pid {report['running']}).[/yellow]")
    runs = Table(title="Last runs", title_justify="left")
    for c in ("run", "kind", "started", "finished", "status", "new", "embedded", "coded", "failed / error"):
        runs.add_column(c, overflow="fold" if c == "failed / error" else "ellipsis",
                        no_wrap=c in ("started", "finished"))
    for r in report["runs"]:
        style = {"ok": "green", "partial": "yellow"}.get(r["status"], "red")
        problem = ", ".join(r["failed_sources"]) or (r["error"] or "")
        runs.add_row(str(r["id"]), r["kind"], _when(r["started_at"]), _when(r["finished_at"]),
                     f"[{style}]{r['status']}[/{style}]", str(r["new"]), str(r["embedded"]), str(r["coded"]),
                     escape(problem if len(problem) <= 60 else problem[:57] + "..."))
    con.print(runs)
    win = Table(title="Harvest windows (last completed)", title_justify="left")
    for c in ("source", "since", "until", "records", "completed (UTC)", "next from", "open failures"):
        win.add_column(c, no_wrap=c != "open failures")
    for w in report["windows"]:
        win.add_row(w["source"] + ("" if w["enabled"] else " (disabled)"), w["since"] or "never", w["until"] or "",
                    str(w["records"]), _when(w["completed_at"]), w["next_since"] or "", str(w["failed_requests_open"]))
    con.print(win)
    con.print("Counts: " + ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in report["counts"].items()))
    idx = report["index"]
    if idx.get("ok"):
        con.print(f"Store and index agree ({idx.get('records', 0):,} records).")
    else:
        detail = idx.get("error") or ", ".join(f"{k.replace('_', ' ')} {idx[k]}" for k in
                                               ("missing", "stale", "orphan_records", "orphan_sentences", "missing_vectors",
                                                "sentence_rows_mismatch") if idx.get(k))
        con.print(f"[red]Store and index disagree[/red]: {detail}. `synth refresh` (or `synth check --repair`) fixes it.",
                  highlight=False)
    for e in report["errors"]:
        con.print(f"[red]open error[/red] run {e['run_id']} {e['source']}: {e['error']} ({e['url']})", highlight=False)


def _when(ts: str | None) -> str:
    """ISO timestamp (UTC) shortened for a table: 2026-01-31 12:00."""
    return (ts or "")[:16].replace("T", " ")


def _agreement(project) -> dict:
    """Store vs index, without repairing; never fails `status` itself."""
    try:
        from index.indexer import check

        return check(project, repair=False, progress=False)
    except Exception as e:  # noqa: BLE001 - status must report, not crash
        return {"ok": False, "error": f"{type(e).__name__}: {e}"}


@click.command("new")
@click.option("--since", default=None, metavar="RUN|DATE",
              help="A run id (see `synth status`) or a date YYYY-MM-DD. Default: what the last refresh added.")
@click.option("--retracted", "only_retracted", is_flag=True,
              help="Only the studies newly known to be retracted (with --json: one a line, with the notice).")
@click.option("--json", "as_json", is_flag=True, help="NDJSON: one record a line, with its mechanisms.")
@pass_ctx
def new_cmd(ctx, since, only_retracted, as_json):
    """Records added since a run or date, grouped by mechanism, and the studies newly known
    to be retracted (already stored or new)."""
    from synth import status as S
    from synth.status import newly_retracted

    store = ctx.project.store()
    try:
        cutoff, records = S.new_records(store, since) if not only_retracted else (None, [])
        cutoff, retracted = newly_retracted(store, since)
    finally:
        store.close()
    if as_json:
        for r in retracted if only_retracted else records:
            click.echo(json.dumps({k: v for k, v in r.items() if k != "mechanism_names"}, default=str))
        return
    from rich.markup import escape

    con = _console()
    if retracted:
        n = len(retracted)
        con.print(f"[bold red]{n} {'study' if n == 1 else 'studies'} newly known to be retracted since {escape(cutoff)}[/bold red]"
                  " (leave them out of the synthesis; `synth show ID` for the notice)", highlight=False)
        for r in retracted:
            con.print(f"  {r['id']}  {r['year'] or '    '}  {r['title']}  [{_retraction_brief(r['retraction'])}]",
                      markup=False, highlight=False)
        con.print("")
    elif only_retracted:
        con.print(f"No study newly known to be retracted since {escape(cutoff)}", highlight=False)
    if only_retracted:
        return
    names = {}
    for r in records:
        names.update(r["mechanism_names"])
    groups = S.group_by_mechanism(records)
    con.print(f"{len(records)} records added since {cutoff}", highlight=False)
    for mech, recs in groups.items():
        con.print(f"\n[bold]{escape(names.get(mech, mech))}[/bold] ({len(recs)})", highlight=False)
        for r in recs:
            flag = ((" [RETRACTED]" if r.get("retracted") else "") + (" [retraction notice]" if r.get("retraction_notice") else "")
                    + (" [excluded]" if r["excluded"] else ""))
            con.print(f"  {r['id']}  {r['year'] or '    '}  {r['title']}{flag}", markup=False, highlight=False)


@click.command("quarantine")
@click.option("--json", "as_json", is_flag=True, help="NDJSON: one quarantined record a line.")
@pass_ctx
def quarantine_cmd(ctx, as_json):
    """Records that failed validation or parsing, with the reason (never silently dropped)."""
    from synth import status as S

    store = ctx.project.store()
    try:
        rows = S.quarantined(store)
    finally:
        store.close()
    if as_json:
        for r in rows:
            click.echo(json.dumps(r, default=str))
        return
    from rich.table import Table

    t = Table(title=f"Quarantine ({len(rows)})", title_justify="left")
    for c in ("source", "id / location", "reason", "run", "at"):
        t.add_column(c)
    for r in rows:
        t.add_row(r["source"], r["source_id"] or r["location"], r["reason"], str(r["run_id"] or ""), r["at"])
    _console().print(t)


COMMANDS = [refresh_cmd, status_cmd, new_cmd, quarantine_cmd]
