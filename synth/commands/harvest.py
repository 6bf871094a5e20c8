"""`synth harvest`: run the spiders and print a summary per source."""

from __future__ import annotations

import json
import sys

import click

from synth.cli import pass_ctx
from synth.commands import render
from synth.errors import EXIT_PARTIAL



@click.command("harvest")
@click.option("--source", "sources", multiple=True, metavar="NAME",
              help="Harvest only this source (repeatable): pubmed, europepmc, openalex, crossref.")
@click.option("--since", metavar="DATE", help="Start of the date window (YYYY-MM-DD; default: synth.toml [harvest] since).")
@click.option("--until", metavar="DATE", help="End of the date window (YYYY-MM-DD; default: today).")
@click.option("--max", "max_records", type=click.IntRange(min=1), metavar="N", help="Stop each source after N records.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as NDJSON (one source a line).")
@click.option("--quiet", "-q", is_flag=True, help="No progress bars.")
@pass_ctx
def harvest_cmd(ctx, sources, since, until, max_records, as_json, quiet):
    """Harvest records from the APIs into the project's store.

    Exit status: 0 when every source finished, 1 when some source failed
    (what was stored is kept), 2 on bad input.
    """
    from spiders.state import resolve_window
    from synth.harvest import resolve_sources, run_harvest

    project = ctx.project
    resolve_sources(project, list(sources) or None)  # fail fast, before any crawl starts
    resolve_window(project, since, until)
    summary = run_harvest(project, sources=list(sources) or None, since=since, until=until,
                          max_records=max_records, progress=not (quiet or as_json))
    if as_json:
        for row in summary.values():
            click.echo(json.dumps(row, ensure_ascii=False))
    else:
        render.harvest_table(summary, title="Harvest summary")
    failed = [name for name, s in summary.items() if s["status"] != "ok"]
    if failed:
        for name in failed:
            first = summary[name]["errors"][0] if summary[name]["errors"] else "failed"
            click.echo(f"Error: {name}: {first}", err=True)
        sys.exit(EXIT_PARTIAL)


COMMANDS = [harvest_cmd]
