"""`synth report`: one self-contained HTML file to discuss the evidence with a team.

Offline by construction: CSS, the small script and the evidence map (inline SVG)
are all in the page, and a Content-Security-Policy forbids any fetch. All record text goes
through jinja2's autoescape, and the CSP only runs the page's own scripts (by hash),
so a title or abstract holding `<script>` shows as text and could not run anyway.
"""

from __future__ import annotations

import base64
import hashlib
from collections import Counter, defaultdict
from pathlib import Path

from synth.errors import SynthError
from synth.records import utcnow

MAX_MAP_POINTS = 5000  # an SVG with more circles gets sluggish in browsers; a stable sample is drawn
PALETTE = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948", "#b07aa1", "#ff9da7", "#9c755f",
           "#2f4b7c", "#a05195", "#d45087", "#665191", "#003f5c", "#7a5195"]
NONE_COLOUR = "#b8b8b8"
RELEVANCE_MIN = 0.5  # the coder's near-miss threshold when the store does not record it (meta mechanisms.relevance_min)


# ---------------------------------------------------------------------- flow
def harvest_flow(store, excluded: set[str]) -> dict:
    """PRISMA-style counts: identified per source, duplicates merged, quarantined, screened out, included."""
    per_source = []
    for r in store.conn.execute("SELECT source, database, COUNT(*) n FROM provenance GROUP BY source, database ORDER BY source, database"):
        label = r["source"] if not r["database"] else f"{r['source']}: {r['database']}"
        per_source.append({"source": label, "records": r["n"]})
    identified = sum(s["records"] for s in per_source)
    live = store.count()
    quarantined = store.conn.execute("SELECT COUNT(*) FROM quarantine").fetchone()[0]
    q_sources = [dict(r) for r in store.conn.execute(
        "SELECT source, COUNT(*) n FROM quarantine GROUP BY source ORDER BY source")]
    screened_out = len(excluded & {r[0] for r in store.conn.execute("SELECT id FROM records WHERE merged_into IS NULL")})
    included = live - screened_out
    try:
        threshold = float(store.get_meta("mechanisms.relevance_min", str(RELEVANCE_MIN)))
    except ValueError:
        threshold = RELEVANCE_MIN
    near_miss = store.conn.execute(
        "SELECT COUNT(*) FROM records WHERE merged_into IS NULL AND relevance IS NOT NULL AND relevance < ?", (threshold,)
    ).fetchone()[0]
    screened_decisions = store.conn.execute("SELECT COUNT(*) FROM screening").fetchone()[0]
    return {"per_source": per_source, "identified": identified, "duplicates": identified - live, "unique": live,
            "quarantined": quarantined, "quarantined_per_source": q_sources, "screened_out": screened_out,
            "screening_decisions": screened_decisions, "near_miss": near_miss, "included": included}


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


def evidence_map(project, store, excluded: set[str], tops: dict[str, dict], mech_order: list[tuple[str, str]]) -> dict:
    """Records projected to 2-D (PCA of their embeddings), as SVG-ready points; or a message saying why not."""
    import numpy as np

    try:
        from index.vectors import VectorIndex

        vi = VectorIndex.open(project)
    except SynthError as e:
        return {"message": f"No evidence map: {e}.", "points": [], "legend": []}
    except Exception as e:  # noqa: BLE001 - a broken/locked index must not stop the rest of the report
        return {"message": f"No evidence map: the vector index could not be read ({type(e).__name__}).", "points": [], "legend": []}
    live = {r[0]: (r[1], r[2]) for r in store.conn.execute("SELECT id, title, year FROM records WHERE merged_into IS NULL")}
    ids, chunks = [], []
    for batch_ids, mat in vi.iter_record_vectors(batch=2000):
        keep = [i for i, rid in enumerate(batch_ids) if rid in live and rid not in excluded]
        if keep:
            ids.extend(batch_ids[i] for i in keep)
            chunks.append(mat[keep])
    if not ids:
        return {"message": "No evidence map: no included record has been embedded yet; run `synth index`.", "points": [], "legend": []}
    total = len(ids)
    X = np.vstack(chunks).astype(np.float64)
    order = np.argsort(ids)  # Chroma's paging order is not guaranteed: fix it for a reproducible picture
    ids = [ids[i] for i in order]
    X = X[order]
    if total > MAX_MAP_POINTS:  # a stable sample: the same records are drawn on every run
        pick = sorted(range(total), key=lambda i: hashlib.sha1(ids[i].encode()).hexdigest())[:MAX_MAP_POINTS]
        pick.sort()
        ids, X = [ids[i] for i in pick], X[pick]
    if len(ids) >= 3:
        from sklearn.decomposition import PCA

        # randomized SVD: only two components are wanted, and a full SVD costs seconds on a busy 2-core machine
        xy = PCA(n_components=2, svd_solver="randomized", random_state=0).fit_transform(X)
        # PCA's sign is arbitrary; fix it so the picture does not flip between runs
        for k in range(2):
            if xy[np.argmax(np.abs(xy[:, k])), k] < 0:
                xy[:, k] *= -1
    else:
        xy = np.array([[float(i), 0.0] for i in range(len(ids))])
    W, H, pad = 960.0, 560.0, 24.0
    lo, hi = xy.min(axis=0), xy.max(axis=0)
    span = np.where(hi - lo > 1e-9, hi - lo, 1.0)
    colours = {mid: PALETTE[i % len(PALETTE)] for i, (mid, _) in enumerate(mech_order)}
    points, counts = [], Counter()
    for rid, (x, y) in zip(ids, xy):
        top = tops.get(rid)
        mid = top["id"] if top else ""
        counts[mid] += 1
        title, year = live[rid]
        points.append({"id": rid, "x": round(pad + (x - lo[0]) / span[0] * (W - 2 * pad), 1),
                       "y": round(pad + (1 - (y - lo[1]) / span[1]) * (H - 2 * pad), 1),
                       "mechanism": mid, "mechanism_name": top["name"] if top else "No mechanism coded",
                       "colour": colours.get(mid, NONE_COLOUR) if mid else NONE_COLOUR,
                       "title": title, "year": year or ""})
    # uncoded records first, so coded ones are drawn on top
    points.sort(key=lambda p: (p["mechanism"] != "", p["id"]))
    legend = [{"id": mid, "name": name, "colour": colours[mid], "records": counts[mid]} for mid, name in mech_order if counts[mid]]
    if counts[""]:
        legend.append({"id": "", "name": "No mechanism coded", "colour": NONE_COLOUR, "records": counts[""]})
    note = f"Showing a stable sample of {len(ids)} of {total} records." if total > len(ids) else ""
    return {"message": None, "points": points, "legend": legend, "width": W, "height": H, "note": note,
            "total": total, "model": vi.model}


