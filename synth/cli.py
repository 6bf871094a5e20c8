"""The `synth` command: a click group; each concern's commands live in synth/commands/.

Heavy libraries (torch, sentence-transformers, scrapy, chromadb) are imported
inside the commands that need them, so `synth search` starts fast.
"""

from __future__ import annotations

import os
import sys

import click

from synth import __version__


class Context:
    def __init__(self, project_dir: str | None):
        self.project_dir = project_dir
        self._project = None

    @property
    def project(self):
        if self._project is None:
            from synth.project import find_project

            self._project = find_project(self.project_dir)
        return self._project


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="synth")
@click.option("--project", "project_dir", type=click.Path(file_okay=False), envvar="SYNTH_PROJECT",
              help="Review project folder (default: $SYNTH_PROJECT, or the current directory and its parents).")
@click.pass_context
def cli(ctx: click.Context, project_dir: str | None) -> None:
    """Living evidence for realist reviews of youth peer support in mental health.

    Harvest abstracts, index them, and retrieve evidence clustered by mechanism.
    """
    ctx.obj = Context(project_dir)


pass_ctx = click.make_pass_decorator(Context)

_COMMAND_MODULES = [
    "project", "harvest", "imports", "records", "index", "search",
    "mechanisms", "tables", "screening", "report", "refresh", "demo",
]


def _register() -> None:
    import importlib

    for name in _COMMAND_MODULES:
        mod = importlib.import_module(f"synth.commands.{name}")
        for cmd in mod.COMMANDS:
            cli.add_command(cmd)


_register()


def main() -> None:
    """Entry point: user errors are one line (exit 2); internal errors never show a traceback
    unless SYNTH_DEBUG=1."""
    try:
        cli.main(standalone_mode=False, prog_name="synth")
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except BrokenPipeError:
        sys.exit(0)
    except Exception as e:  # noqa: BLE001 - last line of defence against tracebacks
        if os.environ.get("SYNTH_DEBUG"):
            raise
        click.echo(f"Error: internal error: {type(e).__name__}: {e} (set SYNTH_DEBUG=1 for details)", err=True)
        sys.exit(1)
    sys.exit(0)
