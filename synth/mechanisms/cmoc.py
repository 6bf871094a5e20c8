"""Context–mechanism–outcome configurations, built from record-level codes.

One configuration per (context, mechanism, outcome) that at least one record supports;
a record with a mechanism but no coded outcome (or context) supports (context, mechanism, None)
so no evidence is lost. Fragments are the record's mechanism evidence plus its sentences for
that outcome, verbatim, in abstract order.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from synth.mechanisms.codes import effective_mechanisms, record_kind_codes, theory_names
from synth.screening import excluded_ids


def configurations(project, mechanism: str | None = None, include_excluded: bool = False, store=None) -> list[dict]:
    own = store is None
    store = store or project.store()
    try:
        return _configurations(store, mechanism, include_excluded)
    finally:
        if own:
            store.close()


def _configurations(store, mechanism, include_excluded) -> list[dict]:
    names = theory_names(store)
    order = {m: i for i, m in enumerate(names["mechanisms"])}
    eff = effective_mechanisms(store)
    if not include_excluded:
        for rid in excluded_ids(store):
            eff.pop(rid, None)
    if mechanism:
        eff = {rid: {mechanism: m[mechanism]} for rid, m in eff.items() if mechanism in m}
    rids = sorted(eff)
    if not rids:
        return []
    outs = record_kind_codes(store, "outcome", rids)
    ctxs = record_kind_codes(store, "context", rids)
    meta = {}
    for i in range(0, len(rids), 500):
        chunk = rids[i:i + 500]
        for r in store.conn.execute(f"SELECT id, design, year FROM records WHERE id IN ({','.join('?' * len(chunk))})", chunk):
            meta[r[0]] = (r[1] or "unknown", r[2])
    texts: dict[tuple[str, int], tuple[str, str]] = {}
    groups: dict[tuple, dict] = defaultdict(lambda: {"records": [], "curated": False, "frag_keys": []})
    for rid in rids:
        for mid, m in eff[rid].items():
            for ctx in sorted(ctxs.get(rid, {})) or [None]:
                for out in sorted(outs.get(rid, {})) or [None]:
                    g = groups[(ctx, mid, out)]
                    g["records"].append(rid)
                    g["curated"] = g["curated"] or m["curated"]
                    keys = [(rid, i) for i in m["evidence"]] + [(rid, i) for i in (outs.get(rid, {}).get(out) or [])]
                    for k in sorted(set(keys), key=lambda k: k[1]):
                        if k not in g["frag_keys"]:
                            g["frag_keys"].append(k)
    need = sorted({k for g in groups.values() for k in g["frag_keys"]})
    for rid in sorted({k[0] for k in need}):
        for idx, text, role in store.conn.execute("SELECT idx, text, role FROM sentences WHERE record_id=?", (rid,)):
            texts[(rid, idx)] = (text, role or "")
    rows = []
    for (ctx, mid, out), g in groups.items():
        years = [meta[r][1] for r in g["records"] if meta.get(r, (None, None))[1]]
        rows.append({
            "context": ctx, "mechanism": mid, "mechanism_name": names["mechanisms"].get(mid, mid), "outcome": out,
            "records": g["records"],
            "fragments": [{"record_id": r, "idx": i, "text": texts[(r, i)][0], "role": texts[(r, i)][1] or "mechanism"}
                          for r, i in g["frag_keys"] if (r, i) in texts],
            "designs": dict(sorted(Counter(meta.get(r, ("unknown", None))[0] for r in g["records"]).items())),
            "year_min": min(years) if years else None, "year_max": max(years) if years else None,
            "curated": g["curated"],
        })
    rows.sort(key=lambda r: (order.get(r["mechanism"], 99), r["mechanism"], -len(r["records"]), r["context"] or "~", r["outcome"] or "~"))
    return rows
