"""`synth refresh`, `synth status`, `synth new`, `synth quarantine` end to end against the fake
APIs: idempotency, exit codes, a source outage, 30% of requests failing, the lock, and searches
while a refresh runs. Every command runs as a real subprocess (as cron would run it)."""

from __future__ import annotations

import json
import time
from datetime import date

import pytest

from refresh_support import (Watched, assert_complete_and_unique, assert_windows_fully_stored, fresh_studies,
                             index_agrees, make_project, refresh_json, synth)
from synth.fakeapi import FakeAPIServer, Faults, generate_corpus
from synth.project import load_project
from synth.records import SOURCES

# End-to-end with the real model (and Chroma): the full suite runs it, `make test-fast` does not.
pytestmark = pytest.mark.slow

ZERO = {"new": 0, "updated": 0, "merged": 0, "quarantined": 0, "failed_requests": 0, "embedded": 0,
        "removed_from_index": 0, "recoded": 0}


@pytest.fixture(scope="module")
def api():
    with FakeAPIServer(generate_corpus(45, seed=3)) as server:
        yield server


@pytest.fixture(scope="module")
def refreshed(api, tmp_path_factory):
    """A project after its first refresh: (project dir, first summary, stderr)."""
    project = make_project(tmp_path_factory.mktemp("refresh") / "review", api)
    rc, summary, err = refresh_json(project)
    assert rc == 0, err
    return project, summary, err


@pytest.fixture(autouse=True)
def _no_faults(api):
    api.faults = Faults()
    yield
    api.faults = Faults()


def _live_ids_of(project, api, keys: set[str]) -> set[str]:
    from refresh_support import live_record_per_study

    store = load_project(project).store()
    try:
        per = live_record_per_study(store, api)
    finally:
        store.close()
    return {rid for k in keys for rid in per[k]}


def test_first_refresh_harvests_indexes_and_codes_everything(refreshed, api):
    project, summary, err = refreshed
    phases = [line[4:].split()[0] for line in err.splitlines() if line.startswith("==> ")]
    assert phases == ["harvest", "index", "code"]
    assert summary["status"] == "ok" and summary["failed_sources"] == []
    assert summary["totals"]["new"] == 45 and summary["totals"]["embedded"] == 45
    assert summary["totals"]["recoded"] == 45
    assert set(summary["windows"]) == set(SOURCES)
    assert all(h["window_complete"] for h in summary["harvest"].values())
    counts = assert_complete_and_unique(project, api)
    assert counts == {"records": 45, "uncoded": 0}
    index_agrees(project)


def test_second_refresh_changes_nothing_and_starts_from_the_last_window(refreshed, api):
    project, first, _ = refreshed
    rc, again, err = refresh_json(project)
    assert rc == 0, err
    assert again["totals"] == ZERO
    assert again["index"]["embedded"] == 0 and again["lexical"]["rebuilt"] is False
    overlap = 7
    for since, until in again["windows"].values():
        assert until == date.today().isoformat()
        assert (date.fromisoformat(until) - date.fromisoformat(since)).days == overlap
    # --quiet: one line for the cron log, no progress or phase lines.
    q = synth(project, "refresh", "--quiet")
    assert q.returncode == 0, q.stderr
    assert len(q.stdout.strip().splitlines()) == 1
    assert ": ok; 0 new, 0 updated" in q.stdout and "0 embedded, 0 coded" in q.stdout
    assert "==>" not in q.stderr


