"""`synth search`, `synth show`, `synth similar`.

Only click and the standard library at import time: every `synth` command imports this
module, and `synth search` itself must start fast (no torch, ever).
"""

from __future__ import annotations

import csv
import json
import sys

import click

from synth.cli import notes_uncoded, pass_ctx
from synth.errors import SynthError
from synth.commands import render
from synth.details import record_details

_DESIGN_HELP = ("rct, quasi_experimental, cohort, cross_sectional, qualitative, mixed_methods, systematic_review, "
                "scoping_review, realist_review, realist_evaluation, protocol, other")
CSV_FIELDS = ["rank", "score", "id", "doi", "pmid", "year", "design", "title", "journal", "first_author",
              "mechanisms", "snippet", "snippet_section", "sources", "retracted", "retraction", "near_miss", "relevance",
              "protocol"]
JSON_DROP = ("snippet_marked",)


def _split(values: tuple[str, ...]) -> tuple[str, ...]:
    """Repeatable options also accept comma-separated lists: --design rct,cohort."""
    return tuple(v.strip() for raw in values for v in raw.split(",") if v.strip())


def filter_options(f):
    for opt in reversed([
        click.option("--year-from", type=click.IntRange(1000, 2999), help="Only records published in or after this year."),
        click.option("--year-to", type=click.IntRange(1000, 2999), help="Only records published in or before this year."),
        click.option("--source", "sources", multiple=True, help="pubmed, europepmc, openalex, crossref or import (repeatable)."),
        click.option("--design", "designs", multiple=True, help=f"Study design (repeatable): {_DESIGN_HELP}."),
        click.option("--mechanism", "mechanisms", multiple=True, help="Mechanism id from the programme theory (repeatable)."),
        click.option("--include-excluded", is_flag=True, help="Also show records excluded at screening."),
    ]):
        f = opt(f)
    return f


def _filters(year_from, year_to, sources, designs, mechanisms, include_excluded):
    from synth.search import Filters

    # Ids are lower_snake_case; people type "RCT" or "mixed-methods" as the table shows them.
    designs = tuple(d.lower().replace("-", "_").replace(" ", "_") for d in _split(designs))
    return Filters(year_from=year_from, year_to=year_to, sources=tuple(x.lower() for x in _split(sources)), designs=designs,
                   mechanisms=_split(mechanisms), include_excluded=include_excluded)


def _one_format(as_json: bool, as_csv: bool) -> None:
    if as_json and as_csv:
        raise SynthError("--json and --csv cannot be used together; choose one")


def _searcher(ctx):
    from synth.search import Searcher

    return Searcher(ctx.project)


def _check_k(k: int) -> None:
    if k < 1:
        raise SynthError("-k must be at least 1")


@click.command("search")
@click.argument("query")
@click.option("-k", "--limit", "k", default=10, show_default=True, help="Number of results.")
@filter_options
@click.option("--by-mechanism", is_flag=True, help="Group the results under their mechanisms.")
@click.option("--json", "as_json", is_flag=True, help="NDJSON: one result a line.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV with a header row.")
@pass_ctx
@notes_uncoded
def search_cmd(ctx, query, k, year_from, year_to, sources, designs, mechanisms, include_excluded, by_mechanism, as_json, as_csv):
    """Search the evidence by meaning and by exact terms.

    QUERY can be a concept ("feeling understood by someone who has been there") or exact
    terms ("peer navigator", "first-episode psychosis"); both are ranked together.
    """
    from synth.search import check_query

    query = check_query(query)  # before opening anything: a bad query fails fast
    _check_k(k)
    _one_format(as_json, as_csv)
    s = _searcher(ctx)
    try:
        results = s.search(query, k=k, filters=_filters(year_from, year_to, sources, designs, mechanisms, include_excluded))
        groups = _group_by_mechanism(s, results) if by_mechanism else None
        stems = s.query_stems(query)
    finally:
        s.close()
    if as_json:
        _write_json(results, groups)
    elif as_csv:
        _write_csv(results)
    else:
        render.search_results(None, results, groups, stems=stems)


@click.command("show")
@click.argument("ref", metavar="ID")
@click.option("--json", "as_json", is_flag=True, help="The whole record as one JSON object.")
@pass_ctx
@notes_uncoded
def show_cmd(ctx, ref, as_json):
    """Show one record (by synth id, DOI, PMID, PMCID or OpenAlex id): identifiers, provenance,
    design, screening, and every evidence sentence with its section, role and mechanism codes."""
    s = _searcher(ctx)
    try:
        s.require_corpus()
        data = record_details(s.store, s.resolve(ref), s.sentences_of)
    finally:
        s.close()
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
    else:
        _print_record(data)


