"""Shared by tests/test_refresh*.py: a project pointed at the fake APIs, `synth` subprocesses,
and the invariants a refresh must leave behind (no duplicate, none missing, store = index)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from collections import defaultdict
from datetime import date
from pathlib import Path

from synth.fakeapi import generate_corpus
from synth.fakeapi.corpus import openalex_id, served_by, view
from synth.fakeapi.europepmc import ids_of
from synth.project import init_project, load_project
from synth.records import SOURCES

REPO = Path(__file__).resolve().parents[1]
SYNTH = str(Path(sys.executable).parent / "synth")  # the installed console script
# Fast, polite-enough crawling with small pages, so each source's crawl takes several pages.
FAST = {"rate": 50.0, "page_size": 10, "rows": 10, "batch_size": 10}
HARVEST = {"contact_email": "review@example.org", "since": "2000-01-01", "backoff_base": 0.05, "backoff_max": 0.5,
           "overlap_days": 7}


def make_project(root: Path, api, **harvest) -> Path:
    sources = {s: {"base_url": api.base_url(s), **FAST} for s in SOURCES}
    # Window OpenAlex by the date a work was added (as with an API key), like the other three
    # sources, so that every source's window means "entered between since and until".
    sources["openalex"]["date_field"] = "created"
    init_project(root, {"harvest": {**HARVEST, **harvest}, "sources": sources})
    return root


def env_for(project: Path) -> dict:
    return {**os.environ, "SYNTH_PROJECT": str(project), "NCBI_API_KEY": "", "OPENALEX_API_KEY": "",
            "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "COLUMNS": "120"}


def synth(project: Path, *args: str, timeout: int = 300) -> subprocess.CompletedProcess:
    return subprocess.run([SYNTH, *args], cwd=REPO, env=env_for(project), capture_output=True, text=True, timeout=timeout)


def refresh_json(project: Path, *args: str, timeout: int = 300) -> tuple[int, dict, str]:
    proc = synth(project, "refresh", "--json", *args, timeout=timeout)
    try:
        summary = json.loads(proc.stdout) if proc.stdout.strip() else {}
    except ValueError:
        summary = {}
    return proc.returncode, summary, proc.stderr


class Watched:
    """A `synth` subprocess whose stderr lines are collected as they come (phase lines: '==> ...')."""

    def __init__(self, project: Path, *args: str):
        self.proc = subprocess.Popen([SYNTH, *args], cwd=REPO, env=env_for(project), stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, text=True, bufsize=1)
        self.lines: list[tuple[float, str]] = []
        self.cond = threading.Condition()
        self.out = ""
        self._t_err = threading.Thread(target=self._read_err, daemon=True)
        self._t_out = threading.Thread(target=self._read_out, daemon=True)
        self._t_err.start()
        self._t_out.start()

    def _read_err(self):
        for line in self.proc.stderr:
            with self.cond:
                self.lines.append((time.monotonic(), line.rstrip("\n")))
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def _read_out(self):
        self.out = self.proc.stdout.read()

    def phases(self) -> list[str]:
        with self.cond:
            return [line[4:].split()[0] for _, line in self.lines if line.startswith("==> ") and line[4:].strip()]

    def wait_phase(self, phase: str, timeout: float = 120) -> bool:
        """Block until the '==> PHASE' line appears (True) or the process ended without it (False)."""
        end = time.monotonic() + timeout
        with self.cond:
            while True:
                if phase in self.phases():
                    return True
                if self.proc.poll() is not None and not self._t_err.is_alive():
                    return False
                left = end - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no '==> {phase}' line within {timeout}s")
                self.cond.wait(min(left, 0.05))

    def wait(self, timeout: float = 300) -> int:
        rc = self.proc.wait(timeout=timeout)
        self._t_err.join(5)
        self._t_out.join(5)
        return rc

    @property
    def stderr(self) -> str:
        with self.cond:
            return "\n".join(line for _, line in self.lines)


# ---------------------------------------------------------------------- corpus
def fresh_studies(n: int, start: int, seed: int, day: date | None = None) -> list[dict]:
    """N new studies entered today (inside every source's next refresh window)."""
    day = day or date.today()
    out = generate_corpus(n, seed=seed, start=start)
    for r in out:
        r["entry_date"] = day.isoformat()
        r["year"] = day.year
    return out


def source_ids(api, source: str) -> dict[str, str]:
    """{study key: the id `source` files it under} for every study the fake serves from `source`."""
    out = {}
    pick = {"pubmed": lambda v: str(v["pmid"]), "europepmc": lambda v: ":".join(ids_of(v)),
            "openalex": openalex_id, "crossref": lambda v: str(v["doi"]).lower()}[source]
    for v in api.records(source):
        out[v["key"]] = pick(v)
    return out


def live_record_per_study(store, api) -> dict[str, set]:
    """{study key: the live record ids its provenance rows point to}: one id each when nothing is
    duplicated, and never None (None = a source's copy of the study is missing)."""
    found = defaultdict(set)
    for s in SOURCES:
        for key, sid in source_ids(api, s).items():
            row = store.conn.execute("SELECT record_id FROM provenance WHERE source=? AND source_id=?", (s, sid)).fetchone()
            found[key].add(store._live_id(row[0]) if row else None)
    return found


def assert_complete_and_unique(project_dir: Path, api) -> dict:
    """Every study served is exactly one live record, and there are no others; returns counts."""
    project = load_project(project_dir)
    store = project.store()
    try:
        per_study = live_record_per_study(store, api)
        keys = {r["key"] for r in api.corpus}
        assert set(per_study) == keys
        missing = sorted(k for k, ids in per_study.items() if None in ids)
        dup = sorted(k for k, ids in per_study.items() if len(ids - {None}) > 1)
        assert not missing, f"studies missing from the store: {missing[:5]}"
        assert not dup, f"studies stored as several live records: {dup[:5]}"
        live = store.count()
        assert live == len(keys), f"{live} live records for {len(keys)} studies"
        pending = store.conn.execute(
            "SELECT COUNT(*) FROM records WHERE merged_into IS NULL AND coded_hash IS NULL").fetchone()[0]
        return {"records": live, "uncoded": pending}
    finally:
        store.close()


def assert_windows_fully_stored(project_dir: Path, api, published: dict[str, str] | None = None) -> int:
    """No window is marked done that was not fully stored: every study a source serves with an
    entry date inside one of its completed windows, and published on the server before that
    window was completed (`published`: study key -> synth.records.utcnow() when it was added;
    others count as there from the start), has that source's provenance row."""
    published = published or {}
    project = load_project(project_dir)
    store = project.store()
    try:
        rows = store.conn.execute("SELECT source, since, until, completed_at FROM windows").fetchall()
        for source, since, until, completed_at in rows:
            ids = source_ids(api, source)
            for rec in api.corpus:
                if not served_by(rec, source) or rec["key"] not in ids:
                    continue
                if published.get(rec["key"], "") >= completed_at:
                    continue  # published after this window was crawled
                day = view(rec, source).get("entry_date") or ""
                if since <= day <= until:
                    got = store.conn.execute("SELECT 1 FROM provenance WHERE source=? AND source_id=?",
                                             (source, ids[rec["key"]])).fetchone()
                    assert got, f"window {source} {since}..{until} marked done but {rec['key']} is not stored"
        return len(rows)
    finally:
        store.close()


def index_agrees(project_dir: Path) -> dict:
    from index.indexer import check

    report = check(load_project(project_dir), repair=False, progress=False)
    assert report["ok"], f"store and index disagree: {report}"
    return report
