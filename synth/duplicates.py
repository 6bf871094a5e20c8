"""Possible duplicates for a person to decide, and the decisions they made.

This module owns the `duplicate_pairs` table; nothing else reads or writes it, and every
statement on it is one of the named queries in `_Q`.

* When the store compares a new observation with a stored record and the evidence is not
  strong enough either way (synth.dedupe: *uncertain*), the two records are kept apart and
  the pair is noted here with its score and the reasons (`note_uncertain`).
* `synth duplicates` lists the undecided pairs whose records are both still live.
* `synth duplicates merge A B` merges the two records now (one record, every provenance row);
  `synth duplicates keep-apart A B` records that they are different studies: the store then
  never merges them, whichever harvest, refresh or re-import brings them together again.
* When the store merges a record into another (a shared identifier, a later duplicate), the
  pairs that name it follow the merge (`follow_merge`), as screening decisions do.
"""

from __future__ import annotations

import json
import sqlite3

from synth.errors import SynthError
from synth.records import utcnow

UNCERTAIN, MERGED, KEPT_APART = "uncertain", "merged", "kept-apart"

_Q = {
    "note": "INSERT INTO duplicate_pairs(a, b, status, score, reasons, found_at) VALUES (?,?,'uncertain',?,?,?) "
            "ON CONFLICT(a, b) DO UPDATE SET score=excluded.score, reasons=excluded.reasons "
            "WHERE duplicate_pairs.status='uncertain'",
    "decide": "INSERT INTO duplicate_pairs(a, b, status, score, reasons, found_at, decided_at) VALUES (?,?,?,NULL,'',?,?) "
              "ON CONFLICT(a, b) DO UPDATE SET status=excluded.status, decided_at=excluded.decided_at",
    "kept_apart": "SELECT 1 FROM duplicate_pairs WHERE a=? AND b=? AND status='kept-apart'",
    "naming": "SELECT a, b, status, score, reasons, found_at, decided_at FROM duplicate_pairs "
              "WHERE (a=? OR b=?) AND status != 'merged'",
    "delete": "DELETE FROM duplicate_pairs WHERE a=? AND b=?",
    "insert_row": "INSERT INTO duplicate_pairs(a, b, status, score, reasons, found_at, decided_at) VALUES (?,?,?,?,?,?,?)",
    "get": "SELECT status FROM duplicate_pairs WHERE a=? AND b=?",
    "undecided": "SELECT p.a, p.b, p.score, p.reasons, p.found_at FROM duplicate_pairs p "
                 "JOIN records ra ON ra.id = p.a AND ra.merged_into IS NULL "
                 "JOIN records rb ON rb.id = p.b AND rb.merged_into IS NULL "
                 "WHERE p.status='uncertain' ORDER BY p.score DESC, p.a, p.b",
    "decided": "SELECT a, b, status, decided_at FROM duplicate_pairs WHERE status != 'uncertain' ORDER BY decided_at, a, b",
    "count_undecided": "SELECT COUNT(*) FROM duplicate_pairs p "
                       "JOIN records ra ON ra.id = p.a AND ra.merged_into IS NULL "
                       "JOIN records rb ON rb.id = p.b AND rb.merged_into IS NULL WHERE p.status='uncertain'",
    "summary": "SELECT id, title, year, authors, journal, doi, pmid FROM records WHERE id=?",
    "locations": "SELECT data FROM provenance WHERE record_id=?",
}


def _key(a: str, b: str) -> tuple[str, str]:
    return (a, b) if a <= b else (b, a)


# --------------------------------------------------------------------------- used by the store
def note_uncertain(conn: sqlite3.Connection, record_id: str, pairs) -> None:
    """Note (candidate id, Verdict) pairs found uncertain for `record_id` (inside the store's transaction)."""
    now = utcnow()
    for other, verdict in pairs:
        if other != record_id:
            conn.execute(_Q["note"], (*_key(record_id, other), round(verdict.score, 2), verdict.why, now))


def kept_apart(conn: sqlite3.Connection, a: str, b: str) -> bool:
    return a != b and conn.execute(_Q["kept_apart"], _key(a, b)).fetchone() is not None