@click.command("similar")
@click.argument("ref", metavar="ID")
@click.option("-k", "--limit", "k", default=10, show_default=True, help="Number of results.")
@filter_options
@click.option("--json", "as_json", is_flag=True, help="NDJSON: one result a line.")
@click.option("--csv", "as_csv", is_flag=True, help="CSV with a header row.")
@pass_ctx
def similar_cmd(ctx, ref, k, year_from, year_to, sources, designs, mechanisms, include_excluded, as_json, as_csv):
    """Records nearest in meaning to record ID (by their stored vectors)."""
    _check_k(k)
    _one_format(as_json, as_csv)
    s = _searcher(ctx)
    try:
        rec, results = s.similar(ref, k=k, filters=_filters(year_from, year_to, sources, designs, mechanisms, include_excluded))
    finally:
        s.close()
    if as_json:
        _write_json(results, None)
    elif as_csv:
        _write_csv(results)
    else:
        render.search_results(f"records similar to {rec['id']}: {rec['title']}", results, None, similar=True)


def _group_by_mechanism(s, results: list[dict]) -> list[dict]:
    """Results under each of their mechanisms (a result may appear under several); uncoded last."""
    names = _mechanism_names(s)
    groups: dict[str, list[dict]] = {}
    for r in results:
        for m in r["mechanisms"] or ["(no mechanism)"]:
            groups.setdefault(m, []).append(r)
    order = sorted(groups, key=lambda m: (m == "(no mechanism)", min(r["rank"] for r in groups[m])))
    return [{"mechanism": m, "name": names.get(m, m), "results": groups[m]} for m in order]


def _mechanism_names(s) -> dict[str, str]:
    from synth.search import mechanism_names

    return mechanism_names(s.store)


# --------------------------------------------------------------------------- output
def _json_result(r: dict) -> dict:
    return {k: v for k, v in r.items() if k not in JSON_DROP}


def _write_json(results, groups) -> None:
    out = sys.stdout
    if groups is not None:
        for g in groups:
            out.write(json.dumps({"mechanism": g["mechanism"], "name": g["name"],
                                  "results": [_json_result(r) for r in g["results"]]}, ensure_ascii=False) + "\n")
        return
    for r in results:
        out.write(json.dumps(_json_result(r), ensure_ascii=False) + "\n")


