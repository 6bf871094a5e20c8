"""`synth report`: one self-contained HTML file to discuss the evidence with a team.

Offline by construction: CSS, the small script and the evidence map (a mechanism ×
outcome matrix: primary studies per linked claim, coloured by direction) are all in the
page, and a Content-Security-Policy forbids any fetch. All record text goes through
jinja2's autoescape, and the CSP only runs the page's own scripts (by hash),
so a title or abstract holding `<script>` shows as text and could not run anyway.
"""

from __future__ import annotations

import base64
import hashlib
from collections import Counter, defaultdict
from pathlib import Path

from synth.errors import SynthError
from synth.records import utcnow

PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f",
           "#2f4b7c", "#a05195", "#d45087", "#665191", "#003f5c", "#7a5195"]
RELEVANCE_MIN = 0.5  # the coder's near-miss threshold when the store does not record it (meta mechanisms.relevance_min)


# ---------------------------------------------------------------------- flow
def harvest_flow(store, excluded: set[str]) -> dict:
    """PRISMA 2020 shaped counts, honest about who decided: records identified per source and per
    imported database, duplicates removed, quarantined, flagged as near misses by the model (no
    person screened them), excluded by a person (with reasons), included."""
    from synth.screening import decision_counts, exclusion_reasons

    per_source = []
    for r in store.observations_per_source():
        label = r["source"] if not r["database"] else f"{r['source']}: {r['database']}"
        per_source.append({"source": label, "records": r["n"], "imported": r["source"] == "import"})
    identified = sum(s["records"] for s in per_source)
    live = store.count()
    q_sources = store.quarantined_per_source()
    quarantined = sum(r["n"] for r in q_sources)
    live_ids = store.live_ids()
    screened_out = len(excluded & live_ids)
    reasons = Counter((why or "no reason given") for rid, why in exclusion_reasons(store).items() if rid in live_ids)
    try:
        threshold = float(store.get_meta("mechanisms.relevance_min", str(RELEVANCE_MIN)))
    except ValueError:
        threshold = RELEVANCE_MIN
    near = store.ids_below_relevance(threshold)
    decisions = decision_counts(store)
    included_by_person = decisions.get("include", 0)
    near_miss = len(near - excluded)
    return {"per_source": per_source, "identified": identified, "duplicates": identified - live, "unique": live,
            "quarantined": quarantined, "quarantined_per_source": q_sources, "screened_out": screened_out,
            "exclusion_reasons": [{"reason": k, "records": v} for k, v in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0]))],
            "screening_decisions": sum(decisions.values()),
            "included_by_person": included_by_person, "near_miss": near_miss,
            "included": live - screened_out - near_miss}


