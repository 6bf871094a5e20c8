"""`synth duplicates`: possible duplicates the store would not merge on its own, and a person's decisions."""

from __future__ import annotations

import json
import sys

import click

from synth.cli import pass_ctx
from synth.commands import render


@click.group("duplicates", invoke_without_command=True)
@click.option("--json", "as_json", is_flag=True, help="NDJSON: one pair a line, with both records.")
@click.option("--decided", is_flag=True, help="List the decisions made so far instead.")
@click.pass_context
def duplicates_cmd(click_ctx, as_json: bool, decided: bool) -> None:
    """Possible duplicates, for a person to decide.

    \b
      synth duplicates [--json]            pairs that may be one study (not merged)
      synth duplicates merge A B           they are one study: merge them now
      synth duplicates keep-apart A B      they are different studies: never merge them
      synth duplicates --decided [--json]  the decisions made so far

    When a new record resembles a stored one but the evidence (title, authors, year,
    journal, volume, issue, pages, identifiers) is not strong enough either way, the
    two are kept apart and listed here. A and B may be synth ids, DOIs, PMIDs, PMCIDs or
    OpenAlex ids. Decisions survive `synth refresh` and re-imports.
    """
    if click_ctx.invoked_subcommand is not None:
        if as_json or decided:
            from synth.errors import SynthError

            raise SynthError("--json and --decided list pairs; give them without a subcommand")
        return
    from synth import duplicates as D

    store = click_ctx.obj.project.store()
    try:
        rows = D.decisions(store) if decided else D.undecided(store)
    finally:
        store.close()
    if as_json:
        for r in rows:
            sys.stdout.write(json.dumps(r, ensure_ascii=False) + "\n")
        return
    if decided:
        _print_decisions(rows)
    else:
        _print_pairs(rows)


def _short(rec: dict) -> str:
    authors = rec.get("authors") or []
    who = (authors[0] + (" et al." if len(authors) > 1 else "")) if authors else "no authors"
    where = " ".join(x for x in (rec.get("journal") or "", rec.get("volume") and f"{rec['volume']}"
                                 + (f"({rec['issue']})" if rec.get("issue") else ""),
                                 rec.get("pages") and f":{rec['pages']}") if x)
    return f"{rec.get('title') or ''}\n{who} · {rec.get('year') or '?'} · {where or 'no journal'}"


def _print_pairs(rows: list[dict]) -> None:
    from rich.table import Table

    if not rows:
        click.echo("No possible duplicates to decide.", err=True)
        return
    t = Table(title=f"Possible duplicates ({len(rows)}), not merged", show_lines=False,
              caption="decide with: synth duplicates merge A B  |  synth duplicates keep-apart A B")
    t.add_column("pair", justify="right", no_wrap=True)
    t.add_column("id", no_wrap=True)
    t.add_column("record", overflow="fold", ratio=3)
    t.add_column("evidence", overflow="fold", ratio=1)
    for n, r in enumerate(rows, 1):
        t.add_row(str(n), r["a"]["id"], _short(r["a"]), f"score {r['score']:.1f}")
        t.add_row("", r["b"]["id"], _short(r["b"]), r["reasons"], end_section=True)
    render.console().print(t, markup=False)


def _print_decisions(rows: list[dict]) -> None:
    from rich.table import Table

    if not rows:
        click.echo("No duplicate decisions yet.", err=True)
        return
    t = Table(title=f"Duplicate decisions ({len(rows)})")
    for col in ("A", "B", "decision", "date"):
        t.add_column(col, no_wrap=True)
    for r in rows:
        t.add_row(r["a"], r["b"], r["status"], (r["decided_at"] or "")[:10])
    render.console().print(t, markup=False)


@duplicates_cmd.command("merge")
@click.argument("a")
@click.argument("b")
@pass_ctx
def merge_cmd(ctx, a: str, b: str) -> None:
    """A and B are one study: merge them into one record (every provenance row kept)."""
    from synth import duplicates as D

    store = ctx.project.store()
    try:
        overrides = D.were_kept_apart(store, a, b)
        target = D.merge(store, a, b)
    finally:
        store.close()
    if overrides:
        click.echo(f"note: this replaces the earlier decision to keep {a} and {b} apart", err=True)
    click.echo(f"merged {a} and {b} into {target}", err=True)


@duplicates_cmd.command("keep-apart")
@click.argument("a")
@click.argument("b")
@pass_ctx
def keep_apart_cmd(ctx, a: str, b: str) -> None:
    """A and B are different studies: never merge them, whatever a refresh or import brings."""
    from synth import duplicates as D

    store = ctx.project.store()
    try:
        x, y = D.keep_apart(store, a, b)
    finally:
        store.close()
    click.echo(f"kept apart: {x} and {y}", err=True)


COMMANDS = [duplicates_cmd]
