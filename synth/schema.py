"""The database schema in one place, with versioned migrations (`PRAGMA user_version`).

Each table is read and written only through its owner module's named queries (docs/architecture.md
lists the owners); its definition lives here so that opening a store brings a database of any
earlier synth to the current version, once, in one transaction, and a database written by a newer
synth is refused instead of being half understood.

To change the schema: append a step to MIGRATIONS (never edit a released one) and a test that opens
a database of the previous version (tests/test_migrations.py).
"""

from __future__ import annotations

import sqlite3
from typing import Callable

from synth.errors import SynthError

# ---------------------------------------------------------------- store (owner: synth/store.py)
CORE = """
CREATE TABLE IF NOT EXISTS records(
  id TEXT PRIMARY KEY,
  doi TEXT, pmid TEXT, pmcid TEXT, openalex TEXT,
  title TEXT NOT NULL, title_key TEXT NOT NULL, abstract TEXT NOT NULL DEFAULT '',
  authors TEXT NOT NULL DEFAULT '[]', year INTEGER, journal TEXT NOT NULL DEFAULT '',
  pub_types TEXT NOT NULL DEFAULT '[]', keywords TEXT NOT NULL DEFAULT '[]', mesh TEXT NOT NULL DEFAULT '[]',
  language TEXT NOT NULL DEFAULT '', url TEXT NOT NULL DEFAULT '',
  content_hash TEXT NOT NULL,
  design TEXT, relevance REAL, coded_hash TEXT,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL, created_run INTEGER,
  merged_into TEXT
);
CREATE INDEX IF NOT EXISTS records_doi ON records(doi);
CREATE INDEX IF NOT EXISTS records_pmid ON records(pmid);
CREATE INDEX IF NOT EXISTS records_pmcid ON records(pmcid);
CREATE INDEX IF NOT EXISTS records_openalex ON records(openalex);
CREATE INDEX IF NOT EXISTS records_title_key ON records(title_key);
CREATE INDEX IF NOT EXISTS records_year ON records(year);
CREATE INDEX IF NOT EXISTS records_created_run ON records(created_run);

-- One row per (source, source_id): what that source said, as a Record JSON.
CREATE TABLE IF NOT EXISTS provenance(
  source TEXT NOT NULL, source_id TEXT NOT NULL, record_id TEXT NOT NULL,
  database TEXT NOT NULL DEFAULT '', data TEXT NOT NULL,
  first_seen TEXT NOT NULL, fetched_at TEXT NOT NULL, run_id INTEGER,
  PRIMARY KEY(source, source_id)
);
CREATE INDEX IF NOT EXISTS provenance_record ON provenance(record_id);

CREATE TABLE IF NOT EXISTS quarantine(
  id INTEGER PRIMARY KEY, source TEXT NOT NULL, source_id TEXT NOT NULL DEFAULT '',
  location TEXT NOT NULL DEFAULT '', reason TEXT NOT NULL, raw TEXT NOT NULL DEFAULT '',
  run_id INTEGER, at TEXT NOT NULL,
  UNIQUE(source, source_id, location, reason)
);

CREATE TABLE IF NOT EXISTS runs(
  id INTEGER PRIMARY KEY, kind TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT,
  status TEXT NOT NULL DEFAULT 'running', pid INTEGER, summary TEXT NOT NULL DEFAULT '{}'
);

-- Harvest windows fully stored, per source and query (a changed query starts afresh).
CREATE TABLE IF NOT EXISTS windows(
  source TEXT NOT NULL, query_hash TEXT NOT NULL, since TEXT NOT NULL, until TEXT NOT NULL,
  records INTEGER NOT NULL DEFAULT 0, run_id INTEGER, completed_at TEXT NOT NULL,
  PRIMARY KEY(source, query_hash, since, until)
);

CREATE TABLE IF NOT EXISTS failed_requests(
  id INTEGER PRIMARY KEY, run_id INTEGER, source TEXT NOT NULL, url TEXT NOT NULL,
  error TEXT NOT NULL, at TEXT NOT NULL, resolved INTEGER NOT NULL DEFAULT 0
);

CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);

-- Evidence sentences, written by `synth index` (role filled in by the mechanism coder).
CREATE TABLE IF NOT EXISTS sentences(
  record_id TEXT NOT NULL, idx INTEGER NOT NULL, section TEXT NOT NULL DEFAULT '', text TEXT NOT NULL,
  role TEXT,  -- background | aim | methods | finding | conclusion (the coder's)
  PRIMARY KEY(record_id, idx)
);

-- Automatic codes, replaced whole per record by the coder. idx -1 = record level; kind uncertain = a
-- sentence scored just under the mechanism threshold (for a reviewer to decide).
CREATE TABLE IF NOT EXISTS codes(
  record_id TEXT NOT NULL, idx INTEGER NOT NULL, kind TEXT NOT NULL,  -- mechanism | outcome | context
  code TEXT NOT NULL, score REAL NOT NULL,
  PRIMARY KEY(record_id, idx, kind, code)
);

-- Human decisions: always beat automatic codes; survive refresh and rebuild.
CREATE TABLE IF NOT EXISTS curation(
  record_id TEXT NOT NULL, idx INTEGER NOT NULL DEFAULT -1, code TEXT NOT NULL,
  decision TEXT NOT NULL CHECK(decision IN ('accept', 'reject')), at TEXT NOT NULL,
  PRIMARY KEY(record_id, idx, code)
);

-- Every curation write, grouped in batches (one command or one sheet), so a batch can be undone.
-- before/after: the decision before and after (NULL = none). Owned by synth.mechanisms.curation.
CREATE TABLE IF NOT EXISTS curation_log(
  batch INTEGER NOT NULL, record_id TEXT NOT NULL, idx INTEGER NOT NULL, code TEXT NOT NULL,
  before TEXT, after TEXT, note TEXT NOT NULL DEFAULT '', source TEXT NOT NULL DEFAULT '', at TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS curation_log_batch ON curation_log(batch);

CREATE TABLE IF NOT EXISTS screening(
  record_id TEXT PRIMARY KEY, decision TEXT NOT NULL CHECK(decision IN ('include', 'exclude')),
  reason TEXT NOT NULL DEFAULT '', at TEXT NOT NULL
);
"""

