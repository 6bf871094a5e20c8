"""Linked context–mechanism–outcome configurations: per study, then aggregated into review rows.

A configuration comes from one study: a mechanism linked to an outcome where the text links
them (synth.mechanisms.links), with the study's contexts attached (from its title, aims and
methods; not crossed), the direction of the outcome, and the verbatim quotes with sentence
numbers. A mechanism the study reports with no linked outcome stays (context, mechanism, no
outcome). Study type matters: protocols contribute no configurations (they are listed as
ongoing studies), reviews are secondary evidence kept apart and never counted as primary
studies, and excluded or retracted studies are left out unless asked for.

The review table has one row per (mechanism, outcome, direction) across studies, so it grows
with the evidence, not with the product of codes.
"""

from __future__ import annotations

import re

from collections import Counter, defaultdict

from synth.mechanisms.codes import Coded, coded, relevance_min
from synth.mechanisms.links import LinkSentence, record_links
from synth.mechanisms.outcomes import direction_of, mentions, outcome_lexicon

REVIEW_DESIGNS = frozenset({"systematic_review", "scoping_review", "realist_review", "meta_analysis", "umbrella_review",
                            "narrative_review", "review"})
DIRECTIONS = ("improved", "mixed", "no_change", "worse")
ROLE_ORDER = {"finding": 0, "conclusion": 1, "methods": 2, "aim": 3, "background": 4}


def evidence_class(design: str | None) -> str:
    """primary | review (secondary evidence) | ongoing (a protocol: no findings yet)."""
    if design == "protocol":
        return "ongoing"
    return "review" if design in REVIEW_DESIGNS else "primary"


def _study_contexts(ctxs: dict[str, dict], roles: dict[int, str]) -> list[str]:
    """The study's own contexts: from its title (record-level code without a sentence) or its
    aims, methods and findings; a context named only in background describes the field, not the study."""
    out = []
    for cid, c in ctxs.items():
        ev = c["evidence"]
        if not ev or c["curated"] or any(roles.get(i) != "background" for i in ev):
            out.append(cid)
    return sorted(out)


def study_configurations(store, theory, mechanism: str | None = None, skip: set[str] = frozenset(),
                         view: Coded | None = None) -> list[dict]:
    """Every study's configurations (primary, review; protocols give none). SKIP: record ids to leave out.
    VIEW: the corpus's codes (SKIP left out) when the caller has read them already."""
    view = view or coded(store, skip)
    lex = outcome_lexicon(theory)
    out_name = {o.id: o.name for o in theory.outcomes}
    configs: list[dict] = []
    from synth.store import chunked

    # Per chunk of studies: records and sentences of a few hundred at a time, so memory holds the
    # configurations, not the whole coded corpus's text.
    for rids in chunked(sorted(view.mechanisms)):
        configs += _configurations(store, rids, view, lex, out_name, mechanism)
    return configs


def _configurations(store, rids, view: Coded, lex, out_name, mechanism) -> list[dict]:
    eff, outs, ctxs = view.mechanisms, view.outcomes, view.contexts
    recs = store.records_by_id(rids, brief=True)
    sents = store.sentences_of_many(rids)
    configs = []
    for rid in rids:
        rec = recs.get(rid)
        if rec is None:
            continue
        cls = evidence_class(rec.get("design"))
        if cls == "ongoing":
            continue
        ss = sents.get(rid, [])
        by_idx = {s["idx"]: s for s in ss}
        roles = {s["idx"]: s["role"] or "" for s in ss}
        mech_at: dict[int, dict[str, float]] = defaultdict(dict)
        for mid, m in eff[rid].items():
            for i in m["evidence"]:
                mech_at[i][mid] = m["score"]
        out_at: dict[int, dict[str, str]] = defaultdict(dict)
        said: dict[int, dict[str, str]] = {}  # a sentence's outcome mentions, read once for all its outcomes
        for oid, o in outs.get(rid, {}).items():
            for i in o["evidence"]:
                if i in by_idx:
                    text = by_idx[i]["text"]
                    if i not in said:
                        said[i] = mentions(lex, text)
                    out_at[i][oid] = said[i].get(oid) or direction_of(text, out_name.get(oid, oid))
        view = [LinkSentence(s["idx"], s["text"], s["role"] or "", mech_at.get(s["idx"], {}), out_at.get(s["idx"], {}))
                for s in ss]
        contexts = _study_contexts(ctxs.get(rid, {}), roles)
        linked = defaultdict(list)
        for link in record_links(view):
            linked[link.mechanism].append(link)
        for mid, m in eff[rid].items():
            if mechanism and mid != mechanism:
                continue
            base = {"record_id": rid, "design": rec.get("design") or "unknown", "class": cls, "year": rec.get("year"),
                    "contexts": contexts, "mechanism": mid, "curated": m["curated"]}
            for link in linked.get(mid, []):
                configs.append({**base, "outcome": link.outcome, "direction": link.direction, "basis": link.basis,
                                "quotes": [_quote(by_idx[i], rid) for i in link.sentences if i in by_idx]})
            if not linked.get(mid):
                ev = sorted((i for i in m["evidence"] if i in by_idx), key=lambda i: (ROLE_ORDER.get(roles[i], 5), i))
                configs.append({**base, "outcome": None, "direction": None, "basis": "mechanism only",
                                "quotes": [_quote(by_idx[i], rid) for i in ev]})
    return configs


