"""The real spiders through Scrapy's real downloader against the fake APIs on 127.0.0.1.

Each harvest runs as `synth harvest` in a subprocess (Twisted's reactor starts once
per process); the fake server runs in this process and logs every request it got.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import defaultdict
from datetime import date
from pathlib import Path

import pytest

from synth.fakeapi import FakeAPIServer, Faults, load_sample_corpus
from synth.project import init_project
from synth.records import SOURCES
from synth.store import Store
from refresh_support import source_ids

REPO = Path(__file__).resolve().parents[1]
SYNTH = str(Path(sys.executable).parent / "synth")  # the installed console script
FAST = {"rate": 50.0, "page_size": 25, "rows": 25, "batch_size": 20}


@pytest.fixture(scope="module")
def corpus():
    return load_sample_corpus()


@pytest.fixture(scope="module")
def api(corpus):
    with FakeAPIServer(corpus) as server:
        yield server


@pytest.fixture(autouse=True)
def _fresh(api):
    api.faults = Faults()
    api.requests.clear()
    yield


def make_project(root: Path, api, harvest: dict | None = None, **per_source) -> Path:
    """A project whose four sources point at the fake server (fast rate, small pages)."""
    sources = {s: {"base_url": api.base_url(s), **FAST, **per_source.get(s, {})} for s in SOURCES}
    init_project(root, {"harvest": {"contact_email": "review@example.org", "since": "2000-01-01",
                                    "backoff_base": 0.05, "backoff_max": 1.0, **(harvest or {})},
                        "sources": sources})
    return root


def harvest(project: Path, *args: str, timeout: int = 120) -> tuple[int, dict, str]:
    """Run `synth harvest --json` in a subprocess: (exit code, {source: summary}, stderr)."""
    env = {**os.environ, "SYNTH_PROJECT": str(project), "NCBI_API_KEY": "", "OPENALEX_API_KEY": ""}
    proc = subprocess.run([SYNTH, "harvest", "--json", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]
    return proc.returncode, {r["source"]: r for r in rows}, proc.stderr


def record_of_each_study(store: Store, api, sources=SOURCES) -> dict[str, set[str]]:
    """{study key: live record ids its provenance rows point to} (one id each when de-duplication is right)."""
    found = defaultdict(set)
    for s in sources:
        for key, sid in source_ids(api, s).items():
            row = store.conn.execute("SELECT record_id FROM provenance WHERE source=? AND source_id=?", (s, sid)).fetchone()
            found[key].add(store._live_id(row[0]) if row else None)
    return found


@pytest.mark.slow
def test_happy_path_every_record_stored_once_with_provenance(tmp_path, api, corpus):
    project = make_project(tmp_path / "p", api)
    rc, summary, err = harvest(project)
    assert rc == 0, err
    assert set(summary) == set(SOURCES)
    for s in SOURCES:
        served = len(api.records(s))
        assert summary[s]["seen"] == served > 0 and summary[s]["status"] == "ok"
        assert summary[s]["quarantined"] == summary[s]["failed_requests"] == 0
        assert summary[s]["new"] + summary[s]["merged"] == served
    assert sum(summary[s]["merged"] for s in SOURCES) > 0  # cross-source duplicates exist and were merged

    with Store(project / "data" / "synth.db") as store:
        studies = record_of_each_study(store, api)
        assert all(len(ids) == 1 and None not in ids for ids in studies.values()), \
            {k: v for k, v in studies.items() if len(v) != 1 or None in v}
        assert len({next(iter(v)) for v in studies.values()}) == len(studies) == store.count()
        # a study every API holds: one record, provenance from each source
        everywhere = [r for r in corpus if set(r["sources"]) == set(SOURCES)]
        assert everywhere
        for r in everywhere[:5]:
            rid = next(iter(studies[r["key"]]))
            assert sorted({p["source"] for p in store.provenance(rid)}) == sorted(SOURCES)
        # structured abstracts keep their labels, markup-free
        rec = store.get(next(iter(studies[everywhere[0]["key"]])))
        assert "<" not in rec["abstract"] and "jats" not in rec["abstract"]
        labelled = [r for r in corpus if "\nMETHODS: " in (r.get("abstract") or "") and "pubmed" in r["sources"]]
        if labelled:
            assert "\nMETHODS: " in store.get(next(iter(studies[labelled[0]["key"]])))["abstract"]
        windows = store.conn.execute("SELECT source, since, until, records FROM windows").fetchall()
        assert {(w[0], w[1], w[2]) for w in windows} == {(s, "2000-01-01", date.today().isoformat()) for s in SOURCES}
        assert store.conn.execute("SELECT status FROM runs").fetchall()[-1][0] == "ok"

    # the requests carry each API's own parameters
    logs = {s: api.requests_for(s) for s in SOURCES}
    es = logs["pubmed"][0].query
    assert es["usehistory"] == "y" and es["tool"] == "synth" and es["email"] == "review@example.org"
    assert es["datetype"] == "edat" and es["mindate"] == "2000/01/01"
    ef = [r.query for r in logs["pubmed"] if r.path.endswith("efetch.fcgi")]
    assert ef and all(q["WebEnv"].startswith("MCID_") and q["query_key"] == "1" for q in ef)
    assert sorted(int(q["retstart"]) for q in ef) == list(range(0, len(api.records("pubmed")), 20))
    ep = [r.query for r in logs["europepmc"]]
    assert ep[0]["cursorMark"] == "*" and ep[0]["resultType"] == "core" and "FIRST_IDATE:[2000-01-01 TO" in ep[0]["query"]
    assert all(q["cursorMark"] != "*" for q in ep[1:])
    oa = [r.query for r in logs["openalex"]]
    assert oa[0]["cursor"] == "*" and oa[0]["mailto"] == "review@example.org"
    assert oa[0]["filter"].startswith("from_publication_date:2000-01-01")
    cr = [r.query for r in logs["crossref"]]
    assert cr[0]["cursor"] == "*" and cr[0]["rows"] == "25" and cr[0]["mailto"] == "review@example.org"
    assert cr[0]["filter"].startswith("from-index-date:2000-01-01")
    assert len(cr) == len(api.records("crossref")) // 25 + 1  # stops at the first short page

    # idempotency: a second harvest changes nothing
    api.requests.clear()
    rc, again, err = harvest(project)
    assert rc == 0, err
    for s in SOURCES:
        assert again[s]["unchanged"] == again[s]["seen"] == summary[s]["seen"]
        assert again[s]["new"] == again[s]["updated"] == again[s]["merged"] == 0
    with Store(project / "data" / "synth.db") as store:
        assert store.count() == len(studies)


@pytest.mark.slow
def test_429_with_retry_after_holds_the_host(tmp_path, api):
    project = make_project(tmp_path / "p", api, pubmed={"batch_size": 5})
    api.faults = Faults(error_rate=0.35, retry_after=0.5, seed=4)
    rc, summary, err = harvest(project, "--source", "pubmed")
    assert rc == 0, err
    log = api.requests_for("pubmed")
    throttled = [i for i, r in enumerate(log) if r.status == 429]
    assert len(throttled) >= 2
    for i in throttled:
        if i + 1 < len(log):  # whatever request came next (a retry or a queued efetch batch) waited
            assert log[i + 1].t - log[i].t >= 0.45, (i, log[i + 1].t - log[i].t)
    assert summary["pubmed"]["seen"] == len(api.records("pubmed")) and summary["pubmed"]["failed_requests"] == 0
    assert summary["pubmed"]["requests"] == len(log)


def test_burst_of_500s_is_retried_with_backoff(tmp_path, api):
    project = make_project(tmp_path / "p", api)
    api.faults = Faults(burst_500=3)
    rc, summary, err = harvest(project, "--source", "crossref", "--source", "openalex")
    assert rc == 0, err
    for s in ("crossref", "openalex"):
        log = api.requests_for(s)
        assert [r.status for r in log[:4]] == [500, 500, 500, 200]
        gaps = [b.t - a.t for a, b in zip(log[:3], log[1:4])]
        assert gaps[2] > gaps[0]  # exponential backoff: 0.05, 0.1, 0.2 s
        assert summary[s]["seen"] == len(api.records(s)) and summary[s]["failed_requests"] == 0


def test_failed_requests_are_recorded_and_the_window_left_open(tmp_path, api):
    project = make_project(tmp_path / "p", api, harvest={"retry_times": 2})
    api.faults = Faults(burst_500=10)  # more than 1 + 2 retries: the first page of each source is lost
    rc, summary, err = harvest(project, "--source", "europepmc", "--source", "pubmed")
    assert rc == 1
    assert "Error: europepmc" in err and "HTTP 500" in err
    with Store(project / "data" / "synth.db") as store:
        rows = store.conn.execute("SELECT source, url, error FROM failed_requests").fetchall()
        assert {r[0] for r in rows} == {"europepmc", "pubmed"}
        assert all(r[1].startswith(api.url) and r[2] == "HTTP 500" for r in rows)
        assert store.conn.execute("SELECT COUNT(*) FROM windows").fetchone()[0] == 0
        assert store.conn.execute("SELECT status FROM runs").fetchone()[0] == "failed"
    assert summary["europepmc"]["status"] == "failed" and summary["europepmc"]["failed_requests"] == 1


def test_truncated_body_is_retried_and_nothing_lost(tmp_path, api):
    project = make_project(tmp_path / "p", api)
    api.faults = Faults(truncate={"europepmc", "pubmed"})
    rc, summary, err = harvest(project, "--source", "europepmc", "--source", "pubmed")
    assert rc == 0, err
    for s in ("europepmc", "pubmed"):
        assert summary[s]["seen"] == len(api.records(s)) and summary[s]["failed_requests"] == 0
    epmc = [r.query["cursorMark"] for r in api.requests_for("europepmc")]
    assert epmc[0] == epmc[1] == "*"  # the cut first page was fetched again


def test_malformed_records_are_quarantined_and_the_rest_stored(tmp_path, api, corpus):
    project = make_project(tmp_path / "p", api)
    bad = [r["key"] for r in corpus if {"crossref", "openalex"} <= set(r["sources"])][:2]
    bad += [r["key"] for r in corpus if "pubmed" in r["sources"] and r["key"] not in bad][:1]
    api.faults = Faults(malformed=set(bad))
    rc, summary, err = harvest(project, "--source", "crossref", "--source", "openalex", "--source", "pubmed")
    assert rc == 0, err
    with Store(project / "data" / "synth.db") as store:
        q = store.conn.execute("SELECT source, source_id, reason, raw FROM quarantine").fetchall()
        expected = {(s, source_ids(api, s)[k]) for s in ("crossref", "openalex", "pubmed")
                    for k in bad if k in source_ids(api, s)}
        assert {(r[0], r[1]) for r in q} == expected
        assert all(r[2] and r[3] for r in q)  # a reason and the raw record, for a person to look at
        for s in ("crossref", "openalex", "pubmed"):
            n_bad = sum(1 for k in bad if k in source_ids(api, s))
            assert summary[s]["quarantined"] == n_bad
            assert summary[s]["new"] + summary[s]["merged"] == len(api.records(s)) - n_bad


def test_empty_window_stores_nothing_and_completes(tmp_path, api):
    project = make_project(tmp_path / "p", api)
    rc, summary, err = harvest(project, "--since", "1990-01-01", "--until", "1990-12-31")
    assert rc == 0, err
    assert all(summary[s]["seen"] == 0 and summary[s]["status"] == "ok" for s in SOURCES)
    assert len(api.requests_for("pubmed")) == 1  # esearch only: Count 0, nothing to fetch
    with Store(project / "data" / "synth.db") as store:
        assert store.count() == 0
        from synth.harvest import last_window_end

        assert last_window_end(store, "crossref", store_query(project, "crossref")) == date(1990, 12, 31)
        assert last_window_end(store, "crossref", "another query") is None


def store_query(project: Path, source: str) -> str:
    from synth.project import load_project

    return load_project(project).source(source)["query"]


def test_esearch_ceiling_splits_the_date_range(tmp_path, api):
    n = len(api.records("pubmed"))
    ceiling = max(5, n // 5)
    project = make_project(tmp_path / "p", api, pubmed={"esearch_ceiling": ceiling})
    api.faults = Faults(esearch_ceiling=ceiling)
    rc, summary, err = harvest(project, "--source", "pubmed")
    assert rc == 0, err
    assert summary["pubmed"]["seen"] == summary["pubmed"]["new"] == n
    searches = [r.query for r in api.requests_for("pubmed") if r.path.endswith("esearch.fcgi")]
    assert len(searches) > 3 and len({(q["mindate"], q["maxdate"]) for q in searches}) == len(searches)
    with Store(project / "data" / "synth.db") as store:
        ids = [r[0] for r in store.conn.execute("SELECT source_id FROM provenance WHERE source='pubmed'")]
        assert len(ids) == len(set(ids)) == n == store.count()


@pytest.mark.slow
def test_politeness_never_above_the_rate(tmp_path, api):
    """60 requests at 5/s: achieved ≥ 90% of the limit, never more than 5 in any 1-s window.
    (bench/bench_politeness.py measures 3/s and 10/s, PubMed's limits without and with a key.)"""
    rate = 5.0
    project = make_project(tmp_path / "p", api, pubmed={"rate": rate, "batch_size": 1})
    rc, summary, err = harvest(project, "--source", "pubmed", "--max", "59")
    assert rc == 0, err
    t = [r.t for r in api.requests_for("pubmed")]
    assert len(t) == 60
    achieved = (len(t) - 1) / (t[-1] - t[0])
    worst = max(sum(1 for u in t if s <= u < s + 1.0) for s in t)
    assert achieved >= 0.9 * rate, achieved
    assert worst <= rate, worst
