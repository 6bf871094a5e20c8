"""What the harvest log knows: completed harvest windows and requests that failed (tables
`windows` and `failed_requests`; nobody else reads or writes them).

A window [since, until] of one source and query is recorded only when every page of it was
stored; the next refresh starts where the last completed window ends. A failed request stays
open until a later window of its source completes (that window covers its pages again)."""

from __future__ import annotations

from datetime import date

from synth.records import utcnow


def record_failure(store, run_id: int | None, source: str, url: str, error: str) -> None:
    store.conn.execute("INSERT INTO failed_requests(run_id, source, url, error, at) VALUES (?,?,?,?,?)",
                       (run_id, source, url, error[:2000], utcnow()))


def record_window(store, source: str, query_hash: str, since: str, until: str, records: int, run_id: int | None) -> None:
    store.conn.execute(
        "INSERT INTO windows(source, query_hash, since, until, records, run_id, completed_at) VALUES (?,?,?,?,?,?,?) "
        "ON CONFLICT(source, query_hash, since, until) DO UPDATE SET records=excluded.records, run_id=excluded.run_id, "
        "completed_at=excluded.completed_at",
        (source, query_hash, since, until, records, run_id, utcnow()))


def last_window_end(store, source: str, query_hash: str) -> date | None:
    """End of the latest completed window for this source and query (None: never harvested)."""
    row = store.conn.execute("SELECT MAX(until) FROM windows WHERE source=? AND query_hash=?", (source, query_hash)).fetchone()
    return date.fromisoformat(row[0]) if row and row[0] else None


def latest_window(store, source: str, query_hash: str) -> dict | None:
    row = store.conn.execute(
        "SELECT since, until, records, run_id, completed_at FROM windows WHERE source=? AND query_hash=? "
        "ORDER BY until DESC, completed_at DESC LIMIT 1", (source, query_hash)).fetchone()
    return dict(row) if row else None


def open_failures(store, source: str | None = None) -> int:
    if source is None:
        return store.conn.execute("SELECT COUNT(*) FROM failed_requests WHERE resolved = 0").fetchone()[0]
    return store.conn.execute("SELECT COUNT(*) FROM failed_requests WHERE source=? AND resolved=0", (source,)).fetchone()[0]


def recent_failures(store, limit: int = 10) -> list[dict]:
    return [dict(r) for r in store.conn.execute(
        "SELECT run_id, source, url, error, at FROM failed_requests WHERE resolved = 0 ORDER BY id DESC LIMIT ?", (limit,))]


def resolve_failures(store, sources: list[str]) -> int:
    """Open failures of SOURCES settled (a later window of each completed); how many."""
    if not sources:
        return 0
    marks = ",".join("?" * len(sources))
    return store.conn.execute(f"UPDATE failed_requests SET resolved = 1 WHERE resolved = 0 AND source IN ({marks})", sources).rowcount