def _quote(s: dict, rid: str) -> dict:
    return {"record_id": rid, "idx": s["idx"], "role": s["role"] or "", "text": s["text"]}


def ongoing_studies(store, skip: set[str] = frozenset()) -> list[dict]:
    """Relevant protocols: listed, never counted."""
    floor = relevance_min(store)
    return [r for r in store.iter_design("protocol")
            if r["id"] not in skip and (r.get("relevance") is None or r["relevance"] >= floor)]


def statement(theory, mechanism: str, outcome: str | None, direction: str | None, contexts: list[str]) -> str:
    """A one-line if–then–because claim from the theory's names, for the reviewer to refine:
    "In school or college settings, for adolescents, when peer support works through …, stigma falls because …"."""
    names = theory.names()
    dims = {c.id: c.dimension for c in theory.contexts}
    # "Community setting" + "settings" would read "community setting settings"
    settings = [re.sub(r"\s+settings?$", "", names.get(c, c).lower()) for c in contexts if dims.get(c) == "setting"][:2]
    groups = [names.get(c, c) for c in contexts if dims.get(c) == "population"][:2]
    where = ", ".join(p for p in (f"In {_join(settings)} settings" if settings else "",
                                  f"for {_join([g[0].lower() + g[1:] if not g[:2].isupper() else g for g in groups])}" if groups else "") if p)
    mech = theory.mechanism(mechanism)
    how = f"when peer support works through {names.get(mechanism, mechanism)[0].lower()}{names.get(mechanism, mechanism)[1:]}"
    lead = f"{where}, {how}" if where else how[0].upper() + how[1:]
    if outcome is None:
        return f"{lead}: no linked outcome reported yet."
    because = (mech.description.split(";")[0].split(". ")[0].rstrip(".") if mech and mech.description else "")
    because = f" because {because[0].lower()}{because[1:]}" if because else ""
    name = names.get(outcome, outcome).lower()
    plural = name.endswith("s") and not name.endswith("ss")
    verb = {"improved": "improve" if plural else "improves", "no_change": "do not change" if plural else "does not change",
            "worse": "worsen" if plural else "worsens", "mixed": "change inconsistently" if plural else "changes inconsistently"}
    return f"{lead}, {name} {verb.get(direction, 'change' if plural else 'changes')}{because}."


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def review_rows(configs: list[dict], theory) -> list[dict]:
    """One row per (mechanism, outcome, direction) from primary studies; reviews' rows apart (`secondary`)."""
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for c in configs:
        groups[(c["mechanism"], c["outcome"], c["direction"], c["class"] == "review")].append(c)
    names = theory.names()
    order = {m.id: i for i, m in enumerate(theory.mechanisms)}
    outcome_order = {o.id: i for i, o in enumerate(theory.outcomes)}
    rows = []
    for (mid, oid, direction, secondary), cs in groups.items():
        studies = sorted({c["record_id"] for c in cs})
        ctx = Counter(x for c in cs for x in c["contexts"])
        contexts = [k for k, _ in sorted(ctx.items(), key=lambda kv: (-kv[1], kv[0]))]
        designs = Counter({c["record_id"]: c["design"] for c in cs}.values())
        years = [c["year"] for c in cs if c.get("year")]
        rows.append({
            "mechanism": mid, "mechanism_name": names.get(mid, mid), "outcome": oid,
            "outcome_name": names.get(oid, oid) if oid else None, "direction": direction,
            "secondary": secondary, "studies": len(studies), "study_ids": studies,
            "contexts": [{"id": k, "name": names.get(k, k), "studies": ctx[k]} for k in contexts],
            "designs": dict(sorted(designs.items(), key=lambda kv: (-kv[1], kv[0]))),
            "year_min": min(years) if years else None, "year_max": max(years) if years else None,
            "curated": any(c["curated"] for c in cs),
            "quotes": [q for c in sorted(cs, key=lambda c: (-(c.get("year") or 0), c["record_id"])) for q in c["quotes"]],
            "statement": statement(theory, mid, oid, direction, contexts),
        })
    rows.sort(key=lambda r: (r["secondary"], order.get(r["mechanism"], 99), r["outcome"] is None, -r["studies"],
                             outcome_order.get(r["outcome"], 99), DIRECTIONS.index(r["direction"]) if r["direction"] in DIRECTIONS else 9))
    return rows


def configurations(project, mechanism: str | None = None, include_excluded: bool = False, store=None) -> list[dict]:
    """Per-study configurations of PROJECT (excluded and retracted studies left out unless INCLUDE_EXCLUDED)."""
    from synth.mechanisms.theory import load_theory

    own = store is None
    store = store or project.store()
    try:
        return study_configurations(store, load_theory(project), mechanism, set() if include_excluded else left_out(store))
    finally:
        if own:
            store.close()


def left_out(store) -> set[str]:
    """Records that never count: excluded at screening, retracted, or retraction notices (not studies)."""
    from synth.retractions import notice_ids, retracted_ids
    from synth.screening import excluded_ids

    return excluded_ids(store) | retracted_ids(store) | notice_ids(store)
