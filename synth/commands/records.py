"""`synth export`: every stored record, for other tools."""

from __future__ import annotations

import json
import sys

import click

from synth.cli import pass_ctx


def record_json(store, rec: dict) -> dict:
    """The JSONL export shape: identifiers, bibliographic fields and provenance."""
    out = {k: rec.get(k) for k in ("id", "doi", "pmid", "pmcid", "openalex", "title", "abstract", "authors",
                                   "year", "journal", "pub_types", "keywords", "mesh", "language", "url")}
    out["sources"] = store.provenance(rec["id"])
    out["content_hash"] = rec["content_hash"]
    return out


@click.command("export")
@click.option("--format", "fmt", type=click.Choice(["jsonl"]), default="jsonl", show_default=True)
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="File to write (default: stdout).")
@pass_ctx
def export_cmd(ctx, fmt: str, output: str | None) -> None:
    """Export stored records (one JSON object a line)."""
    store = ctx.project.store()
    fh = open(output, "w", encoding="utf-8") if output else sys.stdout
    n = 0
    try:
        for rec in store.iter_records():
            fh.write(json.dumps(record_json(store, rec), ensure_ascii=False) + "\n")
            n += 1
    finally:
        if output:
            fh.close()
    if output:
        click.echo(f"Wrote {n} records to {output}", err=True)


COMMANDS = [export_cmd]
