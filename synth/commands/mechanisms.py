"""`synth theory`, `synth mechanisms`, `synth evidence`, `synth code`."""

from __future__ import annotations

import json

import click

from synth.cli import pass_ctx, notes_uncoded
from synth.commands import render
from synth.errors import SynthError


def _out(obj) -> None:
    click.echo(json.dumps(obj, ensure_ascii=False))


# ---------------------------------------------------------------------- theory
@click.group("theory")
def theory_group():
    """The programme theory (theory.yaml): mechanisms, outcomes, contexts."""


@theory_group.command("init")
@click.option("--force", is_flag=True, help="Overwrite an existing theory.yaml with the default.")
@pass_ctx
def theory_init(ctx, force):
    """Write the default programme theory to theory.yaml in the project."""
    from synth.mechanisms.theory import init_theory

    path = init_theory(ctx.project, force=force)
    click.echo(f"Wrote {path}. Edit it; `synth mechanisms --recode` (or the next refresh) re-codes the corpus.")


@theory_group.command("show")
@click.option("--json", "as_json", is_flag=True, help="The parsed theory as JSON.")
@pass_ctx
def theory_show(ctx, as_json):
    """Print the programme theory in use."""
    from synth.mechanisms.theory import default_theory_text, load_theory, theory_path

    theory = load_theory(ctx.project)
    if as_json:
        _out({"source": theory.source, "hash": theory.hash, **theory.to_dict()})
        return
    path = theory_path(ctx.project)
    click.echo(path.read_text(encoding="utf-8") if path.exists() else default_theory_text(), nl=False)


@theory_group.command("add")
@click.argument("mechanism_id")
@click.option("--name", default="", help="Short name of the mechanism.")
@click.option("--description", default="", help="What the mechanism is (embedded for coding).")
@click.option("--phrase", "phrases", multiple=True, help="An indicative phrase (repeatable).")
@click.option("--example", "examples_opt", multiple=True, help="A typical evidence sentence (repeatable; a few make the mechanism codable).")
@click.option("--from-emergent", "from_emergent", default=None, help="Promote an emergent candidate, e.g. E3.")
@pass_ctx
def theory_add(ctx, mechanism_id, name, description, phrases, examples_opt, from_emergent):
    """Add a mechanism to theory.yaml (optionally promoting an emergent candidate)."""
    from synth.mechanisms.theory import add_mechanism

    examples: list[str] = list(examples_opt)
    cluster = None
    if from_emergent:
        from synth.mechanisms.emergent import mark_promoted, promotion

        with ctx.project.store() as store:
            promo = promotion(ctx.project, store, from_emergent)
        cluster = promo["cluster"]
        phrases = tuple(phrases) or tuple(promo["phrases"])
        name, description = name or promo["name"], description or promo["description"]
        examples = examples or promo["examples"]
    if not description:
        raise SynthError("a mechanism needs a description (--description TEXT or --from-emergent ID)")
    path = add_mechanism(ctx.project, mechanism_id, name, description, list(phrases), examples)
    if cluster:
        with ctx.project.store() as store:
            mark_promoted(store, cluster, mechanism_id)
    shown = f" (phrases: {', '.join(phrases)})" if phrases else " (no phrases)"
    click.echo(f"Added mechanism {mechanism_id}{shown} to {path}; the corpus is re-coded by `synth mechanisms --recode` "
               "or the next refresh.")


# ---------------------------------------------------------------------- mechanisms
@click.command("mechanisms")
@click.option("--json", "as_json", is_flag=True, help="NDJSON: one line per mechanism, then emergent candidates.")
@click.option("--recode", is_flag=True, help="Re-code first: new or changed records, or all after a theory edit (`synth index` codes new ones).")
@click.option("--force", is_flag=True, help="With --recode: re-code every record.")
@pass_ctx
@notes_uncoded
def mechanisms_cmd(ctx, as_json, recode, force):
    """Evidence by mechanism: records, fragments, top outcomes and contexts; emergent candidates."""
    from synth.mechanisms.overview import overview

    if recode:
        from synth.mechanisms.pipeline import code_project

        s = code_project(ctx.project, progress=not as_json, force=force)
        if not as_json:
            click.echo(f"Coded {s['coded']} record(s) ({s['near_misses']} near misses flagged; "
                       f"{s['skipped_unindexed']} awaiting `synth index`) in {s['seconds']} s.", err=True)
    o = overview(ctx.project)
    if as_json:
        for r in o["mechanisms"]:
            _out({"type": "mechanism", **r})
        for e in o["emergent"]:
            _out({"type": "emergent", **e})
        return
    render.mechanism_summary(o)