# ---------------------------------------------------------------- owner: synth/retractions.py
RETRACTIONS = """
CREATE TABLE IF NOT EXISTS retractions(
  source TEXT NOT NULL, source_id TEXT NOT NULL,   -- the provenance row whose observation said so
  kind TEXT NOT NULL CHECK(kind IN ('retracted', 'notice')),
  signal TEXT NOT NULL,                             -- e.g. 'RetractionIn', 'is_retracted', 'updated-by'
  notice_doi TEXT NOT NULL DEFAULT '', notice_pmid TEXT NOT NULL DEFAULT '',
  target_doi TEXT NOT NULL DEFAULT '', target_pmid TEXT NOT NULL DEFAULT '',
  notice_ref TEXT NOT NULL DEFAULT '',              -- the notice's citation, as the source gives it
  detail TEXT NOT NULL DEFAULT '',                  -- e.g. who asserted it ('retraction-watch', 'publisher')
  date TEXT NOT NULL DEFAULT '',                    -- of the retraction, YYYY[-MM[-DD]] when known
  first_seen TEXT NOT NULL, run_id INTEGER,
  PRIMARY KEY(source, source_id, kind, signal, notice_doi, notice_pmid, target_doi, target_pmid)
);
CREATE INDEX IF NOT EXISTS retractions_target_doi ON retractions(target_doi) WHERE target_doi <> '';
CREATE INDEX IF NOT EXISTS retractions_target_pmid ON retractions(target_pmid) WHERE target_pmid <> '';
"""

# ---------------------------------------------------------------- owner: synth/duplicates.py
DUPLICATES = """
CREATE TABLE IF NOT EXISTS duplicate_pairs(
  a TEXT NOT NULL, b TEXT NOT NULL,              -- record ids, a < b
  status TEXT NOT NULL CHECK(status IN ('uncertain', 'merged', 'kept-apart')),
  score REAL, reasons TEXT NOT NULL DEFAULT '',
  found_at TEXT NOT NULL, decided_at TEXT,
  PRIMARY KEY(a, b)
);
CREATE INDEX IF NOT EXISTS duplicate_pairs_b ON duplicate_pairs(b);
"""

# ---------------------------------------------------------------- owner: synth/mechanisms/pipeline.py
# How well the theory explains each evidence sentence (read by the emergent-mechanism step).
SENTENCE_FIT = """
CREATE TABLE IF NOT EXISTS sentence_fit(
  record_id TEXT NOT NULL, idx INTEGER NOT NULL, fit REAL NOT NULL, candidate INTEGER NOT NULL,
  PRIMARY KEY(record_id, idx)
);
"""

# ---------------------------------------------------------------- owner: synth/mechanisms/emergent.py
EMERGENT = """
CREATE TABLE IF NOT EXISTS emergent_clusters(
  id TEXT PRIMARY KEY, label TEXT NOT NULL, terms TEXT NOT NULL, size INTEGER NOT NULL, records INTEGER NOT NULL,
  centroid BLOB NOT NULL, status TEXT NOT NULL DEFAULT 'active',  -- active | gone | promoted
  promoted_to TEXT, first_seen TEXT NOT NULL, last_seen TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS emergent_members(
  cluster_id TEXT NOT NULL, record_id TEXT NOT NULL, idx INTEGER NOT NULL, PRIMARY KEY(record_id, idx)
);
"""

