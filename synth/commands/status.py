"""`synth status`, `synth new`, `synth quarantine`: what the periodic job left behind (read-only)."""

from __future__ import annotations

import json

import click

from synth.cli import pass_ctx
from synth.commands import render


@click.command("status")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@pass_ctx
def status_cmd(ctx, as_json):
    """Last runs, each source's window, counts, store–index agreement and open errors."""
    from synth.status import status_report

    report = status_report(ctx.project)
    if as_json:
        click.echo(json.dumps(report, default=str))
        return

    con = render.console()
    if report["running"]:
        con.print(f"[yellow]A refresh is running (pid {report['running']}).[/yellow]")
    if render.narrow(con):
        _runs_stacked(con, report)
    else:
        _runs_tables(con, report)
    con.print("Counts: " + ", ".join(f"{k.replace('_', ' ')} {v:,}" for k, v in report["counts"].items()))
    idx = report["index"]
    if idx.get("ok"):
        con.print(f"Store and index agree ({idx.get('records', 0):,} records).")
    else:
        detail = idx.get("error") or ", ".join(f"{k.replace('_', ' ')} {idx[k]}" for k in
                                               ("missing", "stale", "orphan_records", "orphan_sentences", "missing_vectors",
                                                "sentence_rows_mismatch") if idx.get(k))
        con.print(f"[red]Store and index disagree[/red]: {detail}. `synth refresh` (or `synth check --repair`) fixes it.",
                  highlight=False)
    for e in report["errors"]:
        con.print(f"[red]open error[/red] run {e['run_id']} {e['source']}: {e['error']} ({e['url']})", highlight=False)


def _problem(r: dict) -> str:
    problem = ", ".join(r["failed_sources"]) or (r["error"] or "")
    return problem if len(problem) <= 60 else problem[:57] + "..."


def _runs_tables(con, report: dict) -> None:
    from rich.markup import escape
    from rich.table import Table

    runs = Table(title="Last runs", title_justify="left")
    for c in ("run", "kind", "started", "finished", "status", "new", "embedded", "coded", "failed / error"):
        runs.add_column(c, overflow="fold" if c == "failed / error" else "ellipsis",
                        no_wrap=c in ("started", "finished"))
    for r in report["runs"]:
        style = {"ok": "green", "partial": "yellow"}.get(r["status"], "red")
        runs.add_row(str(r["id"]), r["kind"], _when(r["started_at"]), _when(r["finished_at"]),
                     f"[{style}]{r['status']}[/{style}]", str(r["new"]), str(r["embedded"]), str(r["coded"]),
                     escape(_problem(r)))
    con.print(runs)
    win = Table(title="Harvest windows (last completed)", title_justify="left")
    for c in ("source", "since", "until", "records", "completed (UTC)", "next from", "open failures"):
        win.add_column(c, no_wrap=c != "open failures")
    for w in report["windows"]:
        win.add_row(w["source"] + ("" if w["enabled"] else " (disabled)"), w["since"] or "never", w["until"] or "",
                    str(w["records"]), _when(w["completed_at"]), w["next_since"] or "", str(w["failed_requests_open"]))
    con.print(win)


def _runs_stacked(con, report: dict) -> None:
    """The same facts as _runs_tables, one run or source per line pair, for narrow terminals."""
    from rich.markup import escape

    con.print("[bold]Last runs[/bold]" + ("" if report["runs"] else ": none yet"))
    for r in report["runs"]:
        style = {"ok": "green", "partial": "yellow"}.get(r["status"], "red")
        render.line(con, f"  run {r['id']} {r['kind']} [{style}]{r['status']}[/{style}]  "
                         f"{_when(r['started_at'])} → {_when(r['finished_at'])[11:] or '…'}")
        con.print(f"      new {r['new']} · embedded {r['embedded']} · coded {r['coded']}"
                  + (f" · [red]{escape(_problem(r))}[/red]" if _problem(r) else ""), highlight=False)
    con.print("[bold]Harvest windows[/bold] (last completed)")
    for w in report["windows"]:
        render.line(con, f"  {w['source']}{'' if w['enabled'] else ' (disabled)'}  {w['since'] or 'never'} → "
                         f"{w['until'] or ''}  {w['records']} records")
        con.print(f"      completed {_when(w['completed_at']) or 'never'} · next from {w['next_since'] or '-'}"
                  f" · open failures {w['failed_requests_open']}", highlight=False)


