"""`synth export`: stored records for other tools (RIS, BibTeX, CSL-JSON for reference managers; JSONL)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import click

from synth.cli import OutputPath, pass_ctx, notes_uncoded
from synth.exports import FORMATS

_BY_EXT = {".ris": "ris", ".bib": "bibtex", ".bibtex": "bibtex", ".jsonl": "jsonl", ".ndjson": "jsonl", ".json": "csl-json"}


@click.command("export")
@click.option("--format", "fmt", type=click.Choice(FORMATS), default=None,
              help="Output format (default: from the -o extension, else jsonl).")
@click.option("--mechanism", "mechanism", metavar="M", help="Only records coded with mechanism M.")
@click.option("--include-excluded", is_flag=True, default=None,
              help="Also export records excluded at screening (RIS/BibTeX/CSL-JSON leave them out by default; JSONL has them all).")
@click.option("-o", "--output", type=OutputPath(), help="File to write (default: stdout).")
@pass_ctx
@notes_uncoded
def export_cmd(ctx, fmt: str | None, mechanism: str | None, include_excluded: bool | None, output: str | None) -> None:
    """Export stored records: ris, bibtex, csl-json (Zotero, EndNote, Mendeley) or jsonl (everything).

    JSONL lines carry identifiers, bibliographic fields, provenance, relevance, design,
    mechanisms (with their evidence) and the screening decision.
    """
    from synth.exports import export
    from synth.tables import check_mechanism

    if fmt is None:
        fmt = _BY_EXT.get(Path(output).suffix.lower(), "jsonl") if output else "jsonl"
    project = ctx.project
    if mechanism:
        check_mechanism(project, mechanism)  # before any file is opened or truncated
    if not output:
        n = export(project, fmt, sys.stdout, mechanism, include_excluded)
        return
    out = Path(output)
    tmp = out.with_name(out.name + ".tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            n = export(project, fmt, fh, mechanism, include_excluded)
        os.replace(tmp, out)  # a failed export never leaves a half-written file in place of a good one
    finally:
        tmp.unlink(missing_ok=True)
    click.echo(f"Wrote {n} records ({fmt}) to {out}", err=True)


COMMANDS = [export_cmd]
