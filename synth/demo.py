"""`synth demo`: the whole pipeline on the bundled sample corpus, offline.

The sample is served in each API's real wire format by the local fake API server
on 127.0.0.1 and harvested by the real spiders; everything after that is the
same code a review on the live APIs runs.
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import click

from synth.project import CONFIG_NAME, init_project, load_project
from synth.records import SOURCES

DEMO_QUERY = "how does shared lived experience build trust with young people"


def _say(text: str) -> None:
    click.secho(f"\n==> {text}", bold=True, err=True)


def run_demo(ctx: click.Context, root: Path, query: str = DEMO_QUERY) -> dict:
    from synth.fakeapi import FakeAPIServer, load_sample_corpus
    from synth.refresh import refresh

    root = Path(root)
    if not (root / CONFIG_NAME).exists():
        init_project(root)
        click.echo(f"Created review project {root}/", err=True)
    project = load_project(root)
    ctx.obj.project_dir = str(project.root)
    ctx.obj._project = project

    corpus = load_sample_corpus()
    with FakeAPIServer(corpus) as api:
        _say(f"Serving the sample corpus ({len(corpus)} studies) as PubMed, Europe PMC, OpenAlex and Crossref on {api.url}")
        # Only in memory: synth.toml keeps the real API roots for when you go online.
        for name in SOURCES:
            project.config.setdefault("sources", {}).setdefault(name, {})["base_url"] = api.base_url(name)
        _say("Refresh: harvest → index → code mechanisms")
        summary = refresh(project, progress=True)
        from synth.commands.refresh import _print_harvest

        _print_harvest(summary.get("harvest", {}))

    from synth.cli import cli

    _say("Mechanisms in the sample (synth mechanisms)")
    ctx.invoke(cli.commands["mechanisms"])
    _say(f'Search (synth search "{query}" -k 5)')
    ctx.invoke(cli.commands["search"], query=query, k=5)

    from synth.report import write_report
    from synth.tables import write_table

    _say("Review tables and report")
    out = project.root / "out"
    out.mkdir(exist_ok=True)
    paths = [write_table(project, out / "review.xlsx", "xlsx"), write_table(project, out / "review.csv", "csv"),
             write_report(project, out / "report.html")]
    for p in paths:
        click.echo(f"Wrote {p}")
    activate = ""
    if shutil.which("synth") is None:  # run as .venv/bin/synth (e.g. by `make demo`): say how to get `synth` on PATH
        activate = f". {Path(sys.executable).parent / 'activate'} && "
    click.echo(f"\nDone. Try: {activate}cd {root} && synth search \"peer navigator\"; "
               "synth evidence hope_role_modelling; synth status. Curate in out/review.xlsx (sheet "
               "'Evidence (curate here)'), then: synth code --from out/review.xlsx")
    return summary