def _when(ts: str | None) -> str:
    """ISO timestamp (UTC) shortened for a table: 2026-01-31 12:00."""
    return (ts or "")[:16].replace("T", " ")


@click.command("new")
@click.option("--since", default=None, metavar="RUN|DATE",
              help="A run id (see `synth status`) or a date YYYY-MM-DD. Default: what the last refresh added.")
@click.option("--retracted", "only_retracted", is_flag=True,
              help="Only the studies newly known to be retracted (with --json: one a line, with the notice).")
@click.option("--json", "as_json", is_flag=True, help="NDJSON: one record a line, with its mechanisms.")
@pass_ctx
def new_cmd(ctx, since, only_retracted, as_json):
    """Records added since a run or date, grouped by mechanism, and the studies newly known
    to be retracted (already stored or new)."""
    from synth import status as S
    from synth.status import newly_retracted

    store = ctx.project.store()
    try:
        cutoff, records = S.new_records(store, since) if not only_retracted else (None, [])
        cutoff, retracted = newly_retracted(store, since)
    finally:
        store.close()
    if as_json:
        for r in retracted if only_retracted else records:
            click.echo(json.dumps({k: v for k, v in r.items() if k != "mechanism_names"}, default=str))
        return
    from rich.markup import escape

    con = render.console()
    if retracted:
        n = len(retracted)
        con.print(f"[bold red]{n} {'study' if n == 1 else 'studies'} newly known to be retracted since {escape(cutoff)}[/bold red]"
                  " (leave them out of the synthesis; `synth show ID` for the notice)", highlight=False)
        for r in retracted:
            con.print(f"  {r['id']}  {r['year'] or '    '}  {r['title']}  [{render.retraction_brief(r['retraction'])}]",
                      markup=False, highlight=False)
        con.print("")
    elif only_retracted:
        con.print(f"No study newly known to be retracted since {escape(cutoff)}", highlight=False)
    if only_retracted:
        return
    names = {}
    for r in records:
        names.update(r["mechanism_names"])
    groups = S.group_by_mechanism(records)
    con.print(f"{len(records)} records added since {cutoff}", highlight=False)
    lines = []
    for mech, recs in groups.items():
        lines.append("\n" + click.style(names.get(mech, mech), bold=True) + f" ({len(recs)})")
        for r in recs:
            flag = ((" [RETRACTED]" if r.get("retracted") else "") + (" [retraction notice]" if r.get("retraction_notice") else "")
                    + (" [excluded]" if r["excluded"] else ""))
            lines.append(f"  {r['id']}  {r['year'] or '    '}  {r['title']}{flag}")
    render.rows(lines)


@click.command("quarantine")
@click.option("--json", "as_json", is_flag=True, help="NDJSON: one quarantined record a line.")
@pass_ctx
def quarantine_cmd(ctx, as_json):
    """Records that failed validation or parsing, with the reason (never silently dropped)."""
    from synth import status as S

    store = ctx.project.store()
    try:
        rows = S.quarantined(store)
    finally:
        store.close()
    if as_json:
        for r in rows:
            click.echo(json.dumps(r, default=str))
        return
    from rich.table import Table

    t = Table(title=f"Quarantine ({len(rows)})", title_justify="left")
    for c in ("source", "id / location", "reason", "run", "at"):
        t.add_column(c)
    for r in rows:
        t.add_row(r["source"], r["source_id"] or r["location"], r["reason"], str(r["run_id"] or ""), r["at"])
    render.console().print(t)


COMMANDS = [status_cmd, new_cmd, quarantine_cmd]