def _write_csv(results) -> None:
    w = csv.DictWriter(sys.stdout, fieldnames=CSV_FIELDS, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in results:
        row = dict(r)
        row["mechanisms"] = ";".join(r.get("mechanisms") or [])
        row["sources"] = ";".join(r.get("sources") or [])
        row["retracted"] = "yes" if r.get("retracted") else ""
        row["retraction"] = _retraction_text(r.get("retraction"))
        row["near_miss"] = "yes" if r.get("near_miss") else ""
        row["protocol"] = "yes" if r.get("protocol") else ""
        w.writerow(row)


def _retraction_text(info: dict | None) -> str:
    """'2024-03-05; notice PMID 39000171' (empty when not retracted)."""
    if not info:
        return ""
    bits = [info.get("date") or "", f"notice PMID {info['notice_pmid']}" if info.get("notice_pmid") else "",
            f"notice doi:{info['notice_doi']}" if info.get("notice_doi") else "",
            "per " + ", ".join(info.get("sources") or []) if info.get("sources") else ""]
    return "; ".join(b for b in bits if b)


def _retraction_line(info: dict) -> str:
    """'RETRACTED 2024-03-05 · notice PMID 39000171, doi:10.5555/notice · per pubmed, crossref'."""
    bits = ["RETRACTED" + (f" {info['date']}" if info.get("date") else "")]
    ids = [f"PMID {info['notice_pmid']}" if info.get("notice_pmid") else "",
           f"doi:{info['notice_doi']}" if info.get("notice_doi") else "",
           f"synth {info['notice_record']}" if info.get("notice_record") else ""]
    ids = [i for i in ids if i]
    if ids:
        bits.append("notice " + ", ".join(ids))
    elif info.get("notice"):
        bits.append(f"notice: {info['notice']}")
    bits.append("per " + ", ".join(info.get("sources") or []))
    return " · ".join(bits)


def _notice_line(info: dict) -> str:
    """'RETRACTION NOTICE of PMID 39000007 (synth s1234567890)'."""
    targets = []
    for t in info.get("targets") or []:
        ids = ", ".join(x for x in (f"PMID {t['pmid']}" if t.get("pmid") else "",
                                    f"doi:{t['doi']}" if t.get("doi") else "") if x)
        targets.append(ids + (f" (synth {t['record_id']})" if t.get("record_id") else ""))
    return "RETRACTION NOTICE" + (" of " + "; ".join(targets) if targets else " (not a study)")


def _print_record(d: dict) -> None:
    from rich.markup import escape
    from rich.padding import Padding
    from rich.table import Table

    from synth.design import LABELS

    con = render.console()
    con.rule(f"[bold]{escape(d['id'])}[/bold]")
    if d.get("retraction"):
        con.print(f"[bold white on red]{escape(_retraction_line(d['retraction']))}[/bold white on red]")
    if d.get("retraction_notice"):
        con.print(f"[bold red]{escape(_notice_line(d['retraction_notice']))}[/bold red]")
    con.print(f"[bold]{escape(d['title'] or '')}[/bold]")
    authors = d.get("authors") or []
    authors = [a if isinstance(a, str) else " ".join(filter(None, (a.get("family"), a.get("given")))) for a in authors]
    if authors:
        con.print(escape("; ".join(authors[:8]) + (" et al." if len(authors) > 8 else "")))
    con.print(escape(" · ".join(str(x) for x in (d.get("journal"), d.get("year")) if x)))
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="dim")
    facts.add_column()
    for label, key in (("DOI", "doi"), ("PMID", "pmid"), ("PMCID", "pmcid"), ("OpenAlex", "openalex"), ("URL", "url")):
        if d.get(key):
            facts.add_row(label, escape(str(d[key])))
    facts.add_row("Design", LABELS.get(d.get("design") or "", d.get("design") or "unknown"))
    if d.get("pub_types"):
        facts.add_row("Publication types", escape(", ".join(d["pub_types"])))
    if d.get("retraction"):
        facts.add_row("Retraction", escape("; ".join(
            f"{g['source']}: {g['signal']}" + (f" ({g['detail']})" if g.get("detail") else "")
            + (f", {g['date']}" if g.get("date") else "") + (f" [on notice {g['notice_record']}]" if g.get("notice_record") else "")
            for g in d["retraction"]["signals"])))
    if d.get("relevance") is not None:
        facts.add_row("Relevance", f"{d['relevance']:.2f}")
    sc = d.get("screening")
    facts.add_row("Screening", escape(f"{sc['decision']}" + (f" ({sc['reason']})" if sc.get("reason") else "")) if sc else "not screened")
    if d.get("mechanisms"):
        facts.add_row("Mechanisms", escape(", ".join(
            f"{m.get('name') or m['id']}" + (f" ({m['score']:.2f})" if isinstance(m.get("score"), (int, float)) else "")
            + (" [curated]" if m.get("curated") else "") for m in d["mechanisms"])))
    con.print(facts)

    if render.narrow(con):
        con.print("[bold]Provenance[/bold]")
        for p in d["provenance"]:
            render.line(con, "  " + escape("  ".join(str(p.get(k) or "") for k in ("source", "source_id", "database")).strip()))
            con.print(escape(f"      first seen {p.get('first_seen') or ''} · fetched {p.get('fetched_at') or ''}"
                             + (f" · run {p['run_id']}" if p.get("run_id") else "")), highlight=False)
        con.print("[bold]Evidence sentences[/bold]")
        for s in d["sentences"]:
            codes = ", ".join(c["code"] for c in s.get("codes") or [] if c["kind"] == "mechanism")
            head = " · ".join(x for x in (s.get("section") or "", s.get("role") or "") if x)
            con.print(f"[bold]{s['idx']:>3}[/bold] [dim]{escape(head)}[/dim]", highlight=False)
            con.print(Padding(escape(s["text"]), (0, 0, 0, 4), expand=False), highlight=False)
            if codes:
                render.line(con, f"    [magenta]{escape(codes)}[/magenta]")
        return
    prov = Table(title="Provenance", title_justify="left", expand=False)
    for col in ("source", "source id", "database", "first seen", "fetched", "run"):
        prov.add_column(col)
    for p in d["provenance"]:
        prov.add_row(*(escape(str(p.get(k) or "")) for k in ("source", "source_id", "database", "first_seen", "fetched_at", "run_id")))
    con.print(prov)

    st = Table(title="Evidence sentences", title_justify="left", show_lines=False, expand=True)
    st.add_column("#", justify="right", no_wrap=True)
    st.add_column("Section", no_wrap=True, style="dim")
    st.add_column("Role", no_wrap=True)
    st.add_column("Sentence", ratio=4)
    st.add_column("Codes", ratio=1, style="magenta")
    for s in d["sentences"]:
        codes = ", ".join(f"{c['code']}" for c in s.get("codes") or [] if c["kind"] == "mechanism")
        st.add_row(str(s["idx"]), escape(s.get("section") or ""), escape(s.get("role") or ""), escape(s["text"]), escape(codes))
    con.print(st)


COMMANDS = [search_cmd, show_cmd, similar_cmd]
