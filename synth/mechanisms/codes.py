"""Reading codes: automatic codes with human curation applied (the API search, tables, report and export use).

Rules, in order: a record-level reject removes the mechanism; a record-level accept adds it;
a sentence-level accept adds that sentence as evidence (and so the mechanism); a sentence-level
reject removes that sentence, and a mechanism left with no evidence and no record-level accept
is dropped. Records below the relevance threshold (near misses) carry no automatic codes.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass
from functools import lru_cache

from synth.mechanisms.curation import decisions, split_code

DEFAULT_RELEVANCE_MIN = 0.5


def theory_names(store) -> dict[str, dict[str, str]]:
    """{kind: {id: name}} of the theory the corpus was last coded with (falls back to the default).
    Parsed once per stored theory, not once per record: exports and `synth new` ask for every record."""
    return {k: dict(v) for k, v in _names_of(store.get_meta("mechanisms.theory") or "").items()}  # callers may edit theirs


@lru_cache(maxsize=4)
def _names_of(raw: str) -> dict[str, dict[str, str]]:
    if raw:
        t = json.loads(raw)
    else:
        from synth.mechanisms.theory import load_theory

        t = load_theory(None).to_dict()
    return {k: {c["id"]: c["name"] for c in t[k]} for k in ("mechanisms", "outcomes", "contexts")}


def relevance_min(store) -> float:
    return float(store.get_meta("mechanisms.relevance_min") or DEFAULT_RELEVANCE_MIN)


def _chunks(ids, n=500):
    for i in range(0, len(ids), n):
        yield ids[i:i + n]


def _auto(store, kind: str, record_ids: list[str] | None):
    sql = "SELECT record_id, idx, code, score FROM codes WHERE kind=?"
    if record_ids is None:
        yield from store.conn.execute(sql + " ORDER BY record_id, idx", (kind,))
        return
    for chunk in _chunks(record_ids):
        yield from store.conn.execute(sql + f" AND record_id IN ({','.join('?' * len(chunk))}) ORDER BY record_id, idx", (kind, *chunk))


def fragment_scores(store, mechanism: str, record_ids: list[str] | None = None) -> dict[tuple[str, int], float]:
    """{(record_id, idx): score} of the sentences automatically coded with MECHANISM."""
    return {(rid, idx): score for rid, idx, code, score in _auto(store, "mechanism", record_ids) if code == mechanism and idx >= 0}


def sentence_scores(store, record_ids: list[str]) -> dict[tuple[str, int, str], float]:
    """{(record_id, idx, mechanism): score} of automatically coded mechanism sentences."""
    return {(rid, idx, code): score for rid, idx, code, score in _auto(store, "mechanism", record_ids) if idx >= 0}


def uncertain_codes(store, mechanism: str) -> dict[tuple[str, int], float]:
    """{(record_id, idx): score} of sentences scored just under the threshold for MECHANISM, not yet curated."""
    return {(rid, idx): sc for (rid, idx, code), sc in all_uncertain(store).items() if code == mechanism}


def all_uncertain(store) -> dict[tuple[str, int, str], float]:
    """{(record_id, idx, mechanism): score} of every uncertain sentence not yet curated, in one pass."""
    decided = {(rid, idx, code) for rid, idx, code, _ in decisions(store)}
    return {(rid, idx, code): score for rid, idx, code, score in _auto(store, "uncertain", None)
            if (rid, idx, code) not in decided}


@dataclass
class Coded:
    """The corpus's codes with curation applied, read once for a view that needs every kind
    (the review table reads mechanisms, outcomes and contexts three times over otherwise)."""
    mechanisms: dict[str, dict[str, dict]]  # effective_mechanisms, SKIP left out
    outcomes: dict[str, dict[str, dict]]    # effective_kind_codes of those records
    contexts: dict[str, dict[str, dict]]
    uncertain: dict[tuple[str, int, str], float]  # all_uncertain, SKIP left out


def coded(store, skip: set[str] = frozenset()) -> Coded:
    eff = {rid: m for rid, m in effective_mechanisms(store).items() if rid not in skip}
    rids = sorted(eff)
    return Coded(eff, effective_kind_codes(store, "outcome", rids), effective_kind_codes(store, "context", rids),
                 {k: v for k, v in all_uncertain(store).items() if k[0] not in skip})


def _decisions_of(store, kind: str, record_ids: list[str] | None):
    for rid, idx, stored, decision in decisions(store, record_ids):
        k, code = split_code(stored)
        if k == kind:
            yield rid, idx, code, decision


def effective_mechanisms(store, record_ids: list[str] | None = None) -> dict[str, dict[str, dict]]:
    """{record_id: {mechanism: {"score", "curated", "evidence": [idx, ...]}}} with curation applied."""
    out: dict[str, dict[str, dict]] = defaultdict(dict)
    for rid, idx, code, score in _auto(store, "mechanism", record_ids):
        m = out[rid].setdefault(code, {"score": 0.0, "curated": False, "evidence": [], "record_accept": False})
        if idx == -1:
            m["score"] = score
        else:
            m["evidence"].append(idx)
    for rid, idx, code, decision in _decisions_of(store, "mechanism", record_ids):
        mechs = out[rid]
        if idx == -1:
            if decision == "reject":
                mechs[code] = {"rejected": True}
            elif not mechs.get(code, {}).get("rejected"):
                m = mechs.setdefault(code, {"score": 0.0, "curated": True, "evidence": [], "record_accept": False})
                m.update(curated=True, record_accept=True, score=max(m["score"], 1.0))
    for rid, idx, code, decision in _decisions_of(store, "mechanism", record_ids):
        if idx == -1:
            continue
        mechs = out[rid]
        if mechs.get(code, {}).get("rejected"):
            continue
        m = mechs.setdefault(code, {"score": 1.0, "curated": True, "evidence": [], "record_accept": False})
        m["curated"] = True
        if decision == "accept" and idx not in m["evidence"]:
            m["evidence"].append(idx)
            m["score"] = max(m["score"], 1.0)
        elif decision == "reject" and idx in m["evidence"]:
            m["evidence"].remove(idx)
            if not m["evidence"] and not m["record_accept"]:
                m["drop"] = True
    clean: dict[str, dict[str, dict]] = {}
    for rid, mechs in out.items():
        kept = {}
        for code, m in mechs.items():
            if m.get("rejected") or m.get("drop"):
                continue
            kept[code] = {"score": round(m["score"], 4), "curated": m["curated"], "evidence": sorted(m["evidence"])}
        if kept:
            clean[rid] = kept
    return clean


def _sentences(store, rid: str) -> dict[int, dict]:
    return {s["idx"]: s for s in store.sentences_of(rid)}


def codes_by_sentence(store, record_id: str) -> dict[int, list[dict]]:
    """The coder's codes of one record by sentence (-1: record level), best first, curation not applied."""
    out: dict[int, list[dict]] = {}
    for r in store.conn.execute("SELECT idx, kind, code, score FROM codes WHERE record_id=? "
                                "ORDER BY idx, kind, score DESC", (record_id,)):
        out.setdefault(r["idx"], []).append({"kind": r["kind"], "code": r["code"], "score": round(r["score"], 3)})
    return out