def test_new_lists_exactly_the_records_added_since(refreshed, api):
    project, _, _ = refreshed
    before = time.strftime("%Y-%m-%d", time.gmtime())
    fresh = fresh_studies(4, start=5000, seed=11)
    api.corpus = api.corpus + fresh
    rc, summary, err = refresh_json(project)
    assert rc == 0, err
    assert summary["totals"]["new"] == 4
    expected = _live_ids_of(project, api, {r["key"] for r in fresh})
    assert len(expected) == 4

    out = synth(project, "new", "--json")
    assert out.returncode == 0, out.stderr
    rows = [json.loads(line) for line in out.stdout.splitlines()]
    assert {r["id"] for r in rows} == expected
    assert all(isinstance(r["mechanisms"], list) and r["created_run"] == summary["run_id"] for r in rows)

    by_run = synth(project, "new", "--since", str(summary["run_id"]), "--json")
    assert {json.loads(line)["id"] for line in by_run.stdout.splitlines()} == expected
    by_date = synth(project, "new", "--since", before, "--json")  # today: the whole project is new
    assert len(by_date.stdout.splitlines()) == assert_complete_and_unique(project, api)["records"]

    human = synth(project, "new")
    assert human.returncode == 0 and "4 records added since" in human.stdout
    for r in rows:
        assert r["id"] in human.stdout

    bad = synth(project, "new", "--since", "last tuesday")
    assert bad.returncode == 2 and "run id" in bad.stderr and "Traceback" not in bad.stderr
    assert synth(project, "new", "--since", "99999").returncode == 2


def test_status_json_reports_runs_windows_counts_and_agreement(refreshed, api):
    project, _, _ = refreshed
    out = synth(project, "status", "--json")
    assert out.returncode == 0, out.stderr
    st = json.loads(out.stdout)
    assert set(st) >= {"runs", "windows", "counts", "index", "errors", "running"}
    assert st["running"] is None
    last = st["runs"][0]
    assert last["kind"] == "refresh" and last["status"] == "ok"
    assert set(last) >= {"id", "status", "started_at", "finished_at", "new", "failed_sources", "error"}
    assert [w["source"] for w in st["windows"]] == list(SOURCES)
    for w in st["windows"]:
        assert w["until"] == date.today().isoformat() and w["failed_requests_open"] == 0
    c = st["counts"]
    live = assert_complete_and_unique(project, api)["records"]
    assert c["records"] == live and c["coded"] == live and c["sentences"] > live
    assert set(c) >= {"records", "sentences", "quarantined", "excluded"}
    assert st["index"]["ok"] is True and st["index"]["records"] == live
    assert st["errors"] == []
    human = synth(project, "status")
    assert human.returncode == 0 and "Store and index agree" in human.stdout


def test_usage_errors_exit_2(refreshed):
    project, _, _ = refreshed
    bad = synth(project, "refresh", "--source", "scopus")
    assert bad.returncode == 2 and "Traceback" not in bad.stderr


def test_concurrent_refresh_exits_75_while_searches_and_tables_keep_working(refreshed, api):
    project, _, _ = refreshed
    api.corpus = api.corpus + fresh_studies(8, start=6000, seed=12)
    api.faults = Faults(delay=0.25)  # a slower API: the refresh runs long enough to overlap
    a = Watched(project, "refresh")
    try:
        assert a.wait_phase("harvest")
        t = time.monotonic()
        b = synth(project, "refresh")
        assert b.returncode == 75, b.stderr
        assert time.monotonic() - t < 20  # refused at once (this is process start-up time)
        assert "another refresh is running" in b.stderr and f"pid {a.proc.pid}" in b.stderr
        st = json.loads(synth(project, "status", "--json").stdout)
        assert st["running"] == str(a.proc.pid)
        waiter = Watched(project, "refresh", "--wait", "--quiet")

        searches = overlapped = 0
        while a.proc.poll() is None or searches == 0:
            started = a.proc.poll() is None
            s = synth(project, "search", "peer mentoring for young people", "-k", "5", "--json")
            assert s.returncode == 0, f"search during a refresh failed: {s.stderr[-1500:]}"
            assert len(s.stdout.splitlines()) == 5
            searches += 1
            overlapped += started and a.proc.poll() is None
        tab = synth(project, "table", "--format", "md")
        assert tab.returncode == 0, tab.stderr
        assert a.wait() == 0, a.stderr
        assert overlapped >= 1, "no search ran entirely during the refresh"
        assert waiter.wait() == 0, waiter.stderr
        assert ": ok; 0 new" in waiter.out  # it ran after the first one, with nothing left to do
    finally:
        if a.proc.poll() is None:
            a.proc.kill()
    api.faults = Faults()
    assert_complete_and_unique(project, api)
    index_agrees(project)


