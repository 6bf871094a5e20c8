"""Human curation of codes: stored in the `curation` table, never touched by the coder.

A record-level decision (idx -1) accepts or rejects a code for the whole record; a
sentence-level one accepts or rejects one sentence as evidence for it. Mechanism codes are
stored by their theory id, outcome and context codes as "outcome:ID" / "context:ID" (one
table, one rule: curation always beats automatic codes; see codes.effective_*).

Every write is logged in `curation_log` under a batch number (one command, or one curation
sheet applied whole), so `undo_last` can put the previous decisions back.
"""

from __future__ import annotations

from synth.errors import SynthError
from synth.records import utcnow

KINDS = ("mechanism", "outcome", "context")


def stored_code(kind: str, code: str) -> str:
    return code if kind == "mechanism" else f"{kind}:{code}"


def split_code(stored: str) -> tuple[str, str]:
    """("outcome", "hope") for "outcome:hope"; ("mechanism", id) for a bare id."""
    kind, sep, code = stored.partition(":")
    return (kind, code) if sep and kind in KINDS else ("mechanism", stored)


def resolve_record(store, ref: str) -> str:
    rec = store.get(ref)
    if rec is None:
        raise SynthError(f"no record {ref!r} in this project (try `synth search` to find its id)")
    return rec["id"]


def check_code(theory, kind: str, code: str) -> None:
    if kind not in KINDS:
        raise SynthError(f"unknown code kind {kind!r}; use one of {', '.join(KINDS)}")
    if theory is None:
        return
    known = {"mechanism": [m.id for m in theory.mechanisms], "outcome": [o.id for o in theory.outcomes],
             "context": [c.id for c in theory.contexts]}[kind]
    if code not in known:
        raise SynthError(f"unknown {kind} {code!r}; known: {', '.join(known)}")


def check_sentence(store, rid: str, sentence: int) -> None:
    if store.conn.execute("SELECT 1 FROM sentences WHERE record_id=? AND idx=?", (rid, sentence)).fetchone() is None:
        n = store.conn.execute("SELECT COUNT(*) FROM sentences WHERE record_id=?", (rid,)).fetchone()[0]
        raise SynthError(f"record {rid} has no sentence {sentence} (it has {n}; numbered from 0)")


def next_batch(store) -> int:
    return (store.conn.execute("SELECT MAX(batch) FROM curation_log").fetchone()[0] or 0) + 1


def _write(store, batch: int, rid: str, idx: int, code: str, decision: str, note: str, source: str) -> None:
    row = store.conn.execute("SELECT decision FROM curation WHERE record_id=? AND idx=? AND code=?", (rid, idx, code)).fetchone()
    now = utcnow()
    before = row[0] if row else None
    if decision is None:  # a note alone: logged, nothing decided
        store.conn.execute("INSERT INTO curation_log(batch, record_id, idx, code, before, after, note, source, at) VALUES (?,?,?,?,?,?,?,?,?)",
                           (batch, rid, idx, code, before, before, note, source, now))
        return
    store.conn.execute(
        "INSERT INTO curation(record_id, idx, code, decision, at) VALUES (?,?,?,?,?) "
        "ON CONFLICT(record_id, idx, code) DO UPDATE SET decision=excluded.decision, at=excluded.at",
        (rid, idx, code, decision, now))
    store.conn.execute("INSERT INTO curation_log(batch, record_id, idx, code, before, after, note, source, at) VALUES (?,?,?,?,?,?,?,?,?)",
                       (batch, rid, idx, code, before, decision, note, source, now))


def curate(store, ref: str, code: str, decision: str, sentence: int | None = None, theory=None,
           kind: str = "mechanism", note: str = "") -> dict:
    """One decision, logged as its own batch."""
    if decision not in ("accept", "reject"):
        raise SynthError("decision must be accept or reject")
    check_code(theory, kind, code)
    rid = resolve_record(store, ref)
    idx = -1
    if sentence is not None:
        check_sentence(store, rid, sentence)
        idx = sentence
    with store.transaction():
        _write(store, next_batch(store), rid, idx, stored_code(kind, code), decision, note, "command")
    return {"record_id": rid, "idx": idx, "kind": kind, "code": code, "mechanism": code if kind == "mechanism" else None,
            "decision": decision}


def apply_batch(store, items: list[dict], source: str) -> int:
    """Write many checked decisions in one transaction and one batch: {record_id, idx, kind, code, decision, note}."""
    with store.transaction():
        batch = next_batch(store)
        for it in items:
            _write(store, batch, it["record_id"], it["idx"], stored_code(it["kind"], it["code"]), it["decision"],
                   it.get("note", ""), source)
    return batch


def undo_last(store) -> dict | None:
    """Put back the decisions the latest batch replaced; None when there is nothing to undo."""
    batch = store.conn.execute("SELECT MAX(batch) FROM curation_log").fetchone()[0]
    if batch is None:
        return None
    rows = store.conn.execute("SELECT record_id, idx, code, before, source FROM curation_log WHERE batch=? ORDER BY rowid DESC",
                              (batch,)).fetchall()
    with store.transaction():
        for rid, idx, code, before, _ in rows:  # newest first, so a code written twice ends at its first "before"
            if before is None:
                store.conn.execute("DELETE FROM curation WHERE record_id=? AND idx=? AND code=?", (rid, idx, code))
            else:
                store.conn.execute("UPDATE curation SET decision=?, at=? WHERE record_id=? AND idx=? AND code=?",
                                   (before, utcnow(), rid, idx, code))
        store.conn.execute("DELETE FROM curation_log WHERE batch=?", (batch,))
    return {"batch": batch, "decisions": len(rows), "source": rows[0][4] if rows else ""}


def notes(store) -> dict[tuple[str, int, str], str]:
    """The latest non-empty note per (record_id, idx, stored code)."""
    out = {}
    for rid, idx, code, note in store.conn.execute(
            "SELECT record_id, idx, code, note FROM curation_log WHERE note != '' ORDER BY batch, rowid"):
        out[(rid, idx, code)] = note
    return out


def candidates_for(store, mechanism: str) -> set[str]:
    """Records a person accepted MECHANISM for (record level or one sentence)."""
    return {r[0] for r in store.conn.execute("SELECT DISTINCT record_id FROM curation WHERE decision='accept' AND code=?",
                                             (stored_code("mechanism", mechanism),))}


def decisions_of(store, record_id: str) -> list[dict]:
    """A person's decisions on one record (idx, code, decision, at)."""
    return [dict(r) for r in store.conn.execute("SELECT idx, code, decision, at FROM curation WHERE record_id=? "
                                                "ORDER BY idx, code", (record_id,))]


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
