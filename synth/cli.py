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


class _Group(click.Group):
    """The top-level group: a library `SynthError` raised by any command becomes click's one-line
    error with the error's exit code (also under click's CliRunner, which tests use)."""

    def invoke(self, ctx: click.Context):
        from synth.errors import SynthError

        try:
            return super().invoke(ctx)
        except SynthError as e:
            err = click.ClickException(e.message)
            err.exit_code = e.exit_code
            raise err from None


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
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


def notes_uncoded(command):
    """For commands that show mechanisms: after they succeed, one line on stderr when some records are
    not coded yet (stdout, and so --json/--csv, unchanged; an error stays the only line)."""
    import functools

    @functools.wraps(command)
    def wrapper(obj, *args, **kwargs):
        out = command(obj, *args, **kwargs)
        with obj.project.store() as store:
            n = store.uncoded()
        if n:
            click.echo(f"Note: {n:,} record(s) not coded for mechanisms yet; `synth index` codes them.", err=True)
        return out

    return wrapper


class OutputPath(click.Path):
    """A file to write (`-o`): its folder must exist; a typo in it is an error, not a new directory."""

    def __init__(self, **kw):
        super().__init__(dir_okay=False, writable=True, **kw)

    def convert(self, value, param, ctx):
        if not str(value).strip():
            self.fail("give a file name (an empty one was given)", param, ctx)
        value = super().convert(value, param, ctx)
        if str(value) != "-":
            from pathlib import Path

            parent = Path(value).expanduser().parent
            if not parent.is_dir():
                self.fail(f"folder {str(parent)!r} does not exist (create it first)", param, ctx)
        return value


def refuse_conflicting_flags(cmd: click.Command) -> None:
    """Flags that set one value (`--include`/`--exclude`, `--accept`/`--reject`) refuse to be combined:
    click would silently keep the last one given."""
    groups: dict[str, list[click.Option]] = {}
    for p in cmd.params:
        if isinstance(p, click.Option) and p.is_flag and not p.is_bool_flag and p.name:
            groups.setdefault(p.name, []).append(p)
    clashing = [opts for opts in groups.values() if len(opts) > 1]
    if clashing:
        parse_args = cmd.parse_args

        def checked(ctx: click.Context, args: list[str]) -> list[str]:
            if not ctx.resilient_parsing:
                _, _, order = cmd.make_parser(ctx).parse_args(args=list(args))
                for opts in clashing:
                    given = list(dict.fromkeys(p for p in order if p in opts))
                    if len({p.flag_value for p in given}) > 1:
                        names = " and ".join(max(p.opts, key=len) for p in given)
                        raise click.UsageError(f"{names} cannot be used together", ctx)
            return parse_args(ctx, args)

        cmd.parse_args = checked
    for sub in getattr(cmd, "commands", {}).values():
        refuse_conflicting_flags(sub)

_COMMAND_MODULES = [
    "project", "harvest", "imports", "export", "index", "search",
    "mechanisms", "tables", "screening", "duplicates", "report", "refresh", "status", "demo", "fakeapi",
]


def _register() -> None:
    import importlib

    for name in _COMMAND_MODULES:
        mod = importlib.import_module(f"synth.commands.{name}")
        for cmd in mod.COMMANDS:
            refuse_conflicting_flags(cmd)
            cli.add_command(cmd)


_register()


def _not_utf8(arg: str) -> bool:
    try:
        arg.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def main() -> None:
    """Entry point: user errors are one line (exit 2); internal errors never show a traceback
    unless SYNTH_DEBUG=1."""
    from synth.errors import SynthError

    bad = next((a for a in sys.argv[1:] if _not_utf8(a)), None)
    if bad is not None:
        # Bytes that are not UTF-8 reach Python as lone surrogates, which SQLite and the tokenizers refuse.
        shown = bad.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        click.echo(f"Error: argument {shown!r} is not valid UTF-8 text (rename the file, or retype the text)", err=True)
        sys.exit(2)
    try:
        # Outside standalone mode click *returns* a command's `Exit(n)` code instead of exiting.
        code = cli.main(standalone_mode=False, prog_name="synth")
    except click.exceptions.Abort:  # click's form of a KeyboardInterrupt (Ctrl-C, or a refresh told to stop)
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    except click.exceptions.NoArgsIsHelpError as e:
        e.show()  # a group run bare: its help, as click does
        sys.exit(e.exit_code)
    except click.UsageError as e:
        # One line, as the README promises (click's own form is usage + hint + blank + error).
        hint = f" (see '{e.ctx.command_path} --help')" if e.ctx is not None else ""
        click.echo(f"Error: {' '.join(e.format_message().split())}{hint}", err=True)
        sys.exit(e.exit_code)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except SynthError as e:  # raised outside a command's invoke (e.g. while the group parses)
        click.echo(f"Error: {e.message}", err=True)
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
        if isinstance(e, OSError) and e.filename is not None:
            # A path the user gave that cannot be written or read (`-o /proc/x.csv`): their input, one line.
            click.echo(f"Error: cannot use {e.filename}: {e.strerror or type(e).__name__}", err=True)
            sys.exit(2)
        click.echo(f"Error: internal error: {type(e).__name__}: {e} (set SYNTH_DEBUG=1 for details)", err=True)
        sys.exit(1)
    sys.exit(code if isinstance(code, int) and not isinstance(code, bool) else 0)
