"""`synth table`: the CMOC review table (and mechanism summary)."""

from __future__ import annotations

import sys

import click

from synth.cli import pass_ctx


@click.command("table")
@click.option("--mechanism", metavar="M", help="Only configurations of mechanism M.")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx", "md", "html", "json"]), default=None,
              help="Output format (default: from the -o extension, else md).")
@click.option("-o", "--output", type=click.Path(dir_okay=False, writable=True), help="File to write (default: stdout).")
@pass_ctx
def table_cmd(ctx, mechanism: str | None, fmt: str | None, output: str | None) -> None:
    """The CMOC review table: one row per (context, mechanism, outcome) configuration.

    Each row gives the supporting records as citations, the evidence fragments verbatim with
    their record ids, the number of studies, study designs, year range and whether any code
    was human-curated. XLSX adds a mechanism summary and an evidence sheet; CSV writes the
    summary beside the table as <name>-mechanisms.csv. Records excluded at screening are left out.
    """
    from synth.errors import SynthError
    from synth.tables import infer_format, render, summary_path, write_table

    fmt = infer_format(output, fmt)
    if not output:
        if fmt == "xlsx":
            raise SynthError("XLSX needs a file: add -o table.xlsx")
        sys.stdout.write(render(ctx.project, fmt, mechanism))
        return
    path = write_table(ctx.project, output, fmt, mechanism)
    click.echo(f"Wrote {path}", err=True)
    if fmt == "csv":
        click.echo(f"Wrote {summary_path(path)}", err=True)


COMMANDS = [table_cmd]
