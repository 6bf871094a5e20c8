"""What is embedded (table `index_state`: one row per record and index generation, with the
content hash it was embedded from, its number of sentence vectors and the shard that holds
them). The indexer reads and writes it only through these queries."""

from __future__ import annotations

# A live record is pending when this generation has no row for it at its current content hash.
_PENDING = ("NOT EXISTS (SELECT 1 FROM index_state st WHERE st.gen=? AND st.record_id=records.id "
            "AND st.content_hash=records.content_hash)")


def forget(store, gen: str) -> None:
    """Everything recorded of generation GEN (its collections are gone)."""
    store.conn.execute("DELETE FROM index_state WHERE gen=?", (gen,))


def is_empty(store, gen: str) -> bool:
    return store.conn.execute("SELECT 1 FROM index_state WHERE gen=? LIMIT 1", (gen,)).fetchone() is None


def totals(store, gen: str) -> tuple[int, int]:
    """(records, sentence vectors) embedded in GEN."""
    n_rec, n_sent = store.conn.execute("SELECT COUNT(*), COALESCE(SUM(sentences), 0) FROM index_state WHERE gen=?", (gen,)).fetchone()
    return n_rec, n_sent


def orphans(store, gen: str) -> list[tuple[str, int, int]]:
    """(record id, sentences, shard) of records embedded in GEN but merged away or deleted, by shard."""
    return [tuple(r) for r in store.conn.execute(
        "SELECT record_id, sentences, shard FROM index_state WHERE gen=? AND record_id NOT IN "
        "(SELECT id FROM records WHERE merged_into IS NULL) ORDER BY shard, record_id", (gen,))]


def drop(store, gen: str, record_ids: list[str]) -> None:
    store.conn.executemany("DELETE FROM index_state WHERE gen=? AND record_id=?", [(gen, rid) for rid in record_ids])


def invalidate(store, gen: str, record_ids: list[str]) -> None:
    """Mark records to be embedded again (as changed ones: into the shard that holds them)."""
    store.conn.executemany("UPDATE index_state SET content_hash='' WHERE gen=? AND record_id=?", [(gen, r) for r in record_ids])


def last_shard(store, gen: str) -> tuple[int, int]:
    """(the highest shard of GEN, how many sentence vectors it holds); (0, 0) when empty."""
    row = store.conn.execute("SELECT shard, SUM(sentences) FROM index_state WHERE gen=? GROUP BY shard "
                             "ORDER BY shard DESC LIMIT 1", (gen,)).fetchone()
    return (row[0], row[1]) if row else (0, 0)


def of_records(store, gen: str, record_ids: list[str]) -> list[tuple[str, int, int]]:
    """(record id, sentences, shard) of those of RECORD_IDS already embedded in GEN."""
    marks = ",".join("?" * len(record_ids))
    return [tuple(r) for r in store.conn.execute(
        f"SELECT record_id, sentences, shard FROM index_state WHERE gen=? AND record_id IN ({marks})", (gen, *record_ids))]


def put(store, gen: str, rows: list[tuple[str, str, int, int]]) -> None:
    """(record id, content hash, sentences, shard) rows of GEN, replacing what was there."""
    store.conn.executemany(
        "INSERT INTO index_state(gen, record_id, content_hash, sentences, shard) VALUES (?,?,?,?,?) "
        "ON CONFLICT(gen, record_id) DO UPDATE SET content_hash=excluded.content_hash, "
        "sentences=excluded.sentences, shard=excluded.shard", [(gen, *r) for r in rows])


def all_of(store, gen: str) -> dict[str, tuple[str, int, int]]:
    """{record id: (content hash, sentences, shard)} of GEN."""
    return {r[0]: (r[1], r[2], r[3]) for r in store.conn.execute(
        "SELECT record_id, content_hash, sentences, shard FROM index_state WHERE gen=?", (gen,))}


def pending_count(store, gen: str) -> int:
    return store.count(_PENDING, (gen,))


def pending(store, gen: str, batch: int):
    """Live records GEN lacks or holds at an old content hash, streamed in id order."""
    return store.iter_records(_PENDING, (gen,), batch=batch)