def evidence_matrix(tables, theory) -> dict:
    """Mechanism × outcome: cell = primary studies with that linked claim, coloured by its usual direction."""
    cells: dict[tuple[str, str], dict] = {}
    for row in tables.rows:
        key = (row["mechanism"], row["outcome"] or "")
        c = cells.setdefault(key, {"studies": set(), "directions": Counter(), "anchor": ""})
        c["studies"] |= set(row["study_ids"])
        c["directions"][row["direction"] or "none"] += row["studies"]
        if not c["anchor"] or row["studies"] > c.get("best", 0):
            c["anchor"], c["best"] = _row_anchor(row), row["studies"]
    outcomes = [(o.id, o.name) for o in theory.outcomes if any(k[1] == o.id for k in cells)]
    if any(k[1] == "" for k in cells):
        outcomes.append(("", "No linked outcome"))
    mechs = [(m.id, m.name) for m in theory.mechanisms if any(k[0] == m.id for k in cells)]
    grid = []
    for mid, name in mechs:
        line = []
        for oid, _ in outcomes:
            c = cells.get((mid, oid))
            if not c:
                line.append(None)
                continue
            dirs = c["directions"]
            top = dirs.most_common(1)[0][0]
            direction = "mixed" if len([d for d in dirs if d not in ("none",)]) > 1 else top
            line.append({"studies": len(c["studies"]), "direction": direction, "anchor": c["anchor"],
                         "title": ", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in sorted(dirs.items()))})
        grid.append({"mechanism": mid, "name": name, "cells": line})
    return {"outcomes": [{"id": o, "name": n} for o, n in outcomes], "rows": grid}


def _row_anchor(row: dict) -> str:
    return f"row-{row['mechanism']}-{row['outcome'] or 'none'}-{row['direction'] or 'none'}"


# ---------------------------------------------------------------------- map
def top_mechanisms(store, excluded: set[str]) -> dict[str, dict]:
    """record id -> its highest-scoring mechanism (curation applied), for colouring the map."""
    from synth.mechanisms import codes

    names = codes.theory_names(store)["mechanisms"]
    out = {}
    for rid, mechs in codes.effective_mechanisms(store).items():
        if rid in excluded or not mechs:
            continue
        best = max(mechs, key=lambda mid: (mechs[mid]["score"], mid))
        out[rid] = {"id": best, "name": names.get(best, best), "all": sorted(mechs)}
    return out


# ---------------------------------------------------------------------- changes
def changes(store, excluded: set[str], tops: dict[str, dict], limit: int = 200) -> dict:
    """Records created since the previous refresh (the last-but-one finished refresh run)."""
    from synth.citations import citation

    runs = store.finished_refreshes(2)
    if not runs:
        return {"message": "No refresh has run yet: `synth refresh` harvests what is new; this section then lists the records each refresh added.",
                "records": [], "groups": [], "latest": None, "previous": None, "count": 0, "updated": 0}
    latest = runs[0]
    previous = runs[1] if len(runs) > 1 else None
    if previous:
        ended = previous["finished_at"] or previous["started_at"]
        created = store.iter_created(after_run=previous["id"], undated_after=ended)
        upd = store.count_updated(ended, previous["id"])
    else:
        created, upd = store.iter_records(), 0
    groups: dict[str, list] = defaultdict(list)
    count = 0
    for r in created:
        if r["id"] in excluded:
            continue
        count += 1
        for heavy in ("abstract", "keywords", "mesh", "pub_types"):  # a citation needs none of them: memory stays small
            r.pop(heavy, None)
        top = tops.get(r["id"])
        groups[top["name"] if top else "No mechanism coded"].append(r)
    out_groups = []
    for name, rs in sorted(groups.items(), key=lambda kv: (kv[0] == "No mechanism coded", -len(kv[1]), kv[0])):
        rs.sort(key=lambda r: (-(r.get("year") or 0), r["id"]))
        out_groups.append({"name": name, "count": len(rs), "records": [citation(r) for r in rs[:limit]],
                           "more": max(0, len(rs) - limit)})
    return {"message": None, "latest": latest, "previous": previous, "count": count, "updated": upd, "groups": out_groups}


# ---------------------------------------------------------------------- the page
_ERROR_JS = ("window.synthErrors=[];window.addEventListener('error',function(e){window.synthErrors.push(String(e.message));"
             "document.documentElement.setAttribute('data-report-errors',window.synthErrors.join(' | '));});")

_READY_JS = """(function(){
var cells=document.querySelectorAll('#evidence-matrix td.cell a');
document.documentElement.setAttribute('data-report-ready','yes');
document.documentElement.setAttribute('data-matrix-cells',String(cells.length));
})();"""


def _csp_hash(js: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(js.encode("utf-8")).digest()).decode() + "'"


def build_report(project) -> dict:
    from synth.mechanisms.theory import load_theory
    from synth.screening import excluded_ids
    from synth.tables import build_tables

    if not project.db_path.exists():
        raise SynthError("no records yet; run `synth harvest` (or `synth import FILE`) first")
    store = project.store()
    try:
        theory = load_theory(project)
        excluded = excluded_ids(store)
        tables = build_tables(project, store=store, evidence=False)  # the fragment sheet is the table's, not the page's
        tops = top_mechanisms(store, excluded)
        sections = []
        for s in tables.summary:
            rows = [r for r in tables.rows if r["mechanism"] == s["mechanism"]]
            sections.append({**s, "rows": rows, "colour": PALETTE[len(sections) % len(PALETTE)]})
        review = project.section("review")
        data = {
            "title": review.get("title") or "Evidence report",
            "question": review.get("question") or "",
            "generated": utcnow(),
            "flow": {**harvest_flow(store, excluded),
                     "contributing": len({rid for r in tables.rows for rid in r["study_ids"]}),
                     "reviews": len({rid for r in tables.secondary for rid in r["study_ids"]}),
                     "ongoing": len(tables.ongoing), "retracted": tables.left_out.get("retracted", 0)},
            "matrix": evidence_matrix(tables, theory),
            "summary": tables.summary,
            "sections": sections,
            "secondary": tables.secondary,
            "ongoing": tables.ongoing,
            "retracted": tables.retracted,
            "configurations": len(tables.rows),
            "changes": changes(store, excluded, tops),
            "theory_source": theory.source,
        }
    finally:
        store.close()
    return data


def render_report(data: dict) -> str:
    from synth.tables import _jinja_env

    csp = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; "
           f"script-src {_csp_hash(_ERROR_JS)} {_csp_hash(_READY_JS)}; base-uri 'none'; form-action 'none'")
    return _jinja_env().get_template("report.html.j2").render(r=data, csp=csp, error_js=_ERROR_JS, ready_js=_READY_JS)


def write_report(project, path="report.html") -> Path:
    """Write the self-contained HTML report; returns its path."""
    path = Path(path)
    if path.suffix.lower() not in (".html", ".htm"):
        raise SynthError(f"the report is one HTML page: give a .html file name, not {path.name!r}")
    html_text = render_report(build_report(project))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(html_text, encoding="utf-8")
    tmp.replace(path)  # never leave a half-written report behind
    return path
