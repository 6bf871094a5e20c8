"""Evidence fragments of one mechanism, strongest first: what `synth evidence` lists.

A fragment is one sentence coded (or curated) as evidence for the mechanism, with its role,
its own score, the record's citation and design. Findings come before conclusions and both
before anything else; within a role, higher scores first. `uncertain=True` lists instead the
sentences the coder scored just under its threshold, for a reviewer to accept or reject first.
"""

from __future__ import annotations

from synth.errors import SynthError
from synth.mechanisms.codes import effective_kind_codes, effective_mechanisms, fragment_scores, uncertain_codes
from synth.mechanisms.emergent import cluster_members, list_clusters

ROLE_ORDER = {"finding": 0, "conclusion": 1, "aim": 3, "methods": 4, "background": 5}


def citation(rec: dict) -> str:
    """Short citation, as in the review table, and the record id: 'Walker et al. 2019 [s1a2b3c4d5]'."""
    from synth.citations import short_citation

    return f"{short_citation(rec)} [{rec['id']}]"


def label(store, theory, mechanism: str) -> str:
    """What a mechanism is called: its name in the theory, or an emergent candidate's label."""
    if is_emergent(mechanism):
        cid = mechanism.split(":", 1)[-1].upper()
        found = [c for c in list_clusters(store, include_gone=True) if c["cluster"] == cid]
        return f"emergent candidate: {found[0]['label']}" if found else mechanism
    return theory.names().get(mechanism, mechanism)


def _emergent(store, mechanism: str) -> tuple[str, dict]:
    cid = mechanism.split(":", 1)[-1].upper()
    if not any(c["cluster"] == cid for c in list_clusters(store, include_gone=True)):
        raise SynthError(f"unknown emergent candidate {mechanism!r}; `synth mechanisms` lists them")
    per: dict[str, list[int]] = {}
    for rid, idx in cluster_members(store, cid):
        per.setdefault(rid, []).append(idx)
    return f"emergent:{cid}", {rid: {"score": 0.0, "curated": False, "evidence": ix} for rid, ix in per.items()}


def is_emergent(mechanism: str) -> bool:
    return mechanism.startswith("emergent:") or (mechanism[:1] in "Ee" and mechanism[1:].isdigit())


def fragments(store, theory, mechanism: str, outcome: str | None = None, context: str | None = None,
              excluded: set[str] = frozenset(), uncertain: bool = False) -> list[dict]:
    if outcome and outcome not in {o.id for o in theory.outcomes}:
        raise SynthError(f"unknown outcome {outcome!r}; known: {', '.join(o.id for o in theory.outcomes)}")
    if context and context not in {c.id for c in theory.contexts}:
        raise SynthError(f"unknown context {context!r}; known: {', '.join(c.id for c in theory.contexts)}")
    scores: dict[tuple[str, int], float] = {}
    if is_emergent(mechanism):
        if uncertain:
            raise SynthError("--uncertain lists theory mechanisms' borderline fragments, not emergent candidates")
        mechanism, per = _emergent(store, mechanism)
    elif theory.mechanism(mechanism) is None:
        raise SynthError(f"unknown mechanism {mechanism!r}; known: {', '.join(m.id for m in theory.mechanisms)}")
    elif uncertain:
        per = {}
        for (rid, idx), sc in uncertain_codes(store, mechanism).items():
            per.setdefault(rid, {"score": 0.0, "curated": False, "evidence": []})["evidence"].append(idx)
            scores[(rid, idx)] = sc
    else:
        per = {rid: m[mechanism] for rid, m in effective_mechanisms(store).items() if mechanism in m}
        scores = fragment_scores(store, mechanism, list(per))
    rids = sorted(r for r in per if r not in excluded)
    outs = effective_kind_codes(store, "outcome", rids) if outcome else {}
    ctxs = effective_kind_codes(store, "context", rids) if context else {}
    out = []
    for rid in rids:
        if outcome and outcome not in outs.get(rid, {}):
            continue
        if context and context not in ctxs.get(rid, {}):
            continue
        rec = store.get(rid)
        m = per[rid]
        sents = {s["idx"]: s for s in store.sentences_of(rid)}
        for i in sorted(set(m["evidence"])):
            if i not in sents:
                continue
            s = sents[i]
            curated = scores.get((rid, i)) is None and m["curated"]
            out.append({"record_id": rid, "citation": citation(rec), "year": rec.get("year"), "title": rec.get("title"),
                        "idx": i, "section": s["section"], "text": s["text"], "role": s["role"] or "",
                        "mechanism": mechanism, "score": round(scores.get((rid, i), 1.0 if curated else m["score"]), 4),
                        "curated": bool(m["curated"]), "uncertain": uncertain, "design": rec.get("design")})
    if uncertain:  # the closest calls first
        out.sort(key=lambda f: (-f["score"], f["record_id"], f["idx"]))
    else:
        out.sort(key=lambda f: (ROLE_ORDER.get(f["role"], 2), -f["score"], f["record_id"], f["idx"]))
    return out