def records_with(store, mechanism: str) -> set[str]:
    """Ids of the records coded with MECHANISM once curation is applied."""
    from synth.mechanisms.curation import candidates_for

    cands = sorted(candidates_for(store, mechanism) | {rid for rid, _, code, _ in _auto_codes(store, mechanism)})
    out: set[str] = set()
    for chunk in _chunks(cands):  # curation applied a chunk at a time: memory holds ids, not codes
        out |= {rid for rid, mechs in effective_mechanisms(store, chunk).items() if mechanism in mechs}
    return out


def coded_ids(store, kind: str) -> set[str]:
    """Every code of KIND the coder has written (theory ids and emergent ones alike)."""
    return {r[0] for r in store.conn.execute("SELECT DISTINCT code FROM codes WHERE kind=?", (kind,))}


def _auto_codes(store, mechanism: str):
    yield from store.conn.execute("SELECT record_id, idx, code, score FROM codes WHERE kind='mechanism' AND code=?",
                                  (mechanism,))


def record_mechanisms(store, record_id: str) -> list[dict]:
    """[{"id","name","score","curated","evidence":[{"idx","section","text","role"}]}], best first."""
    return mechanisms_of(store, [record_id]).get(record_id, [])


def mechanisms_of(store, record_ids: list[str]) -> dict[str, list[dict]]:
    """record_mechanisms for many records at once ({record_id: [...]}, only coded records): a few
    queries per 500 records, so an export or `synth new` over the whole corpus stays linear and quick."""
    names = theory_names(store)["mechanisms"]
    order = {mid: n for n, mid in enumerate(names)}
    out: dict[str, list[dict]] = {}
    for chunk in _chunks(list(record_ids)):
        eff = effective_mechanisms(store, chunk)
        sents = store.sentences_of_many([rid for rid in chunk if rid in eff])
        for rid, mechs in eff.items():
            by_idx = {s["idx"]: s for s in sents.get(rid, [])}
            rows = []
            for code, m in mechs.items():
                ev = [{**by_idx[i], "role": by_idx[i]["role"] or ""} for i in m["evidence"] if i in by_idx]
                rows.append({"id": code, "name": names.get(code, code), "score": m["score"], "curated": m["curated"],
                             "evidence": ev})
            rows.sort(key=lambda d: (-d["score"], order.get(d["id"], 99), d["id"]))
            out[rid] = rows
    return out