# ---------------------------------------------------------------------- changes
def changes(store, excluded: set[str], tops: dict[str, dict], limit: int = 200) -> dict:
    """Records created since the previous refresh (the last-but-one finished refresh run)."""
    from synth.tables import citation

    runs = [dict(r) for r in store.conn.execute(
        "SELECT id, started_at, finished_at, status FROM runs WHERE kind='refresh' AND status IN ('ok','partial') "
        "ORDER BY id DESC LIMIT 2")]
    if not runs:
        return {"message": "No refresh has run yet: `synth refresh` harvests what is new; this section then lists the records each refresh added.",
                "records": [], "groups": [], "latest": None, "previous": None, "count": 0, "updated": 0}
    latest = runs[0]
    previous = runs[1] if len(runs) > 1 else None
    if previous:
        where = "(created_run > ? OR (created_run IS NULL AND created_at > ?))"
        params = (previous["id"], previous["finished_at"] or previous["started_at"])
        upd = store.count("updated_at > ? AND (created_run <= ? OR created_run IS NULL) AND created_at <= ?",
                          (previous["finished_at"] or previous["started_at"], previous["id"], previous["finished_at"] or previous["started_at"]))
    else:
        where, params, upd = "1=1", (), 0
    recs = [r for r in store.iter_records(where, params) if r["id"] not in excluded]
    groups: dict[str, list] = defaultdict(list)
    for r in recs:
        top = tops.get(r["id"])
        groups[top["name"] if top else "No mechanism coded"].append(r)
    out_groups = []
    for name, rs in sorted(groups.items(), key=lambda kv: (kv[0] == "No mechanism coded", -len(kv[1]), kv[0])):
        rs.sort(key=lambda r: (-(r.get("year") or 0), r["id"]))
        out_groups.append({"name": name, "count": len(rs), "records": [citation(r) for r in rs[:limit]],
                           "more": max(0, len(rs) - limit)})
    return {"message": None, "latest": latest, "previous": previous, "count": len(recs), "updated": upd, "groups": out_groups}


# ---------------------------------------------------------------------- the page
_ERROR_JS = """window.synthErrors=[];window.addEventListener('error',function(e){window.synthErrors.push(String(e.message));document.documentElement.setAttribute('data-report-errors',window.synthErrors.join(' | '));});"""

_READY_JS = """(function(){
var svg=document.getElementById('evidence-map');
var legend=document.querySelectorAll('.legend-item');
var tip=document.getElementById('map-tip');
function toggle(item){
  var mid=item.getAttribute('data-mechanism');
  var off=item.classList.toggle('off');
  item.setAttribute('aria-pressed', off ? 'false' : 'true');
  if(!svg)return;
  var pts=svg.querySelectorAll('circle[data-mechanism="'+mid.replace(/"/g,'')+'"]');
  for(var i=0;i<pts.length;i++){pts[i].style.display=off?'none':'';}
}
for(var i=0;i<legend.length;i++){
  legend[i].addEventListener('click',function(){toggle(this);});
}
if(svg&&tip){
  svg.addEventListener('mousemove',function(e){
    var t=e.target;
    if(t.tagName.toLowerCase()!=='circle'){tip.hidden=true;return;}
    var title=t.querySelector('title');
    tip.textContent=title?title.textContent:'';
    tip.hidden=false;
    tip.style.left=(e.pageX+12)+'px';tip.style.top=(e.pageY+12)+'px';
  });
  svg.addEventListener('mouseleave',function(){tip.hidden=true;});
}
var n=svg?svg.querySelectorAll('circle').length:0;
document.documentElement.setAttribute('data-report-ready','yes');
document.documentElement.setAttribute('data-map-points',String(n));
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
        tables = build_tables(project, store=store)
        tops = top_mechanisms(store, excluded)
        mech_order = [(s["mechanism"], s["name"]) for s in tables.summary]
        sections = []
        for s in tables.summary:
            rows = [r for r in tables.rows if r["mechanism"] == s["mechanism"]]
            sections.append({**s, "rows": rows, "colour": PALETTE[len(sections) % len(PALETTE)]})
        review = project.section("review")
        data = {
            "title": review.get("title") or "Evidence report",
            "question": review.get("question") or "",
            "generated": utcnow(),
            "flow": harvest_flow(store, excluded),
            "map": evidence_map(project, store, excluded, tops, mech_order),
            "summary": tables.summary,
            "sections": sections,
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
    html_text = render_report(build_report(project))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(html_text, encoding="utf-8")
    tmp.replace(path)  # never leave a half-written report behind
    return path