def without_kept_apart(conn: sqlite3.Connection, ids: list[str]) -> list[str]:
    """`ids` in order, leaving out any a person kept apart from one before it."""
    out: list[str] = []
    for rid in ids:
        if rid not in out and not any(kept_apart(conn, rid, o) for o in out):
            out.append(rid)
    return out


def follow_merge(conn: sqlite3.Connection, other: str, target: str) -> None:
    """`other` was merged into `target`: its open pairs and keep-apart decisions now name `target`
    (a pair of the two becomes moot). Merge decisions stay as they were recorded."""
    for row in conn.execute(_Q["naming"], (other, other)).fetchall():
        conn.execute(_Q["delete"], (row["a"], row["b"]))
        partner = row["b"] if row["a"] == other else row["a"]
        if partner in (other, target):
            continue
        a, b = _key(target, partner)
        current = conn.execute(_Q["get"], (a, b)).fetchone()
        if current is None:
            conn.execute(_Q["insert_row"], (a, b, row["status"], row["score"], row["reasons"], row["found_at"], row["decided_at"]))
        elif current["status"] == UNCERTAIN and row["status"] == KEPT_APART:
            conn.execute(_Q["decide"], (a, b, KEPT_APART, row["found_at"], row["decided_at"]))


# --------------------------------------------------------------------------- used by `synth duplicates`
def _resolve(store, ref: str) -> str:
    rec = store.get(ref)
    if rec is None:
        raise SynthError(f"no record {ref!r} in the store (give a synth id, DOI, PMID, PMCID or OpenAlex id)")
    return rec["id"]


def _pair(store, ref_a: str, ref_b: str) -> tuple[str, str]:
    a, b = _resolve(store, ref_a), _resolve(store, ref_b)
    if a == b:
        raise SynthError(f"{ref_a!r} and {ref_b!r} are already one record ({a})")
    return a, b


def merge(store, ref_a: str, ref_b: str) -> str:
    """A person's decision: the two records are one study. Merges them now; returns the surviving id."""
    a, b = _pair(store, ref_a, ref_b)
    with store.transaction() as c:
        now = utcnow()
        c.execute(_Q["decide"], (*_key(a, b), MERGED, now, now))
        target = store.merge_records([a, b])
    return target


def were_kept_apart(store, ref_a: str, ref_b: str) -> bool:
    """Whether a person decided earlier that A and B are different studies."""
    a, b = _pair(store, ref_a, ref_b)
    return kept_apart(store.conn, a, b)


def keep_apart(store, ref_a: str, ref_b: str) -> tuple[str, str]:
    """A person's decision: the two records are different studies, never to be merged."""
    a, b = _pair(store, ref_a, ref_b)
    with store.transaction() as c:
        now = utcnow()
        c.execute(_Q["decide"], (*_key(a, b), KEPT_APART, now, now))
    return _key(a, b)


def _summary(conn: sqlite3.Connection, record_id: str) -> dict:
    row = conn.execute(_Q["summary"], (record_id,)).fetchone()
    if row is None:
        return {"id": record_id}
    out = dict(row)
    out["authors"] = json.loads(out["authors"] or "[]")
    where = {"volume": "", "issue": "", "pages": ""}
    sources = []
    for (data,) in conn.execute(_Q["locations"], (record_id,)):
        obs = json.loads(data)
        sources.append(obs.get("database") or obs.get("source") or "")
        for k in where:
            where[k] = where[k] or str(obs.get(k) or "")
    out.update(where)
    out["sources"] = sorted({s for s in sources if s})
    return out


def undecided(store) -> list[dict]:
    """Open pairs, most likely duplicates first: {a: record summary, b: ..., score, reasons, found_at}."""
    rows = store.conn.execute(_Q["undecided"]).fetchall()
    return [{"a": _summary(store.conn, r["a"]), "b": _summary(store.conn, r["b"]), "score": r["score"],
             "reasons": r["reasons"], "found_at": r["found_at"]} for r in rows]


def count_undecided(store) -> int:
    return store.conn.execute(_Q["count_undecided"]).fetchone()[0]


def decisions(store) -> list[dict]:
    return [dict(r) for r in store.conn.execute(_Q["decided"])]