# ---------------------------------------------------------------------- evidence
@click.command("evidence")
@click.argument("mechanism")
@click.option("--outcome", default=None, help="Only records with this outcome.")
@click.option("--context", default=None, help="Only records with this context.")
@click.option("--uncertain", is_flag=True, help="Borderline fragments the coder left out, closest calls first: curate these first.")
@click.option("--json", "as_json", is_flag=True, help="NDJSON: one fragment a line.")
@click.option("--include-excluded", is_flag=True, help="Include records excluded at screening.")
@pass_ctx
@notes_uncoded
def evidence_cmd(ctx, mechanism, outcome, context, uncertain, as_json, include_excluded):
    """Evidence fragments for MECHANISM (a theory id or emergent:E1), findings first, with citations."""
    from synth.mechanisms.evidence import fragments, label
    from synth.mechanisms.theory import load_theory
    from synth.screening import excluded_ids

    theory = load_theory(ctx.project)
    with ctx.project.store() as store:
        excl = set() if include_excluded else excluded_ids(store)
        frags = fragments(store, theory, mechanism, outcome, context, excl, uncertain)
        mid = frags[0]["mechanism"] if frags else mechanism
        name = label(store, theory, mid)
    if as_json:
        for f in frags:
            _out(f)
        return
    from rich.markup import escape

    con = render.console()
    kind = "uncertain fragment(s)" if uncertain else "fragment(s)"
    con.print(f"[bold]{escape(mid)}[/] {escape(name)}: {len(frags)} {kind} "
              f"from {len({f['record_id'] for f in frags})} record(s)")
    width = con.width
    render.rows(render.wrapped(f"• {f['text']}", width) + "\n  " + click.style(f"{f['citation']} · sentence {f['idx']} · {f['role'] or '-'} · "
                                                     f"{f['score']:.2f}", dim=True)
                + (click.style(" (curated)", fg="green") if f["curated"] else "") for f in frags)
    if uncertain and frags:
        con.print(f"[dim]Decide with: synth code ID --mechanism {escape(mid)} --sentence N --accept|--reject[/]")


# ---------------------------------------------------------------------- code (curation)
@click.command("code")
@click.argument("record", required=False)
@click.option("--mechanism", "mechanism", default=None, help="Theory mechanism id to accept or reject.")
@click.option("--outcome", "outcome", default=None, help="Theory outcome id to accept or reject (with --sentence: one finding).")
@click.option("--context", "context", default=None, help="Theory context id to accept or reject.")
@click.option("--accept", "decision", flag_value="accept", help="Add the code (always beats automatic codes).")
@click.option("--reject", "decision", flag_value="reject", help="Remove the code (always beats automatic codes).")
@click.option("--sentence", type=click.IntRange(0, 99999), default=None, help="Curate one evidence sentence (index from `synth show`).")
@click.option("--note", default="", help="A note kept with the decision (shown in the curation sheet).")
@click.option("--from", "sheet", type=click.Path(dir_okay=False), default=None,
              help="Apply a filled-in curation sheet (`synth table -o review.xlsx`, or review-evidence.csv) all at once.")
