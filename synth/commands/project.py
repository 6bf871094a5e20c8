"""`synth init`: create a review project."""

from __future__ import annotations

from pathlib import Path

import click

from synth.project import CONFIG_NAME, init_project


@click.command("init")
@click.argument("directory", default=".", type=click.Path(file_okay=False))
@click.option("--email", default="", help="Contact email sent to the APIs (polite pools).")
def init_cmd(directory: str, email: str) -> None:
    """Create a review project: synth.toml and a data folder in DIRECTORY."""
    overrides = {"harvest": {"contact_email": email}} if email else None
    project = init_project(Path(directory), overrides)
    click.echo(f"Created {project.root / CONFIG_NAME}")
    click.echo("Next: edit the queries in synth.toml, then run `synth harvest`.")


COMMANDS = [init_cmd]
