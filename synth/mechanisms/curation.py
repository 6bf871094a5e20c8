"""Human curation of mechanism codes: stored in the `curation` table, never touched by the coder.

A record-level decision (idx -1) accepts or rejects a mechanism for the whole record;
a sentence-level one accepts or rejects one sentence as evidence for it. Curation
always beats automatic codes (see codes.effective_mechanisms).
"""

from __future__ import annotations

from synth.errors import SynthError
from synth.records import utcnow


def resolve_record(store, ref: str) -> str:
    rec = store.get(ref)
    if rec is None:
        raise SynthError(f"no record {ref!r} in this project (try `synth search` to find its id)")
    return rec["id"]


def curate(store, ref: str, mechanism: str, decision: str, sentence: int | None = None, theory=None) -> dict:
    if decision not in ("accept", "reject"):
        raise SynthError("decision must be accept or reject")
    if theory is not None and theory.mechanism(mechanism) is None:
        known = ", ".join(m.id for m in theory.mechanisms)
        raise SynthError(f"unknown mechanism {mechanism!r}; known: {known}")
    rid = resolve_record(store, ref)
    idx = -1
    if sentence is not None:
        if store.conn.execute("SELECT 1 FROM sentences WHERE record_id=? AND idx=?", (rid, sentence)).fetchone() is None:
            n = store.conn.execute("SELECT COUNT(*) FROM sentences WHERE record_id=?", (rid,)).fetchone()[0]
            raise SynthError(f"record {rid} has no sentence {sentence} (it has {n}; numbered from 0)")
        idx = sentence
    store.conn.execute(
        "INSERT INTO curation(record_id, idx, code, decision, at) VALUES (?,?,?,?,?) "
        "ON CONFLICT(record_id, idx, code) DO UPDATE SET decision=excluded.decision, at=excluded.at",
        (rid, idx, mechanism, decision, utcnow()),
    )
    return {"record_id": rid, "idx": idx, "mechanism": mechanism, "decision": decision}


def decisions(store, record_ids: list[str] | None = None) -> list[tuple[str, int, str, str]]:
    if record_ids is None:
        return [tuple(r) for r in store.conn.execute("SELECT record_id, idx, code, decision FROM curation ORDER BY record_id, idx, code")]
    out = []
    for i in range(0, len(record_ids), 500):
        chunk = record_ids[i:i + 500]
        q = ",".join("?" * len(chunk))
        out += [tuple(r) for r in store.conn.execute(
            f"SELECT record_id, idx, code, decision FROM curation WHERE record_id IN ({q}) ORDER BY record_id, idx, code", chunk)]
    return out
