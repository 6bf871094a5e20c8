"""Screening decisions: include or exclude a record, with a reason.

Decisions live in the store's `screening` table, keyed by the record's synth id,
and nothing else writes that table, so they survive `synth refresh` and
`synth index --rebuild`. When a later harvest merges the screened record into
another one, the decision follows the merge (see `excluded_ids`). Excluded
records stay in the store; tables, the report and default search leave them out.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from pathlib import Path

from synth.errors import SynthError
from synth.records import utcnow

DECISIONS = ("include", "exclude")
_ALIASES = {"include": "include", "included": "include", "in": "include", "yes": "include", "y": "include",
            "exclude": "exclude", "excluded": "exclude", "out": "exclude", "no": "exclude", "n": "exclude"}


@dataclass
class Decision:
    record_id: str
    decision: str
    reason: str = ""


def parse_decision(value: str) -> str | None:
    return _ALIASES.get((value or "").strip().lower())


def resolve(store, ref: str) -> str:
    """The live record id for a synth id, DOI, PMID, PMCID or OpenAlex id (merges followed)."""
    rec = store.get(ref)
    if rec is None:
        raise SynthError(f"no record {ref!r} in the store (give a synth id, DOI, PMID, PMCID or OpenAlex id)")
    return rec["id"]


def decide(store, ref: str, decision: str, reason: str = "") -> Decision:
    d = parse_decision(decision)
    if d is None:
        raise SynthError(f"decision must be include or exclude, not {decision!r}")
    dec = Decision(resolve(store, ref), d, (reason or "").strip())
    apply(store, [dec])
    return dec


def apply(store, decisions: list[Decision]) -> None:
    """Write decisions in one transaction (all or nothing); a later decision replaces an earlier one."""
    now = utcnow()
    with store.transaction() as c:
        for d in decisions:
            c.execute(
                "INSERT INTO screening(record_id, decision, reason, at) VALUES (?,?,?,?) "
                "ON CONFLICT(record_id) DO UPDATE SET decision=excluded.decision, reason=excluded.reason, at=excluded.at",
                (d.record_id, d.decision, d.reason, now),
            )


def read_decisions_file(store, path: str | Path) -> list[Decision]:
    """Parse and validate a whole CSV (columns id, decision[, reason]) before anything is written.

    The first problem raises SynthError naming file:line.
    """
    p = Path(path)
    try:
        raw = p.read_bytes()
    except FileNotFoundError:
        raise SynthError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise SynthError(f"{path}: is a directory, not a CSV file") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    if "\x00" in text:
        raise SynthError(f"{path}: not a CSV file (binary content)")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.reader(io.StringIO(text, newline=""), dialect)
    try:
        header = next(reader)
    except StopIteration:
        raise SynthError(f"{path}: empty file; expected a header row: id,decision,reason") from None
    except csv.Error as e:
        raise SynthError(f"{path}:1: unreadable CSV ({e})") from None
    cols = [h.strip().lower() for h in header]
    if "id" not in cols or "decision" not in cols:
        raise SynthError(f"{path}:1: header must name the columns id and decision (and optionally reason), found {', '.join(header) or 'nothing'}")
    i_id, i_dec = cols.index("id"), cols.index("decision")
    i_reason = cols.index("reason") if "reason" in cols else None
    out: list[Decision] = []
    first_line: dict[str, tuple[int, str]] = {}  # record id -> (line, decision)
    try:
        for row in reader:
            line = reader.line_num
            if not any(cell.strip() for cell in row):
                continue
            ref = row[i_id].strip() if i_id < len(row) else ""
            dec_raw = row[i_dec].strip() if i_dec < len(row) else ""
            if not ref:
                raise SynthError(f"{path}:{line}: missing id")
            dec = parse_decision(dec_raw)
            if dec is None:
                raise SynthError(f"{path}:{line}: decision must be include or exclude, not {dec_raw!r}")
            rec = store.get(ref)
            if rec is None:
                raise SynthError(f"{path}:{line}: no record {ref!r} in the store")
            reason = row[i_reason].strip() if i_reason is not None and i_reason < len(row) else ""
            prev = first_line.setdefault(rec["id"], (line, dec))
            if prev[1] != dec:
                raise SynthError(f"{path}:{line}: {ref!r} is the same record as line {prev[0]}, with the opposite decision")
            out.append(Decision(rec["id"], dec, reason))
    except csv.Error as e:
        raise SynthError(f"{path}:{reader.line_num}: unreadable CSV ({e})") from None
    if not out:
        raise SynthError(f"{path}: no decisions found below the header")
    return out


def excluded_ids(store) -> set[str]:
    """Ids of excluded records (decisions move to the surviving record when records merge: Store._merge_into)."""
    return {rid for (rid,) in store.conn.execute("SELECT record_id FROM screening WHERE decision='exclude'")}


def exclusion_reasons(store) -> dict[str, str]:
    """{record id: the reason a person gave} for every exclusion ("" when none was given)."""
    return {r[0]: r[1] or "" for r in store.conn.execute("SELECT record_id, reason FROM screening WHERE decision='exclude'")}


def decision_counts(store) -> dict[str, int]:
    """{decision: how many records} (include, exclude)."""
    return dict(store.conn.execute("SELECT decision, COUNT(*) FROM screening GROUP BY decision"))


def decision_of(store, record_id: str) -> dict | None:
    """The screening decision on a live record, if any."""
    row = store.conn.execute("SELECT decision, reason, at FROM screening WHERE record_id=?", (record_id,)).fetchone()
    return dict(row) if row else None


def decisions_of(store, record_ids: list[str]) -> dict[str, dict]:
    """{record_id: decision_of} for the records of RECORD_IDS that have a decision, in chunks."""
    out = {}
    for i in range(0, len(record_ids), 500):
        chunk = record_ids[i:i + 500]
        for r in store.conn.execute(f"SELECT record_id, decision, reason, at FROM screening WHERE record_id IN "
                                    f"({','.join('?' * len(chunk))})", chunk):
            out[r[0]] = {"decision": r[1], "reason": r[2], "at": r[3]}
    return out


def list_decisions(store) -> list[dict]:
    rows = store.conn.execute(
        "SELECT s.record_id, s.decision, s.reason, s.at, r.title, r.year, r.doi, r.pmid "
        "FROM screening s LEFT JOIN records r ON r.id = s.record_id ORDER BY s.at, s.record_id"
    )
    return [dict(r) for r in rows]
