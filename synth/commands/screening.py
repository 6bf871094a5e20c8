"""`synth screen`: include/exclude decisions."""

from __future__ import annotations

import csv
import json
import sys

import click

from synth.cli import pass_ctx
from synth.commands import render
from synth.errors import SynthError


@click.command("screen")
@click.argument("ref", required=False, metavar="[ID]")
@click.option("--include", "decision", flag_value="include", help="Include the record.")
@click.option("--exclude", "decision", flag_value="exclude", help="Exclude the record (it stays in the store).")
@click.option("--reason", default="", help="Why (e.g. 'adult sample', 'not peer support').")
@click.option("--from", "from_file", type=click.Path(dir_okay=False), help="CSV with columns id, decision, reason.")
@click.option("--list", "list_", is_flag=True, help="Show the decisions made so far.")
@click.option("--json", "as_json", is_flag=True, help="With --list: NDJSON, one decision a line.")
@click.option("--csv", "as_csv", is_flag=True, help="With --list: CSV (id, decision, reason), the --from format.")
@pass_ctx
def screen_cmd(ctx, ref, decision, reason, from_file, list_, as_json, as_csv) -> None:
    """Record screening decisions.

    \b
      synth screen 10.5555/abc --exclude --reason "adult sample"
      synth screen --from decisions.csv      (columns: id, decision, reason)
      synth screen --list [--json | --csv]

    ID may be a synth id, DOI, PMID, PMCID or OpenAlex id. Excluded records stay in the
    store but leave tables, the report and default search results. Decisions survive
    refresh and rebuild.
    """
    from synth import screening as S

    modes = sum(bool(x) for x in (ref, from_file, list_))
    if modes != 1:
        raise SynthError("give one of: ID with --include/--exclude, --from FILE, or --list")
    store = ctx.project.store()
    try:
        if list_:
            _list(S.list_decisions(store), as_json, as_csv)
        elif from_file:
            if decision or reason:
                raise SynthError("--from takes decisions from the file; drop --include/--exclude/--reason")
            decisions = S.read_decisions_file(store, from_file)  # the whole file is checked first
            S.apply(store, decisions)
            n_ex = sum(d.decision == "exclude" for d in decisions)
            click.echo(f"Recorded {len(decisions)} decisions from {from_file}: {len(decisions) - n_ex} included, {n_ex} excluded", err=True)
        else:
            if not decision:
                raise SynthError("say --include or --exclude")
            d = S.decide(store, ref, decision, reason)
            click.echo(f"{d.record_id}: {d.decision}d" + (f" ({d.reason})" if d.reason else ""), err=True)
    finally:
        store.close()


def _list(rows: list[dict], as_json: bool, as_csv: bool) -> None:
    if as_json:
        for r in rows:
            sys.stdout.write(json.dumps(r, ensure_ascii=False) + "\n")
        return
    if as_csv:
        from synth.spreadsheet import neutralise_row

        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(["id", "decision", "reason", "title"])
        for r in rows:
            w.writerow(neutralise_row([r["record_id"], r["decision"], r["reason"], r.get("title") or ""]))
        return
    from rich.table import Table

    if not rows:
        click.echo("No screening decisions yet.", err=True)
        return
    t = Table(title=f"Screening decisions ({len(rows)})")
    for col in ("id", "decision", "reason", "year", "title", "date"):
        t.add_column(col, overflow="fold", ratio=4 if col == "title" else None, no_wrap=col in ("id", "date"))
    for r in rows:
        rid = r["record_id"] + (f" → {r['merged_into']}" if r.get("merged_into") else "")
        t.add_row(rid, r["decision"], r["reason"], str(r.get("year") or ""), r.get("title") or "", r["at"][:10])
    render.console().print(t, markup=False)


COMMANDS = [screen_cmd]
