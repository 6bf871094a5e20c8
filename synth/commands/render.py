"""Terminal rendering shared by the commands and `synth demo`: one console, and the views
more than one command prints (harvest summary, search results, mechanism summary).

Below NARROW columns (an 80-column terminal) tables whose cells would be squeezed to a few
characters become stacked lines. Identifiers (record ids, DOIs, PMIDs, mechanism ids) are never
cut or folded: they are what a user pastes into the next command, so a line that holds one
may run past the edge rather than break it. `--json` and `--csv` never go through here.
"""

from __future__ import annotations

import os

NARROW = 100


def console(stderr: bool = False):
    """A rich console; piped output without $COLUMNS gets 160 columns rather than rich's 80 (a log is not a terminal)."""
    from rich.console import Console

    con = Console(stderr=stderr)
    if not con.is_terminal and not os.environ.get("COLUMNS"):
        con = Console(stderr=stderr, width=160)
    return con


def narrow(con) -> bool:
    return con.width < NARROW


def line(con, text: str, markup: bool = True) -> None:
    """Print one line that is never wrapped (it holds identifiers a user will copy)."""
    con.print(text, markup=markup, highlight=False, soft_wrap=True)


def rows(lines) -> None:
    """Print many plain lines (one per record or fragment) straight to stdout: rich costs ~0.2 ms a
    line, 20 s for `synth new` after a 100,000-record first refresh. Styling is click's (ANSI on a
    terminal, dropped when piped); the terminal wraps long lines, so identifiers are never cut."""
    import click

    click.echo("\n".join(lines))


def wrapped(text: str, width: int, indent: str = "  ") -> str:
    """TEXT wrapped to WIDTH (textwrap: cheap; words, ids included, never broken)."""
    import textwrap

    return textwrap.fill(text, width, subsequent_indent=indent, break_long_words=False, break_on_hyphens=False)


# ---------------------------------------------------------------------- harvest
HARVEST_COLUMNS = [("requests", "requests", "req"), ("seen", "records seen", "seen"), ("new", "new", "new"),
                   ("updated", "updated", "upd"), ("merged", "duplicates merged", "merged"),
                   ("unchanged", "unchanged", "same"), ("quarantined", "quarantined", "quar"),
                   ("failed_requests", "failed requests", "failed")]


def harvest_table(summary: dict, title: str = "Harvest") -> None:
    """One row per source (`synth harvest`, `synth refresh`, `synth demo`)."""
    from rich.table import Table

    con = console()
    short = narrow(con)
    t = Table(title=title, title_justify="left")
    t.add_column("source", no_wrap=True)
    for _, long, brief in HARVEST_COLUMNS:
        t.add_column(brief if short else long, justify="right")
    t.add_column("status", no_wrap=True)
    for name, s in summary.items():
        status = "[green]ok[/green]" if s.get("status") == "ok" else f"[red]{s.get('status') or 'failed'}[/red]"
        if s.get("capped"):
            status += " (--max)"
        t.add_row(name, *(str(s.get(k, 0)) for k, _, _ in HARVEST_COLUMNS), status)
    con.print(t)


def retraction_brief(info: dict) -> str:
    """'retracted 2024-03-05, notice PMID 39000171 (pubmed, crossref)'."""
    bits = ["retracted" + (f" {info['date']}" if info.get("date") else "")]
    if info.get("notice_pmid") or info.get("notice_doi"):
        bits.append("notice " + (f"PMID {info['notice_pmid']}" if info.get("notice_pmid") else f"doi:{info['notice_doi']}"))
    return ", ".join(bits) + f" ({', '.join(info.get('sources') or [])})"


# ---------------------------------------------------------------------- search results
def _citation(r: dict) -> str:
    ids = []
    if r.get("doi"):
        ids.append(f"doi:{r['doi']}")
    if r.get("pmid"):
        ids.append(f"PMID {r['pmid']}")
    return " · ".join(ids)


