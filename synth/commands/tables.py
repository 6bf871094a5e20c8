"""`synth table`: the CMOC review table (and mechanism summary)."""

from __future__ import annotations

import sys

import click

from synth.cli import OutputPath, pass_ctx, notes_uncoded

_MAX_LINES = 200  # more than this (or _MAX_CHARS), not asked for in a file: a short summary on a terminal
_MAX_CHARS = 50_000  # a few rows with many quotes are as long as thousands of short ones
_HEAD_LINES = 30
_HEAD_CHARS = 6_000
_LINE_CHARS = 400


@click.command("table")
@click.option("--mechanism", metavar="M", help="Only configurations of mechanism M.")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx", "md", "html", "json"]), default=None,
              help="Output format (default: from the -o extension, else md).")
@click.option("-o", "--output", type=OutputPath(),
              help="File to write; '-' for everything on stdout (default: stdout, summarised when long on a terminal).")
@pass_ctx
@notes_uncoded
def table_cmd(ctx, mechanism: str | None, fmt: str | None, output: str | None) -> None:
    """The CMOC review table: one row per (context, mechanism, outcome) configuration.

    Each row gives the supporting records as citations, the evidence fragments verbatim with
    their record ids, the number of studies, study designs, year range and whether any code
    was human-curated. XLSX adds a mechanism summary and an evidence sheet; CSV writes the
    summary beside the table as <name>-mechanisms.csv. Records excluded at screening are left out.
    """
    from synth.errors import SynthError
    from synth.tables import infer_format, render, summary_path, write_table


    to_stdout = output in (None, "-")
    fmt = infer_format(None if to_stdout else output, fmt)
    if to_stdout:
        if fmt == "xlsx":
            raise SynthError("XLSX needs a file: add -o table.xlsx")
        text = render(ctx.project, fmt, mechanism)
        if output is None and _to_terminal() and (text.count("\n") > _MAX_LINES or len(text) > _MAX_CHARS):
            _summarise(text, fmt)
        else:
            sys.stdout.write(text)
        return
    path = write_table(ctx.project, output, fmt, mechanism)
    click.echo(f"Wrote {path}", err=True)
    if fmt == "csv":
        click.echo(f"Wrote {summary_path(path)}", err=True)


def _to_terminal() -> bool:
    return sys.stdout.isatty()


def _summarise(text: str, fmt: str) -> None:
    """The first lines, then what was left out and how to get it (a terminal is no place for megabytes)."""
    lines = text.split("\n")
    head, used = [], 0
    for line in lines[:_HEAD_LINES]:
        if head and used + min(len(line), _LINE_CHARS) > _HEAD_CHARS:
            break
        head.append(line if len(line) <= _LINE_CHARS else line[:_LINE_CHARS] + " …")
        used += len(head[-1]) + 1
    sys.stdout.write("\n".join(head) + "\n")
    rest = len(lines) - len(head)
    size = f"{len(text.encode()) / 1e6:.1f} MB" if len(text) > 1e5 else f"{len(text.encode()) / 1e3:.0f} kB"
    ext = {"md": "md", "csv": "csv", "html": "html", "json": "json"}.get(fmt, "md")
    click.echo(f"... {rest:,} more lines not shown (the whole table is {size} of {fmt}). Get it all with "
               f"`synth table -o cmoc.{ext}` (or .xlsx), or `synth table -o - | less`.", err=True)


COMMANDS = [table_cmd]
