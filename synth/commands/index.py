"""`synth index` and `synth check`: embeddings in Chroma, kept in step with the store.

Heavy imports (torch via the indexer, chromadb) happen inside the commands.
"""

from __future__ import annotations

import json

import click

from synth.cli import pass_ctx
from synth.commands import render


def _echo_summary(title: str, rows: list[tuple[str, object]]) -> None:
    from rich.table import Table

    table = Table(title=title, show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column(justify="right")
    for k, v in rows:
        table.add_row(k, f"{v:,}" if isinstance(v, int) else str(v))
    render.console().print(table)


@click.command("index")
@click.option("--model", default=None, help="sentence-transformers model name or path (default: synth.toml [index] model).")
@click.option("--chroma-url", default=None, help="Chroma server, http://host:port (default: [index] chroma_url, else embedded).")
@click.option("--rebuild", is_flag=True, help="Re-embed everything into new collections; switch over when complete.")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as one JSON object.")
@click.option("--quiet", "-q", is_flag=True, help="No progress bar.")
@pass_ctx
def index_cmd(ctx, model, chroma_url, rebuild, as_json, quiet):
    """Embed records and evidence sentences into Chroma and code new or changed records (incremental)."""
    from synth.refresh import index_project

    summary = index_project(ctx.project, rebuild=rebuild, progress=not quiet and not as_json, model=model,
                            chroma_url=chroma_url)
    lexical, coding = summary["lexical"], summary["coding"]
    if as_json:
        click.echo(json.dumps(summary))
        return
    _echo_summary(
        f"Index ({summary['model']}, {summary['location']})",
        [("records in store", summary["records"]), ("embedded", summary["embedded"]),
         ("  of which changed", summary["changed"]), ("skipped (unchanged)", summary["skipped_unchanged"]),
         ("removed (merged/deleted)", summary["removed"]),
         ("sentences embedded", summary["sentences"]), ("BM25 index", "rebuilt" if lexical["rebuilt"] else "current"),
         ("records coded", coding["coded"]), ("  near misses flagged", coding.get("near_misses", 0)),
         ("seconds", summary["seconds"])],
    )


@click.command("check")
@click.option("--repair", is_flag=True, help="Fix what disagrees: delete orphan vectors, re-embed missing and stale records.")
@click.option("--chroma-url", default=None, help="Chroma server, http://host:port (default: [index] chroma_url, else embedded).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as one JSON object.")
@pass_ctx
def check_cmd(ctx, repair, chroma_url, as_json):
    """Compare the record store with the vector index.

    Exit status: 0 when store and index agree (or --repair fixed them), 1 when they disagree.
    """
    from index.indexer import check

    report = check(ctx.project, repair=repair, chroma_url=chroma_url, progress=not as_json)
    if as_json:
        click.echo(json.dumps(report))
    else:
        rows = [(k.replace("_", " "), report[k]) for k in ("records", "record_vectors", "sentence_vectors", "missing", "stale",
                                                           "orphan_records", "orphan_sentences", "missing_vectors",
                                                           "sentence_rows_mismatch") if k in report]
        state = "in step" if report["ok"] else ("repaired" if report.get("after", {}).get("ok") else "DISAGREE")
        _echo_summary(f"Check ({report['location']}): {state}", rows)
        if not report["ok"] and not report.get("after"):
            click.echo("Run `synth check --repair` to fix.", err=True)
    if not report["ok"] and not report.get("after", {}).get("ok"):
        raise click.exceptions.Exit(1)


COMMANDS = [index_cmd, check_cmd]