def retraction_short(info: dict | None) -> str:
    """'2025-03-05 · notice PMID 35990900' for the results view."""
    if not info:
        return ""
    notice = (f"notice PMID {info['notice_pmid']}" if info.get("notice_pmid")
              else f"notice doi:{info['notice_doi']}" if info.get("notice_doi") else "")
    return " · ".join(x for x in (info.get("date") or "", notice) if x)


def _badges(r: dict) -> tuple[list[str], list[str]]:
    """Markers every result view carries: retracted, retraction notice, near miss, protocol."""
    from rich.markup import escape

    badges, notes = [], []
    if r.get("retracted"):
        badges.append("[bold white on red] RETRACTED [/bold white on red]")
        detail = retraction_short(r.get("retraction"))
        notes += [f"[red]{escape(detail)}[/red]"] if detail else []
    elif r.get("retraction_notice"):
        badges.append("[bold red]RETRACTION NOTICE[/bold red]")
    if r.get("near_miss"):
        badges.append("[bold black on yellow] NEAR MISS [/bold black on yellow]")
        rel = r.get("relevance")
        notes.append(f"[yellow]relevance {rel:.2f}, below the coder's threshold: likely off the review question[/yellow]")
    if r.get("protocol"):
        badges.append("[bold white on blue] PROTOCOL [/bold white on blue]")
        notes.append("[blue]a planned study: no results yet[/blue]")
    return badges, notes


def _results_table(results, stems: set[str], similar: bool):
    from rich.markup import escape
    from rich.table import Table

    from synth import highlight
    from synth.design import LABELS

    t = Table(show_lines=True, expand=True)
    t.add_column("#", justify="right", no_wrap=True)
    t.add_column("Study", ratio=2)
    t.add_column("Year", no_wrap=True)
    t.add_column("Design", no_wrap=True)
    if not similar:
        t.add_column("Best-matching evidence", ratio=3)
    t.add_column("Score", justify="right", no_wrap=True)
    for r in results:
        badges, notes = _badges(r)
        study = " ".join([*badges, f"[bold]{highlight.mark_rich(r['title'], stems)}[/bold]"]) + "".join(f"\n{n}" for n in notes)
        meta = " ".join(x for x in (escape(r.get("first_author") or ""), escape(r.get("journal") or "")) if x)
        study += f"\n[dim]{meta}[/dim]" if meta else ""
        study += f"\n[cyan]{escape(r['id'])}[/cyan] [dim]{escape(_citation(r))}[/dim]"
        if r.get("mechanisms"):
            study += f"\n[magenta]{escape(', '.join(r['mechanisms']))}[/magenta]"
        row = [str(r["rank"]), study, str(r.get("year") or ""), LABELS.get(r.get("design") or "", r.get("design") or "")]
        if not similar:
            section = f"[dim]{escape(r['snippet_section'].title())}:[/dim] " if r.get("snippet_section") else ""
            row.append(section + highlight.mark_rich(r.get("snippet") or "", stems))
        row.append(f"{r['score']:.3f}")
        t.add_row(*row)
    return t


def _results_list(con, results, stems: set[str], similar: bool) -> None:
    """The narrow layout: title, facts, identifiers (one unbroken line), mechanisms, snippet."""
    from rich.markup import escape
    from rich.padding import Padding

    from synth import highlight
    from synth.design import LABELS

    for r in results:
        badges, notes = _badges(r)
        con.print(f"[bold]{r['rank']:>2}.[/bold] " + " ".join([*badges, f"[bold]{highlight.mark_rich(r['title'], stems)}[/bold]"])
                  + f" [dim]({r['score']:.3f})[/dim]", highlight=False)
        facts = " · ".join(escape(str(x)) for x in (r.get("year"), LABELS.get(r.get("design") or "", r.get("design") or ""),
                                                    r.get("first_author"), r.get("journal")) if x)
        pad = "    "
        for n in notes + ([f"[dim]{facts}[/dim]"] if facts else []):
            con.print(Padding(n, (0, 0, 0, 4), expand=False), highlight=False)
        line(con, f"{pad}[cyan]{escape(r['id'])}[/cyan]  {escape(_citation(r).replace(' · ', '  '))}")
        if r.get("mechanisms"):
            line(con, f"{pad}[magenta]{escape(', '.join(r['mechanisms']))}[/magenta]")
        if not similar and r.get("snippet"):
            section = f"[dim]{escape(r['snippet_section'].title())}:[/dim] " if r.get("snippet_section") else ""
            con.print(Padding(section + highlight.mark_rich(r["snippet"], stems), (0, 0, 0, 4), expand=False), highlight=False)
        con.print("")