def record_codes(store, record_id: str) -> dict:
    """Mechanisms (curated), outcomes and contexts of one record, each with supporting sentences."""
    names = theory_names(store)
    sents = _sentences(store, record_id)
    out = {"record_id": record_id, "mechanisms": record_mechanisms(store, record_id)}
    for kind in ("outcome", "context"):
        scores = {code: score for rid, idx, code, score in _auto(store, kind, [record_id]) if idx == -1}
        agg = []
        for code, e in effective_kind_codes(store, kind, [record_id]).get(record_id, {}).items():
            agg.append({"id": code, "name": names[kind + "s"].get(code, code), "score": scores.get(code, 1.0 if e["curated"] else 0.0),
                        "curated": e["curated"], "evidence": [sents[i] for i in e["evidence"] if i in sents]})
        out[kind + "s"] = sorted(agg, key=lambda d: (-d["score"], d["id"]))
    out["relevance"] = rel = store.relevance_of(record_id)
    out["near_miss"] = rel is not None and rel < relevance_min(store)
    return out


def effective_kind_codes(store, kind: str, record_ids: list[str] | None = None) -> dict[str, dict[str, dict]]:
    """{record_id: {code: {"evidence": [idx], "curated": bool}}} for outcomes or contexts, curation applied
    by the same rules as mechanisms (a record-level reject removes the code; a sentence-level
    accept adds that sentence; a sentence-level reject removes it)."""
    out: dict[str, dict[str, dict]] = defaultdict(dict)
    for rid, idx, code, _ in _auto(store, kind, record_ids):
        e = out[rid].setdefault(code, {"evidence": [], "curated": False})
        if idx >= 0:
            e["evidence"].append(idx)
    rejected = set()
    for rid, idx, code, decision in _decisions_of(store, kind, record_ids):
        if idx == -1 and decision == "reject":
            rejected.add((rid, code))
            continue
        e = out[rid].setdefault(code, {"evidence": [], "curated": True})
        e["curated"] = True
        if decision == "accept" and idx >= 0 and idx not in e["evidence"]:
            e["evidence"].append(idx)
        elif decision == "reject" and idx in e["evidence"]:
            e["evidence"].remove(idx)
            if not e["evidence"]:
                e["drop"] = True
    clean: dict[str, dict[str, dict]] = {}
    for rid, codes in out.items():
        kept = {c: {"evidence": sorted(e["evidence"]), "curated": e["curated"]} for c, e in codes.items()
                if (rid, c) not in rejected and not e.get("drop")}
        if kept:
            clean[rid] = kept
    return clean


def summary(store, excluded: set[str] | None = None, view: Coded | None = None) -> list[dict]:
    """One row per theory mechanism: records, fragments, top outcomes and contexts.
    VIEW: the corpus's codes when the caller has read them (with EXCLUDED left out)."""
    names = theory_names(store)
    view = view or coded(store, excluded or set())
    eff, outs, ctxs = view.mechanisms, view.outcomes, view.contexts
    unsure = Counter(code for _, _, code in view.uncertain)
    rows = []
    for mid, name in names["mechanisms"].items():
        recs = [rid for rid, m in eff.items() if mid in m]
        frags = sum(len(eff[rid][mid]["evidence"]) for rid in recs)
        oc = Counter(o for rid in recs for o in outs.get(rid, {}))
        cc = Counter(c for rid in recs for c in ctxs.get(rid, {}))
        rows.append({
            "id": mid, "name": name, "records": len(recs), "fragments": frags,
            "curated": sum(1 for rid in recs if eff[rid][mid]["curated"]), "uncertain": unsure.get(mid, 0),
            "top_outcomes": [{"id": k, "records": v} for k, v in sorted(oc.items(), key=lambda x: (-x[1], x[0]))[:3]],
            "top_contexts": [{"id": k, "records": v} for k, v in sorted(cc.items(), key=lambda x: (-x[1], x[0]))[:3]],
        })
    return rows