# ---------------------------------------------------------------- owner: synth/mechanisms/vectors.py
THEORY_VECTORS = """
CREATE TABLE IF NOT EXISTS theory_vectors(
  model TEXT NOT NULL, text_hash TEXT NOT NULL, dim INTEGER NOT NULL, vec BLOB NOT NULL,
  PRIMARY KEY(model, text_hash)
);
"""

# ---------------------------------------------------------------- owner: index/vectors.py
INDEX_STATE = """
CREATE TABLE IF NOT EXISTS index_state(
  gen TEXT NOT NULL,            -- '<location>|<records collection>': one row per embedded record
  record_id TEXT NOT NULL,
  content_hash TEXT NOT NULL,   -- records.content_hash when embedded: unchanged records are skipped
  sentences INTEGER NOT NULL,   -- sentence vectors written: ids record_id:0 .. record_id:(n-1)
  shard INTEGER NOT NULL DEFAULT 0,  -- the sentence shard holding them (index/shards.py)
  PRIMARY KEY(gen, record_id)
);
"""

CURRENT = (CORE, RETRACTIONS, DUPLICATES, SENTENCE_FIT, EMERGENT, THEORY_VECTORS, INDEX_STATE)


def _statements(script: str) -> list[str]:
    """Split a DDL script into statements (executescript would COMMIT the migration's transaction)."""
    out, buf = [], ""
    for line in script.splitlines(keepends=True):
        buf += line.split("--", 1)[0] + ("\n" if "--" in line else "")
        if sqlite3.complete_statement(buf):
            if buf.strip():
                out.append(buf.strip())
            buf = ""
    return out


def _columns(conn: sqlite3.Connection, table: str) -> dict[str, tuple]:
    return {r[1]: r for r in conn.execute(f"PRAGMA table_info({table})")}


def _baseline(conn: sqlite3.Connection) -> None:
    """Version 1: databases from before versioning. Their owners created tables on first use, so any
    subset may exist and an old table may lack later columns (e.g. index_state.shard): create what is
    missing and add missing columns with their declared defaults, keeping every row."""
    want = sqlite3.connect(":memory:")
    for script in CURRENT:
        for stmt in _statements(script):
            want.execute(stmt)
    have = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    for script in CURRENT:
        for stmt in _statements(script):
            conn.execute(stmt)  # IF NOT EXISTS: existing tables and indexes are left as they are
    tables = [r[0] for r in want.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    for table in tables:
        if table not in have:
            continue
        existing = _columns(conn, table)
        for name, (_, _, ctype, notnull, default, _) in _columns(want, table).items():
            if name not in existing:
                decl = f"{name} {ctype}" + (" NOT NULL" if notnull else "") + (f" DEFAULT {default}" if default is not None else "")
                conn.execute(f"ALTER TABLE {table} ADD COLUMN {decl}")
    want.close()


def _backfill_retractions(conn: sqlite3.Connection) -> None:
    """Version 2: read the retraction signals already in stored provenance (records stored before
    synth read retractions)."""
    from synth.retractions import backfill

    backfill(conn)


def _drop_vector_metadata_hash(conn: sqlite3.Connection) -> None:
    """Version 3: vectors carry only their record id (search filters read the store), so the hash of
    the year/sources/design metadata once written beside each vector goes."""
    if "meta_hash" in _columns(conn, "index_state"):
        conn.execute("ALTER TABLE index_state DROP COLUMN meta_hash")


# (version, what it does, step). Append only.
MIGRATIONS: list[tuple[int, str, Callable[[sqlite3.Connection], None]]] = [
    (1, "baseline: every table and column of synth 0.x databases", _baseline),
    (2, "retraction signals read from provenance stored before retractions were tracked", _backfill_retractions),
    (3, "index_state.meta_hash dropped: vectors no longer carry year/sources/design", _drop_vector_metadata_hash),
]
VERSION = MIGRATIONS[-1][0]


def version_of(conn: sqlite3.Connection) -> int:
    return conn.execute("PRAGMA user_version").fetchone()[0]


def migrate(conn: sqlite3.Connection, path: str = "") -> list[int]:
    """Bring the database to VERSION; returns the versions applied (none when already current).
    One transaction: a kill mid-way leaves the database at its old version, to be migrated again."""
    found = version_of(conn)
    if found > VERSION:
        raise SynthError(f"{path or 'the database'} was written by a newer synth (schema version {found}, "
                         f"this synth knows up to {VERSION}); upgrade synth to open it")
    if found == VERSION:
        return []
    conn.execute("BEGIN IMMEDIATE")
    try:
        found = version_of(conn)  # another process may have migrated while we waited for the lock
        applied = []
        for number, _, step in MIGRATIONS:
            if number > found:
                step(conn)
                applied.append(number)
        conn.execute(f"PRAGMA user_version = {VERSION}")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")
    return applied
