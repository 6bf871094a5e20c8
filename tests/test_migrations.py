"""Schema versions (synth/schema.py): a database of an earlier synth opens forward, keeping every row;
a database of a newer synth is refused with one line, untouched."""

import sqlite3
import sys

import pytest

from synth import schema
from synth.store import Store

# The store as synth's first release wrote it (no schema version; the other owners' tables came later,
# created on first use), plus the index state from before sentence shards.
FIRST_RELEASE = """
CREATE TABLE records(
  id TEXT PRIMARY KEY, doi TEXT, pmid TEXT, pmcid TEXT, openalex TEXT,
  title TEXT NOT NULL, title_key TEXT NOT NULL, abstract TEXT NOT NULL DEFAULT '',
  authors TEXT NOT NULL DEFAULT '[]', year INTEGER, journal TEXT NOT NULL DEFAULT '',
  pub_types TEXT NOT NULL DEFAULT '[]', keywords TEXT NOT NULL DEFAULT '[]', mesh TEXT NOT NULL DEFAULT '[]',
  language TEXT NOT NULL DEFAULT '', url TEXT NOT NULL DEFAULT '', content_hash TEXT NOT NULL,
  design TEXT, relevance REAL, coded_hash TEXT,
  created_at TEXT NOT NULL, updated_at TEXT NOT NULL, created_run INTEGER, merged_into TEXT);
CREATE TABLE provenance(
  source TEXT NOT NULL, source_id TEXT NOT NULL, record_id TEXT NOT NULL, database TEXT NOT NULL DEFAULT '',
  data TEXT NOT NULL, first_seen TEXT NOT NULL, fetched_at TEXT NOT NULL, run_id INTEGER,
  PRIMARY KEY(source, source_id));
CREATE TABLE meta(key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE runs(id INTEGER PRIMARY KEY, kind TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT,
  status TEXT NOT NULL DEFAULT 'running', pid INTEGER, summary TEXT NOT NULL DEFAULT '{}');
CREATE TABLE index_state(gen TEXT NOT NULL, record_id TEXT NOT NULL, content_hash TEXT NOT NULL,
  meta_hash TEXT NOT NULL, sentences INTEGER NOT NULL, PRIMARY KEY(gen, record_id));
"""

DATA = """{"source": "pubmed", "source_id": "31000001", "title": "Peer mentoring for young people with depression:
a randomised trial", "pmid": "31000001", "pub_types": ["Journal Article", "Retracted Publication"],
"abstract": "Peer mentors met young people weekly.", "year": 2019}""".replace("\n", " ")


def first_release_db(path):
    con = sqlite3.connect(path)
    con.executescript(FIRST_RELEASE)
    con.execute("INSERT INTO records(id, pmid, title, title_key, abstract, year, content_hash, created_at, updated_at)"
                " VALUES ('r1', '31000001', 'Peer mentoring for young people with depression: a randomised trial',"
                " 'peer mentoring for young people with depression a randomised trial',"
                " 'Peer mentors met young people weekly.', 2019, 'h1', '2020-01-01', '2020-01-01')")
    con.execute("INSERT INTO provenance VALUES ('pubmed', '31000001', 'r1', '', ?, '2020-01-01', '2020-01-01', 1)", (DATA,))
    con.execute("INSERT INTO index_state VALUES ('local|synth_records', 'r1', 'h1', 'm1', 3)")
    con.commit()
    con.close()


def test_a_first_release_database_opens_forward_keeping_its_rows(tmp_path):
    path = tmp_path / "synth.sqlite3"
    first_release_db(path)
    with Store(path) as st:
        assert schema.version_of(st.conn) == schema.VERSION
        assert st.get("r1")["title"].startswith("Peer mentoring")
        assert [p["source_id"] for p in st.provenance("r1")] == ["31000001"]
        # the tables later synths added exist, and index_state gained its shard column (old rows: shard 0)
        tables = {r[0] for r in st.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        assert {"sentences", "codes", "curation", "curation_log", "screening", "retractions", "duplicate_pairs",
                "sentence_fit", "emergent_clusters", "theory_vectors"} <= tables
        assert tuple(st.conn.execute("SELECT shard, sentences FROM index_state WHERE record_id='r1'").fetchone()) == (0, 3)
        # migration 2 read the retraction the stored publication type already carried
        from synth.retractions import retracted_ids

        assert retracted_ids(st) == {"r1"}
        # and the store works as any: a new observation of the same study merges into it
        from synth.records import Record

        assert st.upsert(Record(title="Peer mentoring for young people with depression: a randomised trial",
                                doi="10.5555/pm.2019", pmid="31000001", source="crossref",
                                source_id="10.5555/pm.2019"))[1] == "r1"
    with Store(path) as st:  # opening again applies nothing
        assert schema.migrate(st.conn) == []


def test_a_failing_step_leaves_the_database_at_its_old_version(tmp_path, monkeypatch):
    path = tmp_path / "synth.sqlite3"
    first_release_db(path)

    def broken(conn):
        conn.execute("CREATE TABLE half_done(x)")
        raise RuntimeError("killed mid-migration")

    monkeypatch.setattr(schema, "MIGRATIONS", schema.MIGRATIONS + [(schema.VERSION + 1, "broken", broken)])
    monkeypatch.setattr(schema, "VERSION", schema.VERSION + 1)
    with pytest.raises(RuntimeError):
        Store(path)
    con = sqlite3.connect(path)
    assert con.execute("PRAGMA user_version").fetchone()[0] == 0
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    assert "half_done" not in tables and "retractions" not in tables  # nothing of the migration stayed
    assert con.execute("SELECT COUNT(*) FROM records").fetchone()[0] == 1
    con.close()


def test_a_newer_database_is_refused_with_one_line_and_left_alone(project, monkeypatch, capsys):
    from synth.cli import main

    with project.store() as st:
        path = st.path
    con = sqlite3.connect(path)
    con.execute(f"PRAGMA user_version = {schema.VERSION + 5}")
    con.execute("CREATE TABLE from_the_future(x)")  # what a newer synth may have added
    con.execute("DROP TABLE screening")  # or taken away: not re-created by this synth
    con.commit()
    con.close()

    def shape():
        c = sqlite3.connect(path)
        out = (c.execute("PRAGMA user_version").fetchone()[0],
               sorted(r[0] for r in c.execute("SELECT name FROM sqlite_master")))
        c.close()
        return out

    before = shape()
    monkeypatch.setattr(sys, "argv", ["synth", "--project", str(project.root), "status"])
    with pytest.raises(SystemExit) as exit_:
        main()
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_.value.code == 2 and len(err) == 1 and "newer synth" in err[0] and err[0].startswith("Error:")
    assert shape() == before
