"""`synth import`: database export files (RIS, MEDLINE/.nbib, BibTeX, CSV, JSONL) into the store."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from synth.cli import pass_ctx
from synth.commands import render

FORMAT_CHOICES = ["auto", "ris", "nbib", "bibtex", "csv", "jsonl"]
_SHOW_PROBLEMS = 20


@click.command("import")
@click.argument("files", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--format", "fmt", type=click.Choice(FORMAT_CHOICES), default="auto", show_default=True,
              help="Export format; auto recognises it from the content.")
@click.option("--database", default=None, metavar="NAME",
              help="Database the export came from (PsycINFO, CINAHL, ...); default: detected from the file.")
@click.option("--json", "as_json", is_flag=True, help="One JSON summary object per file (NDJSON).")
@pass_ctx
def import_cmd(ctx, files: tuple[str, ...], fmt: str, database: str | None, as_json: bool) -> None:
    """Import database exports into the corpus, de-duplicated with harvested records.

    Every file is read and checked before anything is stored: a file that is empty,
    binary or not in the format gives one error line and changes nothing. Entries
    that cannot be read are quarantined (see `synth quarantine`) and the rest import.
    The next `synth index` / `synth refresh` indexes and codes the new records.
    """
    from synth.importers import read_all

    parsed = read_all(files, fmt, database)  # raises (exit 2) before the store is opened
    for _, result in parsed:
        for warning in result.warnings:
            click.echo(f"warning: {warning}", err=True)
    project = ctx.project
    store = project.store()
    run_id = store.start_run("import")
    try:
        summary = _store_with_progress(store, parsed, run_id, quiet=as_json)
    except BaseException as e:
        # What stopped it, for `synth status` (Ctrl-C included); records stored before it stay stored.
        store.finish_run(run_id, "failed", {"error": f"{type(e).__name__}: {e}".rstrip(": ")})
        raise
    store.finish_run(run_id, "ok", summary)
    if as_json:
        for row in summary["files"]:
            sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
        return
    _print_summary(summary)


def _store_with_progress(store, parsed, run_id, quiet: bool) -> dict:
    from synth.importers import store_results

    total = sum(r.entries for _, r in parsed)
    if quiet or total < 200:
        return store_results(store, parsed, run_id)
    from synth.progress import progress_bar

    with progress_bar() as bar:
        task = bar.add_task("Importing", total=total, unit="records")
        return store_results(store, parsed, run_id, progress=lambda n: bar.advance(task, n))


def _print_summary(summary: dict) -> None:
    from rich.table import Table

    out, err = render.console(), render.console(stderr=True)
    table = Table(title="Import summary")
    table.add_column("file", overflow="fold")
    table.add_column("format")
    table.add_column("database", overflow="fold")
    cols = ("read", "new", "merged", "updated", "unchanged", "quarantined")
    for name in cols:
        table.add_column(name, justify="right")
    for row in summary["files"]:
        table.add_row(Path(row["file"]).name, row["format"], row["database"] or "-", *(str(row[c]) for c in cols))
    if len(summary["files"]) > 1:
        table.add_row("total", "", "", *(str(summary["total"][c]) for c in cols), style="bold")
    out.print(table)
    problems = [p for row in summary["files"] for p in row["problems"]]
    for p in problems[:_SHOW_PROBLEMS]:
        err.print(f"quarantined {p['location']}: {p['reason']}", markup=False, highlight=False, soft_wrap=True)
    if len(problems) > _SHOW_PROBLEMS:
        err.print(f"... and {len(problems) - _SHOW_PROBLEMS} more (`synth quarantine` lists them all)")


COMMANDS = [import_cmd]
