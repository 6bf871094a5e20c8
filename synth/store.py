"""The record store: one SQLite file in the project's data folder.

Every observation of a study (one source's record) is kept as a provenance row;
the stored record is *derived* from its provenance rows in a fixed source order,
so merging is order-independent and re-harvesting the same data changes nothing.
SQLite in WAL mode with one transaction per record makes a SIGKILL at any moment
leave either the whole record or none of it.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from synth.normalize import title_key
from synth.records import InvalidRecord, Record, content_hash, utcnow
from synth.schema import migrate

# Which source's version of a field wins when sources disagree (best metadata first).
SOURCE_PRIORITY = {"pubmed": 0, "europepmc": 1, "import": 2, "crossref": 3, "openalex": 4}
_SCALARS = ("title", "abstract", "doi", "pmid", "pmcid", "openalex", "year", "journal", "language", "url")
_LISTS = ("pub_types", "keywords", "mesh")
_JSON_COLS = ("authors", "pub_types", "keywords", "mesh")
_BRIEF = "id, title, authors, year, journal, doi, pmid, pmcid, openalex, url, design, relevance"

class Outcome:
    NEW = "new"
    UPDATED = "updated"
    MERGED = "merged"  # a duplicate from another source (or another record) merged in
    UNCHANGED = "unchanged"


class Store:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.conn = sqlite3.connect(self.path, timeout=60, isolation_level=None)
        self.conn.row_factory = sqlite3.Row
        self.conn.execute("PRAGMA journal_mode=WAL")
        self.conn.execute("PRAGMA synchronous=NORMAL")
        self.conn.execute("PRAGMA foreign_keys=ON")
        # Every table, every owner's (synth/schema.py): an older database is migrated forward here.
        migrate(self.conn, str(self.path))
        self._titles = None
        self._uncertain: list = []

    def close(self) -> None:
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @contextmanager
    def transaction(self):
        """BEGIN IMMEDIATE … COMMIT: one writer at a time, all or nothing."""
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")

    # ------------------------------------------------------------------ writing
    def upsert(self, rec: Record, run_id: int | None = None) -> tuple[str, str]:
        """Store one observation; returns (outcome, record_id).

        Raises InvalidRecord (after normalising) for the caller to quarantine.
        """
        rec = rec.normalized()
        rec.validate()
        with self.transaction() as c:
            prev, source_id = self._own_row(rec, rec.source_id or _fallback_id(rec))
            if prev:  # a later, poorer observation (cut short, fields missing) never overwrites a richer one
                rec = Record.from_dict(keep_richer(json.loads(prev["data"]), rec.to_dict()))
            matches = self._matches(rec)
            if prev:
                live = self._live_id(prev["record_id"])
                if live:
                    matches = [live] + [m for m in matches if m != live]
            from synth import duplicates

            matches = duplicates.without_kept_apart(c, matches)  # a person's "keep apart" always holds
            before = None
            if matches:
                target = self._oldest(matches)
                before = c.execute("SELECT content_hash FROM records WHERE id=?", (target,)).fetchone()[0]
                for other in matches:
                    if other != target:
                        self._merge_into(other, target)
            else:
                target = self._new_id(rec)
            rec.source_id = source_id
            data = json.dumps(rec.to_dict(), ensure_ascii=False, sort_keys=True)
            now = utcnow()
            if prev:
                c.execute(
                    "UPDATE provenance SET record_id=?, data=?, fetched_at=?, run_id=?, database=? WHERE source=? AND source_id=?",
                    (target, data, rec.fetched_at or now, run_id, rec.database, rec.source, source_id),
                )
            else:
                c.execute(
                    "INSERT INTO provenance(source, source_id, record_id, database, data, first_seen, fetched_at, run_id) VALUES (?,?,?,?,?,?,?,?)",
                    (rec.source, source_id, target, rec.database, data, now, rec.fetched_at or now, run_id),
                )
            after = self._rebuild(target, run_id, creating=before is None)
            duplicates.note_uncertain(c, target, [(o, v) for o, v in self._uncertain
                                                  if o not in matches and not duplicates.kept_apart(c, o, target)])
            from synth.retractions import observe

            observe(c, rec, source_id, run_id, now)  # retraction signals: only ever added, never cleared
            merged_others = len(matches) > 1
        if before is None:
            return Outcome.NEW, target
        if not prev or merged_others:
            return Outcome.MERGED, target
        return (Outcome.UNCHANGED if after == before else Outcome.UPDATED), target

    def quarantine(self, source: str, reason: str, raw: str = "", source_id: str = "", location: str = "", run_id: int | None = None) -> None:
        self.conn.execute(
            "INSERT INTO quarantine(source, source_id, location, reason, raw, run_id, at) VALUES (?,?,?,?,?,?,?) "
            "ON CONFLICT(source, source_id, location, reason) DO UPDATE SET raw=excluded.raw, run_id=excluded.run_id, at=excluded.at",
            (source, source_id or "", location or "", reason, raw[:20000], run_id, utcnow()),
        )

    def _matches(self, rec: Record) -> list[str]:
        """Live records this observation is: every one sharing an identifier, else the best fuzzy match
        (synth.dedupe). Pairs too close to call are left in self._uncertain for synth.duplicates."""
        self._uncertain = []
        found: list[str] = []
        for col in ("doi", "pmid", "pmcid", "openalex"):
            val = getattr(rec, col)
            if val:
                for row in self.conn.execute(f"SELECT id FROM records WHERE {col}=? AND merged_into IS NULL", (val,)):
                    if row[0] not in found:
                        found.append(row[0])
        if found:
            return found
        # No shared identifier: title, authors, year, journal, volume, issue and pages decide.
        from synth.dedupe import fuzzy_matches
        from synth.duplicates import kept_apart

        same, self._uncertain = fuzzy_matches(self, rec)
        prev = self.conn.execute("SELECT record_id FROM provenance WHERE source=? AND source_id=?",
                                 (rec.source, rec.source_id)).fetchone() if rec.source_id else None
        mine = self._live_id(prev[0]) if prev else None
        for cand, _ in same:
            if not (mine and kept_apart(self.conn, cand, mine)):
                return [cand]
        return []

    def _own_row(self, rec: Record, source_id: str):
        """(provenance row of this study under this source id, or None; the source id to use).

        A file-local id (`refs.csv#3`) can be taken by a different study from another file of the
        same name: that study keeps its row, and this one gets `refs.csv#3~2` (then ~3, ...).
        A harvested source's id is its own global id: a changed title there is an update.
        """
        sid, n = source_id, 1
        while True:
            row = self.conn.execute("SELECT record_id, data FROM provenance WHERE source=? AND source_id=?",
                                    (rec.source, sid)).fetchone()
            if row is None or rec.source != "import" or same_study(json.loads(row["data"]), rec):
                return row, sid
            n += 1
            sid = f"{source_id}~{n}"

    def titles(self):
        """Title keys for fuzzy matching (rapidfuzz is imported only by writers, not by `synth search`)."""
        if self._titles is None:
            from synth.dedupe import TitleIndex

            self._titles = TitleIndex(self)
        return self._titles

    def _live_id(self, record_id: str) -> str | None:
        seen = set()
        while record_id and record_id not in seen:
            seen.add(record_id)
            row = self.conn.execute("SELECT merged_into FROM records WHERE id=?", (record_id,)).fetchone()
            if row is None:
                return None
            if row[0] is None:
                return record_id
            record_id = row[0]
        return None

    def _oldest(self, ids: list[str]) -> str:
        q = f"SELECT id FROM records WHERE id IN ({','.join('?' * len(ids))}) ORDER BY rowid LIMIT 1"
        return self.conn.execute(q, ids).fetchone()[0]

    def _merge_into(self, other: str, target: str) -> None:
        self.conn.execute("UPDATE provenance SET record_id=? WHERE record_id=?", (target, other))
        # Human decisions follow the study; where both records carry one, the surviving record's wins.
        for table in ("screening", "curation"):
            self.conn.execute(f"UPDATE OR IGNORE {table} SET record_id=? WHERE record_id=?", (target, other))
            self.conn.execute(f"DELETE FROM {table} WHERE record_id=?", (other,))
        self.conn.execute("UPDATE records SET merged_into=?, updated_at=? WHERE id=?", (target, utcnow(), other))
        from synth.duplicates import follow_merge

        follow_merge(self.conn, other, target)
        self.titles().discard(other)
        self.conn.execute("INSERT INTO meta(key, value) VALUES ('changed_at', ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value", (utcnow(),))

    def merge_records(self, ids: list[str], run_id: int | None = None) -> str:
        """Merge live records into the oldest of them (a person's decision); returns its id.
        Runs in the caller's transaction when there is one."""
        ids = [i for i in dict.fromkeys(self._live_id(r) for r in ids) if i]
        if not self.conn.in_transaction:
            with self.transaction():
                return self.merge_records(ids, run_id)
        target = self._oldest(ids)
        for other in ids:
            if other != target:
                self._merge_into(other, target)
        self._rebuild(target, run_id, creating=False)
        return target

    def _new_id(self, rec: Record) -> str:
        ids = rec.identifiers()
        key = next((f"{k}:{v}" for k, v in ids.items()), f"{rec.source}:{rec.source_id}")
        base = "s" + hashlib.sha1(key.encode()).hexdigest()[:10]
        rid, n = base, 1
        while self.conn.execute("SELECT 1 FROM records WHERE id=?", (rid,)).fetchone():
            n += 1
            rid = f"{base}-{n}"
        return rid

    def _rebuild(self, record_id: str, run_id: int | None, creating: bool) -> str:
        """Derive the stored record from all its provenance rows; returns its content hash."""
        rows = self.conn.execute("SELECT source, data FROM provenance WHERE record_id=?", (record_id,)).fetchall()
        obs = sorted((json.loads(r["data"]) for r in rows), key=lambda d: (SOURCE_PRIORITY.get(d["source"], 9), d.get("source_id", "")))
        merged: dict = {k: None for k in _SCALARS}
        for k in _SCALARS:
            merged[k] = _most_complete([o[k] for o in obs if o.get(k)], k) if k in _TEXTS else next((o[k] for o in obs if o.get(k)), None)
        merged["title"] = merged["title"] or ""
        merged["abstract"] = merged["abstract"] or ""
        merged["journal"] = merged["journal"] or ""
        merged["language"] = merged["language"] or ""
        merged["url"] = merged["url"] or ""
        merged["authors"] = _most_complete_authors([o["authors"] for o in obs if o.get("authors")])
        for k in _LISTS:
            seen, vals = set(), []
            for o in obs:
                for v in o.get(k) or []:
                    if v.lower() not in seen:
                        seen.add(v.lower())
                        vals.append(v)
            merged[k] = vals
        h = content_hash(merged)
        now = utcnow()
        cols = {**merged, "title_key": title_key(merged["title"]), "content_hash": h}
        for k in _JSON_COLS:
            cols[k] = json.dumps(cols[k], ensure_ascii=False)
        if creating:
            cols.update(id=record_id, created_at=now, updated_at=now, created_run=run_id)
            names = ",".join(cols)
            self.conn.execute(f"INSERT INTO records({names}) VALUES ({','.join('?' * len(cols))})", list(cols.values()))
        else:
            old = self.conn.execute("SELECT content_hash FROM records WHERE id=?", (record_id,)).fetchone()[0]
            if old != h:
                cols["updated_at"] = now
                cols["design"] = None  # derived from the content: classified again (synth.design)
            sets = ",".join(f"{k}=?" for k in cols)
            self.conn.execute(f"UPDATE records SET {sets} WHERE id=?", [*cols.values(), record_id])
        self.titles().add(record_id, cols["title_key"], merged["year"], merged["authors"])
        return h

    # ------------------------------------------------------------------ reading
    def get(self, ref: str) -> dict | None:
        """A live record by synth id (following merges), DOI, PMID, PMCID or OpenAlex id."""
        ref = (ref or "").strip()
        rid = (self._live_id(ref) or self._live_id(ref.lower())) if ref else None
        if rid is None and ref:
            from synth import normalize as N

            upper = ref.upper()
            wanted = [(col, val) for col, val in (
                ("doi", N.normalize_doi(ref)), ("pmcid", N.normalize_pmcid(ref) if upper.startswith("PMC") else None),
                ("pmid", N.normalize_pmid(ref)),
                ("openalex", N.normalize_openalex(ref) if upper.startswith("W") or "OPENALEX.ORG/" in upper else None)) if val]
            rid = self._live_by_identifier(wanted)
        if rid is None:
            return None
        row = self.conn.execute("SELECT * FROM records WHERE id=?", (rid,)).fetchone()
        return row_to_dict(row) if row else None

    def _live_by_identifier(self, wanted: list[tuple[str, str]]) -> str | None:
        """The live record an identifier names: the live record holding it, else a record merged
        away that held it, else any source's observation of it (after a merge the stored record
        shows one DOI, but every DOI, PMID, … of both studies still names it)."""
        for sql in ("SELECT id FROM records WHERE {col}=? AND merged_into IS NULL", "SELECT id FROM records WHERE {col}=?",
                    "SELECT record_id FROM provenance WHERE json_extract(data, '$.{col}')=?"):
            for col, val in wanted:
                for (rid,) in self.conn.execute(sql.format(col=col), (val,)):
                    live = self._live_id(rid)
                    if live:
                        return live
        return None

    def provenance(self, record_id: str) -> list[dict]:
        rows = self.conn.execute(
            "SELECT source, source_id, database, first_seen, fetched_at, run_id FROM provenance WHERE record_id=? ORDER BY first_seen, source",
            (record_id,),
        )
        return [dict(r) for r in rows]

    def provenance_of_many(self, record_ids: list[str]) -> dict[str, list[dict]]:
        """{record_id: provenance rows as provenance() gives them} for many records, in chunks."""
        out: dict[str, list[dict]] = {rid: [] for rid in record_ids}
        for i in range(0, len(record_ids), 500):
            chunk = record_ids[i:i + 500]
            for r in self.conn.execute(
                    "SELECT record_id, source, source_id, database, first_seen, fetched_at, run_id FROM provenance "
                    f"WHERE record_id IN ({','.join('?' * len(chunk))}) ORDER BY record_id, first_seen, source", chunk):
                out[r[0]].append({k: r[k] for k in ("source", "source_id", "database", "first_seen", "fetched_at", "run_id")})
        return out

    def iter_records(self, where: str = "", params: tuple = (), batch: int = 500) -> Iterator[dict]:
        """Live records in id order, streamed in batches (never the whole corpus in memory).

        WHERE is a condition on `records` written by an owner module (index/state.py's pending
        records); everyone else filters with the named scans below."""
        last = ""
        extra = f" AND ({where})" if where else ""
        while True:
            rows = self.conn.execute(
                f"SELECT * FROM records WHERE merged_into IS NULL AND id > ?{extra} ORDER BY id LIMIT ?",
                (last, *params, batch),
            ).fetchall()
            if not rows:
                return
            for r in rows:
                yield row_to_dict(r)
            last = rows[-1]["id"]

    def iter_design(self, design: str | None) -> Iterator[dict]:
        """Live records of one study design (None: those not yet classified)."""
        return self.iter_records("design IS NULL") if design is None else self.iter_records("design = ?", (design,))

    def iter_created(self, after_run: int | None = None, from_run: int | None = None, since: str | None = None,
                     undated_after: str | None = None) -> Iterator[dict]:
        """Live records created by a run after AFTER_RUN (or from FROM_RUN on), or at or after the
        timestamp SINCE; with UNDATED_AFTER, records no run created count when created after it."""
        if after_run is not None and undated_after is not None:
            return self.iter_records("(created_run > ? OR (created_run IS NULL AND created_at > ?))", (after_run, undated_after))
        if after_run is not None:
            return self.iter_records("created_run > ?", (after_run,))
        if from_run is not None:
            return self.iter_records("created_run >= ?", (from_run,))
        if since is not None:
            return self.iter_records("created_at >= ?", (since,))
        return self.iter_records()

    def count_updated(self, after: str, created_by: int) -> int:
        """Live records that existed by run CREATED_BY (and the time AFTER) and changed after it."""
        return self.count("updated_at > ? AND (created_run <= ? OR created_run IS NULL) AND created_at <= ?",
                          (after, created_by, after))

    def ids_where(self, year_from: int | None = None, year_to: int | None = None, designs=(), sources=()) -> set[str]:
        """Live record ids published in [YEAR_FROM, YEAR_TO], of one of DESIGNS, seen by one of SOURCES
        (each filter only when given): what a search may return."""
        where, params = ["merged_into IS NULL"], []
        if year_from:
            where.append("year >= ?")
            params.append(year_from)
        if year_to:
            where.append("year <= ?")
            params.append(year_to)
        if designs:
            where.append(f"design IN ({','.join('?' * len(designs))})")
            params += list(designs)
        if sources:
            where.append(f"id IN (SELECT record_id FROM provenance WHERE source IN ({','.join('?' * len(sources))}))")
            params += list(sources)
        return {r[0] for r in self.conn.execute(f"SELECT id FROM records WHERE {' AND '.join(where)}", params)}

    def stamp(self) -> dict:
        """Cheap fingerprint of the live records: changes whenever a record is added, changed or merged."""
        row = self.conn.execute(
            "SELECT COUNT(*), COALESCE(MAX(updated_at), ''), COALESCE(MAX(rowid), 0) FROM records WHERE merged_into IS NULL"
        ).fetchone()
        return {"count": row[0], "updated_at": row[1], "max_rowid": row[2]}

    def live_ids(self) -> set[str]:
        return {r[0] for r in self.conn.execute("SELECT id FROM records WHERE merged_into IS NULL")}

    def merged_away_ids(self) -> set[str]:
        """Ids of records merged into another (an index built before the merge still holds them)."""
        return {r[0] for r in self.conn.execute("SELECT id FROM records WHERE merged_into IS NOT NULL")}

    def ids_below_relevance(self, below: float) -> set[str]:
        """Live records the relevance model scored under BELOW (near misses)."""
        return {r[0] for r in self.conn.execute(
            "SELECT id FROM records WHERE merged_into IS NULL AND relevance IS NOT NULL AND relevance < ?", (below,))}

    def relevance_of(self, record_id: str) -> float | None:
        row = self.conn.execute("SELECT relevance FROM records WHERE id=?", (record_id,)).fetchone()
        return row[0] if row else None

    def relevances_of(self, record_ids: list[str]) -> dict[str, float]:
        """{id: relevance} of the records the coder scored, among RECORD_IDS (in chunks)."""
        out: dict[str, float] = {}
        for i in range(0, len(record_ids), 500):
            chunk = record_ids[i:i + 500]
            out.update(self.conn.execute(
                f"SELECT id, relevance FROM records WHERE relevance IS NOT NULL AND id IN ({','.join('?' * len(chunk))})", chunk))
        return out

    def set_coded(self, record_id: str, relevance: float | None, coded_hash: str, roles: list[tuple[int, str]]) -> None:
        """The coder's marks on a record: its relevance, what it was coded from, each sentence's role
        (inside the coder's transaction)."""
        self.conn.execute("UPDATE records SET relevance=?, coded_hash=? WHERE id=?", (relevance, coded_hash, record_id))
        self.conn.executemany("UPDATE sentences SET role=? WHERE record_id=? AND idx=?",
                              [(role, record_id, idx) for idx, role in roles])

    def coding_state(self) -> list[tuple[str, str, str | None]]:
        """(id, content hash, hash it was coded from) of every live record, in id order."""
        return self.conn.execute("SELECT id, content_hash, coded_hash FROM records WHERE merged_into IS NULL ORDER BY id").fetchall()

    def content_hashes(self) -> dict[str, str]:
        """{id: content hash} of every live record."""
        return dict(self.conn.execute("SELECT id, content_hash FROM records WHERE merged_into IS NULL"))

    def set_designs(self, updates: list[tuple[str, str]]) -> None:
        """(design, record id) pairs, in one transaction."""
        with self.transaction() as c:
            c.executemany("UPDATE records SET design=? WHERE id=?", updates)

    def design_counts(self) -> dict[str, int]:
        return dict(self.conn.execute("SELECT design, COUNT(*) FROM records WHERE merged_into IS NULL GROUP BY design ORDER BY design"))

    def match_keys(self, year: int | None) -> list[tuple[str, str, str]]:
        """(id, title key, authors JSON) of live records of one year, for de-duplication's blocks."""
        return self.conn.execute("SELECT id, title_key, authors FROM records WHERE merged_into IS NULL AND year IS ?",
                                 (year,)).fetchall()

    def live_years(self) -> list:
        return [y for (y,) in self.conn.execute("SELECT DISTINCT year FROM records WHERE merged_into IS NULL")]

    def match_row(self, record_id: str) -> tuple[dict | None, list[dict]]:
        """(the fields de-duplication compares of a record, or None; every observation of it)."""
        row = self.conn.execute("SELECT title, authors, year, journal, doi, pmid, pmcid, openalex, pub_types FROM records "
                                "WHERE id=?", (record_id,)).fetchone()
        if row is None:
            return None, []
        derived = dict(row)
        derived["authors"] = json.loads(derived["authors"] or "[]")
        derived["pub_types"] = json.loads(derived["pub_types"] or "[]")
        obs = [json.loads(d) for (d,) in self.conn.execute("SELECT data FROM provenance WHERE record_id=?", (record_id,))]
        return derived, obs

    def totals(self) -> dict[str, int]:
        """What `synth status` counts of the store's own tables."""
        one = lambda sql: self.conn.execute(sql).fetchone()[0]  # noqa: E731
        return {
            "records": self.count(),
            "merged_away": one("SELECT COUNT(*) FROM records WHERE merged_into IS NOT NULL"),
            "provenance": one("SELECT COUNT(*) FROM provenance"),
            "sentences": one("SELECT COUNT(*) FROM sentences s JOIN records r ON r.id = s.record_id WHERE r.merged_into IS NULL"),
            "quarantined": one("SELECT COUNT(*) FROM quarantine"),
            "coded": one("SELECT COUNT(*) FROM records WHERE merged_into IS NULL AND coded_hash IS NOT NULL"),
        }

    def observations_per_source(self) -> list[dict]:
        """Provenance rows per (source, imported database): what each source identified."""
        return [dict(r) for r in self.conn.execute(
            "SELECT source, database, COUNT(*) n FROM provenance GROUP BY source, database ORDER BY source, database")]

    def quarantined(self) -> list[dict]:
        return [dict(r) for r in self.conn.execute(
            "SELECT id, source, source_id, location, reason, run_id, at FROM quarantine ORDER BY id")]

    def quarantined_per_source(self) -> list[dict]:
        return [dict(r) for r in self.conn.execute("SELECT source, COUNT(*) n FROM quarantine GROUP BY source ORDER BY source")]

    def records_by_id(self, record_ids: list[str], brief: bool = False) -> dict[str, dict]:
        """{id: record} for many live records, in chunks (for tables over thousands of studies).
        BRIEF: only what a citation and a table cell need (no abstract, keywords or MeSH)."""
        out = {}
        cols = _BRIEF if brief else "*"
        for i in range(0, len(record_ids), 500):
            chunk = record_ids[i:i + 500]
            for r in self.conn.execute(f"SELECT {cols} FROM records WHERE merged_into IS NULL AND id IN ({','.join('?' * len(chunk))})", chunk):
                out[r["id"]] = row_to_dict(r)
        return out

    def count(self, where: str = "", params: tuple = ()) -> int:
        extra = f" AND ({where})" if where else ""
        return self.conn.execute(f"SELECT COUNT(*) FROM records WHERE merged_into IS NULL{extra}", params).fetchone()[0]

    def observation(self, source: str, source_id: str) -> dict | None:
        """What one source said of a study (its provenance row's Record JSON)."""
        row = self.conn.execute("SELECT data FROM provenance WHERE source=? AND source_id=?", (source, source_id)).fetchone()
        return json.loads(row[0]) if row else None

    def near_misses(self, below: float) -> int:
        """Live records the relevance model puts under `below` (flagged as near misses; not coded)."""
        return self.count("relevance < ?", (below,))

    def uncoded(self) -> int:
        """Live records the mechanism coder has never coded (`synth index` codes them)."""
        return self.count("coded_hash IS NULL")

    def prune_sentences(self) -> None:
        """Sentences of records merged away or gone leave with them."""
        self.conn.execute("DELETE FROM sentences WHERE record_id NOT IN (SELECT id FROM records WHERE merged_into IS NULL)")

    def sentence_counts(self) -> dict[str, int]:
        return dict(self.conn.execute("SELECT record_id, COUNT(*) FROM sentences GROUP BY record_id"))

    def put_sentences(self, record_id: str, rows: list[tuple]) -> None:
        """A record's sentences (record_id, idx, section, text), inside the caller's transaction;
        rows whose text is unchanged are kept, and with them the coder's roles."""
        old = self.conn.execute("SELECT record_id, idx, section, text FROM sentences WHERE record_id=? ORDER BY idx",
                                (record_id,)).fetchall()
        if [tuple(o) for o in old] != rows:
            self.conn.execute("DELETE FROM sentences WHERE record_id=?", (record_id,))
            self.conn.executemany("INSERT INTO sentences(record_id, idx, section, text) VALUES (?,?,?,?)", rows)

    def sentences_of(self, record_id: str) -> list[dict]:
        """A record's evidence sentences in order: idx, section, text, role."""
        return [dict(r) for r in self.conn.execute(
            "SELECT idx, section, text, role FROM sentences WHERE record_id=? ORDER BY idx", (record_id,))]

    def sentences_of_many(self, record_ids: list[str]) -> dict[str, list[dict]]:
        """{record_id: its sentences in order} for many records, in chunks (SQLite's variable limit)."""
        out: dict[str, list[dict]] = {rid: [] for rid in record_ids}
        for i in range(0, len(record_ids), 500):
            chunk = record_ids[i:i + 500]
            for r in self.conn.execute(f"SELECT record_id, idx, section, text, role FROM sentences WHERE record_id IN "
                                       f"({','.join('?' * len(chunk))}) ORDER BY record_id, idx", chunk):
                out[r[0]].append({"idx": r[1], "section": r[2], "text": r[3], "role": r[4]})
        return out

    # ------------------------------------------------------------------ runs
    def start_run(self, kind: str) -> int:
        import os

        cur = self.conn.execute("INSERT INTO runs(kind, started_at, pid) VALUES (?,?,?)", (kind, utcnow(), os.getpid()))
        return cur.lastrowid

    def finish_run(self, run_id: int, status: str, summary: dict) -> None:
        self.conn.execute(
            "UPDATE runs SET finished_at=?, status=?, summary=? WHERE id=?",
            (utcnow(), status, json.dumps(summary, ensure_ascii=False), run_id),
        )

    def runs(self, limit: int = 5) -> list[dict]:
        """The last LIMIT runs, newest first, summaries parsed."""
        out = []
        for r in self.conn.execute("SELECT * FROM runs ORDER BY id DESC LIMIT ?", (limit,)):
            d = dict(r)
            try:
                d["summary"] = json.loads(d["summary"] or "{}")
            except ValueError:
                d["summary"] = {}
            out.append(d)
        return out

    def run_exists(self, run_id: int) -> bool:
        return self.conn.execute("SELECT 1 FROM runs WHERE id = ?", (run_id,)).fetchone() is not None

    def finished_refreshes(self, limit: int = 2) -> list[dict]:
        """The last LIMIT refresh runs that finished (ok or partial), newest first."""
        return [dict(r) for r in self.conn.execute(
            "SELECT id, started_at, finished_at, status FROM runs WHERE kind='refresh' AND status IN ('ok','partial') "
            "ORDER BY id DESC LIMIT ?", (limit,))]

    def running_runs(self, but_pid: int) -> list[dict]:
        """Runs still marked running by a process other than BUT_PID."""
        return [dict(r) for r in self.conn.execute("SELECT id, kind, pid FROM runs WHERE status = 'running' AND pid IS NOT ?", (but_pid,))]

    def mark_killed(self, run_ids: list[int]) -> None:
        self.conn.executemany("UPDATE runs SET status = 'killed', finished_at = COALESCE(finished_at, started_at) WHERE id = ?",
                              [(i,) for i in run_ids])

    def delete_meta(self, key: str) -> None:
        self.conn.execute("DELETE FROM meta WHERE key=?", (key,))

    def get_meta(self, key: str, default: str | None = None) -> str | None:
        row = self.conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else default

    def set_meta(self, key: str, value: str) -> None:
        self.conn.execute("INSERT INTO meta(key, value) VALUES (?,?) ON CONFLICT(key) DO UPDATE SET value=excluded.value", (key, value))


# ------------------------------------------------------------------ richer over poorer
_TEXTS = ("title", "abstract", "journal")
_CUT_MARK = re.compile(r"(\s*(\.\.\.|…|\[truncated\]|\(truncated\)))+\s*$", re.I)


def _cut(text: str) -> str:
    return " ".join(_CUT_MARK.sub("", str(text or "")).split()).lower()


def is_truncation(short: str, long: str) -> bool:
    """True when `short` is `long` cut short (a prefix, maybe ending in "..." or "[truncated]")."""
    a, b = _cut(short), _cut(long)
    return bool(a) and len(a) < len(b) and b.startswith(a)


_JOURNAL_SMALL = {"of", "and", "the", "for", "in", "on", "&", "de", "la", "und", "fur"}


def is_abbreviation(short: str, long: str) -> bool:
    """True when `short` is `long` abbreviated word by word ("Nord J Psychiatry" of "Nordic Journal
    of Psychiatry"): each of its words starts the next word of `long` that is not a small word."""
    a = re.findall(r"[a-z0-9]+", _cut(short))
    b = [w for w in re.findall(r"[a-z0-9&]+", _cut(long)) if w not in _JOURNAL_SMALL]
    return bool(a) and len(_cut(short)) < len(_cut(long)) and len(a) == len(b) and all(y.startswith(x) for x, y in zip(a, b))


def _poorer(value: str, other: str, key: str = "") -> bool:
    """`value` says less than `other`: cut short, or (a journal) its abbreviation."""
    return is_truncation(value, other) or (key == "journal" and is_abbreviation(value, other))


def _most_complete(values: list[str], key: str = ""):
    """The first value in source order, unless it is a truncation (or, for a journal, an
    abbreviation) of a later one."""
    best = values[0] if values else None
    for v in values[1:]:
        if isinstance(best, str) and isinstance(v, str) and _poorer(best, v, key):
            best = v
    return best


def _authors_cut(short: list[str], long: list[str]) -> bool:
    """`short` is `long` cut short: fewer names, the same family names in the same order (or "et al.")."""
    from synth.dedupe import family_names

    names = [a for a in short if not re.search(r"\bet al\b", a, re.I)]
    if len(names) >= len(long):
        return False
    return all(family_names([a]) == family_names([b]) for a, b in zip(names, long))


def _authors_poorer(a: list[str], b: list[str]) -> bool:
    """`a` says less than `b` of the same authors: cut short, or the same names written with less
    (accents stripped, initials for given names)."""
    from synth.dedupe import family_name

    if _authors_cut(a, b):
        return True
    same = len(a) == len(b) and all(family_name(x) == family_name(y) for x, y in zip(a, b))
    return same and _richness(a) < _richness(b)


def _richness(authors: list[str]) -> tuple[int, int]:
    text = "".join(authors)
    return sum(1 for ch in text if ord(ch) > 127), len(text)


def _most_complete_authors(lists: list[list[str]]) -> list[str]:
    best = lists[0] if lists else []
    for other in lists[1:]:
        if _authors_poorer(best, other):
            best = other
    return best


def keep_richer(old: dict, new: dict) -> dict:
    """The new observation of one provenance row, keeping each old field it lost or cut short.

    A value that merely changed is an update and wins; one that is gone, or is the old value cut
    short (a truncated export, a row cut short), is not: the richer old value stays.
    """
    out = dict(new)
    for k, was in old.items():
        now = new.get(k)
        if k in ("source", "source_id", "database", "fetched_at") or was in (None, "", []):
            continue
        if now in (None, "", []):
            out[k] = was
        elif k in _TEXTS and _poorer(now, was, k):
            out[k] = was
        elif k == "authors" and _authors_poorer(now, was):
            out[k] = was
    return out


def same_study(old: dict, rec: Record) -> bool:
    """Whether a stored observation and a new one under the same source id describe one study."""
    from rapidfuzz import fuzz

    new = rec.identifiers()
    shared = [k for k in new if old.get(k)]
    if any(old[k] == new[k] for k in shared):
        return True
    if shared:  # same kind of identifier, different values
        return False
    a, b = title_key(old.get("title") or ""), title_key(rec.title)
    return fuzz.token_sort_ratio(a, b) >= 90 or is_truncation(a, b) or is_truncation(b, a)


def _fallback_id(rec: Record) -> str:
    ids = rec.identifiers()
    return next(iter(ids.values()), "") or title_key(rec.title)[:200]


def row_to_dict(row: sqlite3.Row) -> dict:
    d = dict(row)
    for k in _JSON_COLS:
        if k in d and isinstance(d[k], str):
            d[k] = json.loads(d[k])
    return d


__all__ = ["Store", "Outcome", "InvalidRecord", "row_to_dict"]


def chunked(items, n: int = 500) -> Iterator[list]:
    """Lists of N items from any iterable (the last one shorter): batch reads over a streamed corpus."""
    chunk: list = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= n:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def read_meta(db_path: Path, key: str) -> str | None:
    """One meta value read without opening a Store (no migration, read-only): the cold search path."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=30)
    try:
        row = conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
    except sqlite3.OperationalError:
        return None
    finally:
        conn.close()
    return row[0] if row else None
