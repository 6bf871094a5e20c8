"""What `synth status`, `synth new` and `synth quarantine` report: read-only views of the store."""

from __future__ import annotations

import json
import re
from collections import defaultdict


def last_runs(store, limit: int = 5) -> list[dict]:
    rows = store.conn.execute("SELECT * FROM runs ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
    out = []
    for r in rows:
        d = dict(r)
        d["summary"] = json.loads(d["summary"] or "{}")
        out.append(d)
    return out


def windows(store) -> list[dict]:
    """The latest completed harvest window per source."""
    rows = store.conn.execute(
        "SELECT source, MIN(since) AS since, MAX(until) AS until, SUM(records) AS records, MAX(completed_at) AS completed_at "
        "FROM windows GROUP BY source ORDER BY source"
    ).fetchall()
    return [dict(r) for r in rows]


def counts(store) -> dict:
    q = lambda sql: store.conn.execute(sql).fetchone()[0]  # noqa: E731
    return {
        "records": store.count(),
        "merged_away": q("SELECT COUNT(*) FROM records WHERE merged_into IS NOT NULL"),
        "provenance": q("SELECT COUNT(*) FROM provenance"),
        "sentences": q("SELECT COUNT(*) FROM sentences s JOIN records r ON r.id = s.record_id WHERE r.merged_into IS NULL"),
        "quarantined": q("SELECT COUNT(*) FROM quarantine"),
        "excluded": q("SELECT COUNT(*) FROM screening WHERE decision = 'exclude'"),
        "failed_requests_open": q("SELECT COUNT(*) FROM failed_requests WHERE resolved = 0"),
    }


def open_errors(store, limit: int = 10) -> list[dict]:
    rows = store.conn.execute(
        "SELECT source, url, error, at FROM failed_requests WHERE resolved = 0 ORDER BY id DESC LIMIT ?", (limit,)
    ).fetchall()
    return [dict(r) for r in rows]


def quarantined(store) -> list[dict]:
    rows = store.conn.execute(
        "SELECT id, source, source_id, location, reason, run_id, at FROM quarantine ORDER BY id"
    ).fetchall()
    return [dict(r) for r in rows]


_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def new_records(store, since: str | None) -> tuple[str, list[dict]]:
    """Records added since a run id or an ISO date (default: since the last finished refresh began).

    Returns (description of the cut-off, records with their mechanism codes).
    """
    if since is None:
        row = store.conn.execute(
            "SELECT id FROM runs WHERE kind = 'refresh' AND status IN ('ok', 'partial') ORDER BY id DESC LIMIT 1"
        ).fetchone()
        if row is None:
            return "ever", list(_records(store, "1=1", ()))
        since = str(row[0])
    if since.isdigit():
        return f"run {since}", list(_records(store, "created_run >= ?", (int(since),)))
    if _DATE.match(since):
        return f"{since}", list(_records(store, "created_at >= ?", (since,)))
    from synth.errors import SynthError

    raise SynthError(f"--since takes a run id (see `synth status`) or a date YYYY-MM-DD, not {since!r}")


def _records(store, where: str, params: tuple):
    for rec in store.iter_records(where, params):
        codes = [r[0] for r in store.conn.execute(
            "SELECT code FROM codes WHERE record_id = ? AND idx = -1 AND kind = 'mechanism' ORDER BY score DESC", (rec["id"],))]
        yield {"id": rec["id"], "title": rec["title"], "year": rec["year"], "doi": rec["doi"], "pmid": rec["pmid"],
               "created_at": rec["created_at"], "mechanisms": codes}


def group_by_mechanism(records: list[dict]) -> dict[str, list[dict]]:
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        for m in r["mechanisms"] or ["(no mechanism)"]:
            groups[m].append(r)
    return dict(sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0])))