@click.option("--undo", is_flag=True, help="Undo the latest curation (one command, or one whole sheet).")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def code_cmd(ctx, record, mechanism, outcome, context, decision, sentence, note, sheet, undo, as_json):
    """Show a record's codes, or curate them.

    \b
    synth code ID                                  the record's codes and evidence
    synth code ID --mechanism M --accept|--reject [--sentence N] [--note TEXT]
    synth code ID --outcome O --sentence N --reject
    synth code --from review.xlsx                  every decision in a curation sheet
    synth code --undo                              put back what the latest curation replaced
    """
    from synth.mechanisms.codes import record_codes
    from synth.mechanisms.curation import curate, resolve_record, undo_last
    from synth.mechanisms.theory import load_theory

    given = [(k, v) for k, v in (("mechanism", mechanism), ("outcome", outcome), ("context", context)) if v]
    if sum(bool(x) for x in (sheet, undo, record)) > 1:
        raise SynthError("give a record id, or --from FILE, or --undo (one at a time)")
    if sheet or undo:
        if given or decision or sentence is not None or note:
            raise SynthError("--from and --undo take no record, code, decision or note options")
        with ctx.project.store() as store:
            done = _apply_sheet(store, load_theory(ctx.project), sheet) if sheet else undo_last(store)
        if undo and done is None:
            raise SynthError("nothing to undo: no curation has been recorded")
        if as_json:
            _out(done)
        elif sheet:
            click.echo(f"Applied {done['decisions']} decisions from {sheet} ({done['accepted']} accepted, {done['rejected']} rejected"
                       f", {done['notes']} notes). Undo with `synth code --undo`; the coder learns from them at the next "
                       f"`synth mechanisms --recode` or `synth refresh`.")
        else:
            click.echo(f"Undid curation batch {done['batch']} ({done['decisions']} decisions from {done['source']}).")
        return
    if record is None:
        raise SynthError("give a record id (or --from FILE, or --undo)")
    if len(given) > 1:
        raise SynthError("curate one code at a time: --mechanism, --outcome or --context")
    if bool(given) != bool(decision):
        raise SynthError("give both a code (--mechanism M, --outcome O or --context C) and --accept or --reject "
                         "(or neither, to show the record's codes)")
    if sentence is not None and not given:
        raise SynthError("--sentence needs a code and --accept or --reject")
    if note and not given:
        raise SynthError("--note goes with a decision: --mechanism M (or --outcome/--context) and --accept or --reject")
    with ctx.project.store() as store:
        if given:
            kind, code = given[0]
            done = curate(store, record, code, decision, sentence, theory=load_theory(ctx.project), kind=kind, note=note)
            if as_json:
                _out(done)
            else:
                where = f"sentence {done['idx']} of " if done["idx"] >= 0 else ""
                click.echo(f"{decision.capitalize()}ed {kind} {code} for {where}{done['record_id']}.")
            return
        rid = resolve_record(store, record)
        codes = record_codes(store, rid)
    if as_json:
        _out(codes)
        return
    from rich.markup import escape

    con = render.console()
    rel = codes["relevance"]
    con.print(f"[bold]{rid}[/] relevance {rel if rel is not None else 'not coded'}" + (" [red](near miss)[/]" if codes["near_miss"] else ""))
    for kind in ("mechanisms", "outcomes", "contexts"):
        con.print(f"[bold]{kind}[/]: " + (", ".join(
            f"{c['id']} {c['score']:.2f}" + (" (curated)" if c.get("curated") else "") for c in codes[kind]) or "-"))
    for m in codes["mechanisms"]:
        for ev in m["evidence"]:
            con.print(f"  {m['id']} ← [{ev['idx']}] {escape(ev['text'])}")


def _apply_sheet(store, theory, path: str) -> dict:
    """Every bad row on its own line (FILE:ROW), then the one-line error; nothing applied."""
    from pathlib import Path

    from synth.mechanisms.sheet import SheetError, apply_sheet

    try:
        return apply_sheet(store, theory, Path(path))
    except SheetError as e:
        for line in e.problems[:100]:
            click.echo(line, err=True)
        if len(e.problems) > 100:
            click.echo(f"... and {len(e.problems) - 100} more", err=True)
        raise


COMMANDS = [theory_group, mechanisms_cmd, evidence_cmd, code_cmd]
