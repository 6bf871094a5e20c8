"""`synth demo`: the whole pipeline on the bundled sample, offline (library half: synth/demo.py)."""

from __future__ import annotations

import click

from synth.commands import render


@click.command("demo")
@click.argument("directory", default="demo-review", type=click.Path(file_okay=False))
@click.option("--query", default=None, help="The example search to run at the end.")
@click.pass_context
def demo_cmd(ctx, directory, query):
    """Run the whole pipeline on the bundled sample, offline, into DIRECTORY.

    Serves the sample through local fake APIs, harvests it with the real spiders,
    indexes, codes mechanisms, searches, and writes the review table and report.
    Running it again refreshes incrementally."""
    import shutil
    import sys
    from pathlib import Path

    from synth import demo
    from synth.mechanisms.overview import overview

    def say(text: str) -> None:
        click.secho(f"\n==> {text}", bold=True, err=True)

    root = Path(directory)
    project, created = demo.demo_project(root)
    if created:
        click.echo(f"Created review project {root}/", err=True)
    ctx.obj.project_dir, ctx.obj._project = str(project.root), project
    summary = demo.refresh_from_sample(project, progress=True, say=say)
    render.harvest_table(summary.get("harvest") or {})
    say("Mechanisms in the sample (synth mechanisms)")
    render.mechanism_summary(overview(project))
    query = query or demo.DEMO_QUERY
    say(f'Search (synth search "{query}" -k 5)')
    results, stems = demo.search_sample(project, query)
    render.search_results(None, results, stems=stems)
    say("Review tables and report")
    for p in demo.write_outputs(project):
        click.echo(f"Wrote {p}")
    activate = ""
    if shutil.which("synth") is None:  # run as .venv/bin/synth (e.g. by `make demo`): say how to get `synth` on PATH
        activate = f". {Path(sys.executable).parent / 'activate'} && "
    click.echo(f"\nDone. Try: {activate}cd {root} && synth search \"peer navigator\"; "
               "synth evidence hope_role_modelling; synth status. Curate in out/review.xlsx (sheet "
               "'Evidence (curate here)'), then: synth code --from out/review.xlsx")


COMMANDS = [demo_cmd]
