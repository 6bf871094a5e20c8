"""`synth report`: the self-contained HTML evidence report."""

from __future__ import annotations

import click

from synth.cli import OutputPath, pass_ctx


@click.command("report")
@click.option("-o", "--output", type=OutputPath(), default="report.html", show_default=True,
              help="HTML file to write.")
@pass_ctx
def report_cmd(ctx, output: str) -> None:
    """Write one self-contained HTML report that opens offline.

    The flow of records (PRISMA 2020 style), the evidence map (mechanism x outcome, primary
    studies per cell, coloured by direction, linked to the quotes), the configurations and evidence
    per mechanism, reviews, ongoing and retracted studies apart, and what changed since the
    previous refresh.
    """
    from synth.report import write_report

    path = write_report(ctx.project, output)
    click.echo(str(path))


COMMANDS = [report_cmd]