def test_a_failed_source_exits_1_keeps_the_rest_and_is_retried_next_time(api, tmp_path):
    import tomllib

    import tomli_w

    project = make_project(tmp_path / "review", api, retry_times=1)
    cfg_path = project / "synth.toml"
    cfg = tomllib.loads(cfg_path.read_text())
    cfg["sources"]["crossref"]["base_url"] = "http://127.0.0.1:9/crossref/"  # nothing listens on port 9: an outage
    cfg_path.write_text(tomli_w.dumps(cfg))

    rc, summary, err = refresh_json(project)
    assert rc == 1, err
    assert summary["status"] == "partial" and summary["failed_sources"] == ["crossref"]
    assert not summary["harvest"]["crossref"]["window_complete"]
    assert summary["index"]["embedded"] > 0  # what succeeded is indexed and coded all the same
    store = load_project(project).store()
    try:
        failed = store.conn.execute("SELECT source, resolved FROM failed_requests").fetchall()
        assert failed and all(tuple(r) == ("crossref", 0) for r in failed)
        windows = {r[0] for r in store.conn.execute("SELECT source FROM windows")}
        assert windows == set(SOURCES) - {"crossref"}
        crossref_only = [r["key"] for r in api.corpus if r["sources"] == ["crossref"]]
        stored = store.count()
    finally:
        store.close()
    assert stored == len(api.corpus) - len(crossref_only)
    st = json.loads(synth(project, "status", "--json").stdout)
    assert st["runs"][0]["status"] == "partial" and st["runs"][0]["failed_sources"] == ["crossref"]
    assert st["errors"] and st["errors"][0]["source"] == "crossref"

    cfg["sources"]["crossref"]["base_url"] = api.base_url("crossref")  # the API is back
    cfg_path.write_text(tomli_w.dumps(cfg))
    rc, summary, err = refresh_json(project)
    assert rc == 0, err
    assert summary["windows"]["crossref"][0] == "2000-01-01"  # never completed: crawled from the start
    assert summary["resolved_failed_requests"] == len(failed)
    assert_complete_and_unique(project, api)
    assert_windows_fully_stored(project, api)
    index_agrees(project)
    assert json.loads(synth(project, "status", "--json").stdout)["errors"] == []


def test_thirty_percent_of_requests_failing_still_stores_every_record(tmp_path):
    """500s and 429s (Retry-After) on 30% of requests: retries with backoff get everything.

    With 5 retries a request is lost only after 6 failures in a row (p = 0.3^6 ≈ 0.07%); if a
    source does lose one, its window stays open and the next refresh completes it, so up to
    three refreshes are allowed here and their number is reported."""
    with FakeAPIServer(generate_corpus(60, seed=5), faults=Faults(error_rate=0.3, retry_after=0.05, seed=5)) as api:
        project = make_project(tmp_path / "review", api)
        codes = []
        for _ in range(3):
            rc, summary, err = refresh_json(project)
            codes.append(rc)
            assert rc in (0, 1), err
            if rc == 0:
                break
        statuses = [r.status for r in api.requests]
        print(f"refreshes needed: {len(codes)} (exit codes {codes}); {statuses.count(500)} x 500, "
              f"{statuses.count(429)} x 429 of {len(statuses)} requests")
        assert codes[-1] == 0
        assert statuses.count(500) > 5 and statuses.count(429) > 5  # the faults really happened
        assert_complete_and_unique(project, api)
        assert_windows_fully_stored(project, api)
        index_agrees(project)


def test_quarantine_lists_malformed_records_with_reasons(tmp_path):
    corpus = generate_corpus(12, seed=9)
    bad = corpus[3]["key"]
    with FakeAPIServer(corpus, faults=Faults(malformed={bad})) as api:
        project = make_project(tmp_path / "review", api)
        rc, summary, err = refresh_json(project)
        assert rc == 0, err
        assert summary["totals"]["quarantined"] >= 1
        out = synth(project, "quarantine", "--json")
        assert out.returncode == 0, out.stderr
        rows = [json.loads(line) for line in out.stdout.splitlines()]
        assert rows and all(r["reason"] and r["source"] in SOURCES for r in rows)
        human = synth(project, "quarantine")
        assert human.returncode == 0 and f"Quarantine ({len(rows)})" in human.stdout
        st = json.loads(synth(project, "status", "--json").stdout)
        assert st["counts"]["quarantined"] == len(rows)
