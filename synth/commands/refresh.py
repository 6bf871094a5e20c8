"""`synth refresh`: the periodic job (harvest, index, code) as cron runs it."""

from __future__ import annotations

import json
import sys

import click

from synth.cli import pass_ctx
from synth.commands import render
from synth.errors import EXIT_PARTIAL
from synth.records import SOURCES


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
        render.harvest_table(summary.get("harvest") or {})
        idx, code = summary.get("index") or {}, summary.get("coding") or {}
        click.echo(f"Index: {idx.get('embedded', 0)} embedded, {idx.get('changed', 0)} changed, "
                   f"{idx.get('removed', 0)} removed; "
                   f"{idx.get('records', 0)} records in the index")
        click.echo(f"Coding: {code.get('coded', 0)} coded ({code.get('near_misses', 0)} near misses), "
                   f"{code.get('skipped_unindexed', 0)} waiting for the index")
        retracted = summary.get("newly_retracted") or []
        if retracted:
            click.echo(f"Newly retracted: {len(retracted)} (leave them out of the synthesis; `synth show ID` for the notice)")
            for r in retracted:
                click.echo(f"  {r['id']}  {r.get('year') or '    '}  {r['title']}  [{render.retraction_brief(r['retraction'])}]")
        if summary.get("resolved_failed_requests"):
            click.echo(f"Earlier failed requests now covered: {summary['resolved_failed_requests']}")
        click.echo(f"Refresh run {summary['run_id']}: {summary['status']} in {summary['seconds']}s"
                   + (f" (failed: {', '.join(failed)}; run `synth refresh` again to retry)" if failed else ""))
    if summary["status"] != "ok":
        sys.exit(EXIT_PARTIAL)


COMMANDS = [refresh_cmd]