def search_results(title: str | None, results, groups=None, similar: bool = False, stems: set[str] = frozenset()) -> None:
    """`synth search` / `synth similar` results: a table when wide, stacked when narrow;
    under each mechanism with --by-mechanism (GROUPS)."""
    from rich.markup import escape

    con = console()
    if not results:
        import click

        click.echo("No results." + ("" if similar else " Try other words, or fewer filters."), err=True)
        return

    def block(rows):
        if narrow(con):
            _results_list(con, rows, stems, similar)
        else:
            con.print(_results_table(rows, stems, similar))

    if groups is None:
        if title:
            con.print(f"[bold]{escape(title)}[/bold]", highlight=False)
        block(results)
        return
    for g in groups:
        con.rule(f"[bold magenta]{escape(g['name'])}[/bold magenta] [dim]({len(g['results'])})[/dim]")
        block(g["results"])


# ---------------------------------------------------------------------- mechanisms
def mechanism_summary(o: dict) -> None:
    """`synth mechanisms` (and the demo): synth.mechanisms.overview's evidence per theory mechanism,
    then emergent candidates."""
    from rich.markup import escape
    from rich.padding import Padding
    from rich.table import Table

    con = console()
    rows, emergent = o["mechanisms"], o["emergent"]

    def ranked(items):
        return ", ".join(f"{o['id']} ({o['records']})" for o in items) or "-"

    if narrow(con):
        con.print("[bold]Evidence by mechanism[/bold]")
        for r in rows:
            line(con, f"[bold]{escape(r['id'])}[/bold]")
            for text in (escape(r["name"]), f"{r['records']} records · {r['fragments']} fragments · {r['uncertain']} uncertain",
                         f"[dim]outcomes[/dim] {escape(ranked(r['top_outcomes']))}",
                         f"[dim]contexts[/dim] {escape(ranked(r['top_contexts']))}"):
                con.print(Padding(text, (0, 0, 0, 4), expand=False), highlight=False)
    else:
        t = Table(title="Evidence by mechanism", show_lines=False)
        t.add_column("mechanism", no_wrap=True)
        for col in ("records", "fragments", "uncertain"):
            t.add_column(col, justify="right")
        t.add_column("top outcomes")
        t.add_column("top contexts")
        for r in rows:
            t.add_row(f"[bold]{escape(r['id'])}[/]\n{escape(r['name'])}", str(r["records"]), str(r["fragments"]),
                      str(r["uncertain"]), escape(ranked(r["top_outcomes"])), escape(ranked(r["top_contexts"])))
        con.print(t)
    if emergent:
        con.print("[bold]Emergent candidates[/bold] (promote with `synth theory add ID --from-emergent E…`)")
        for c in emergent:
            ex = c["examples"][0]["text"] if c["examples"] else ""
            line(con, f"[bold]{escape(c['id'])}[/bold]  {c['sentences']} sentences · {c['records']} records")
            con.print(f"    [dim]terms[/dim] {escape(', '.join(c['terms']))}", highlight=False)
            if ex:
                con.print(f"    [dim]e.g.[/dim] {escape(ex[:160])}", highlight=False)
    else:
        con.print("No emergent candidates yet.")
    if any(r["uncertain"] for r in rows):
        con.print("Uncertain fragments are borderline calls: review them first with `synth evidence M --uncertain`.")
    con.print(f"{o['near_misses']} record(s) flagged as near misses (relevance < {o['relevance_min']}); "
              "they carry no codes.", highlight=False)
    if o["stale"]:
        con.print("[yellow]theory.yaml changed since the last coding: run `synth mechanisms --recode`.[/]")
