"""`synth harvest` as a user meets it: input errors, the human summary, --max, `scrapy crawl`,
and the run_harvest API (each in a subprocess: the Twisted reactor starts once per process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from synth.fakeapi import FakeAPIServer, Faults
from synth.store import Store
from test_spiders import REPO, SYNTH, harvest, make_project


@pytest.fixture(scope="module")
def api():
    with FakeAPIServer() as server:
        yield server


@pytest.fixture(autouse=True)
def _fresh(api):
    api.faults = Faults()
    api.requests.clear()


def run(args, project=None, cwd=REPO, extra_env=None, cmd=None):
    env = {**os.environ, **(extra_env or {})}
    env.pop("SYNTH_PROJECT", None)
    if project:
        env["SYNTH_PROJECT"] = str(project)
    return subprocess.run(cmd or [SYNTH, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("args, message", [
    (["--since", "2020-13-01"], "--since: expected a date as YYYY-MM-DD, got '2020-13-01'"),
    (["--until", "yesterday"], "--until: expected a date as YYYY-MM-DD, got 'yesterday'"),
    (["--since", "2021-01-01", "--until", "2020-01-01"], "--since 2021-01-01 is after --until 2020-01-01"),
    (["--source", "scopus"], "unknown source 'scopus'; known: pubmed, europepmc, openalex, crossref"),
    (["--max", "0"], None),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, api, args, message):
    project = make_project(tmp_path / "p", api)
    proc = run(["harvest", *args], project)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and proc.stdout == ""
    if message:
        assert proc.stderr.strip() == f"Error: {message}"
    assert api.requests == []  # nothing was crawled
    assert not (project / "data" / "synth.db").exists() or Store(project / "data" / "synth.db").count() == 0


def test_no_project_is_a_clear_error(tmp_path):
    proc = run(["harvest"], cwd=tmp_path)
    assert proc.returncode == 2 and proc.stderr.startswith("Error: no synth project here")


def test_human_summary_table_and_progress(tmp_path, api):
    project = make_project(tmp_path / "p", api)
    proc = run(["harvest", "--source", "openalex", "--source", "crossref"], project)
    assert proc.returncode == 0, proc.stderr
    for column in ("requests", "records seen", "new", "updated", "duplicates merged", "quarantined", "failed requests"):
        assert column in proc.stdout
    lines = {line.split("│")[1].strip(): line for line in proc.stdout.splitlines() if line.count("│") > 5}
    assert set(lines) >= {"openalex", "crossref"} and "ok" in lines["crossref"]
    assert "openalex" in proc.stderr and "crossref" in proc.stderr  # live progress goes to stderr


def test_max_stops_early_and_leaves_the_window_open(tmp_path, api):
    project = make_project(tmp_path / "p", api, crossref={"rows": 4})
    rc, summary, err = harvest(project, "--source", "crossref", "--max", "6")
    assert rc == 0, err
    assert summary["crossref"]["seen"] == 6 and summary["crossref"]["capped"] is True
    assert len(api.requests_for("crossref")) == 2
    with Store(project / "data" / "synth.db") as store:
        assert store.count() == 6
        assert store.conn.execute("SELECT COUNT(*) FROM windows").fetchone()[0] == 0


def test_scrapy_crawl_works_from_the_repo_root(tmp_path, api):
    project = make_project(tmp_path / "p", api)
    listed = run([], project, cmd=[sys.executable, "-m", "scrapy", "list"])
    assert listed.stdout.split() == ["crossref", "europepmc", "openalex", "pubmed"]
    proc = run([], project, cmd=[sys.executable, "-m", "scrapy", "crawl", "europepmc", "-s", "LOG_LEVEL=WARNING"])
    assert proc.returncode == 0, proc.stderr
    with Store(project / "data" / "synth.db") as store:
        assert store.count() == len(api.records("europepmc"))
        run_row = store.conn.execute("SELECT status, summary FROM runs").fetchone()
        assert run_row[0] == "ok" and json.loads(run_row[1])["europepmc"]["seen"] == len(api.records("europepmc"))
        assert [tuple(r) for r in store.conn.execute("SELECT source FROM windows")] == [("europepmc",)]


def test_run_harvest_api_returns_a_summary_per_source(tmp_path, api):
    project = make_project(tmp_path / "p", api)
    code = ("import json; from synth.project import load_project; from synth.harvest import run_harvest; "
            f"s = run_harvest(load_project({str(project)!r}), sources=['openalex'], since='2001-01-01', progress=False); "
            "print(json.dumps(s))")
    proc = run([], cmd=[sys.executable, "-c", code])
    assert proc.returncode == 0, proc.stderr
    summary = json.loads(proc.stdout)
    assert list(summary) == ["openalex"]
    s = summary["openalex"]
    assert s["status"] == "ok" and s["window"][0] == "2001-01-01" and s["window_complete"] is True
    assert s["seen"] == s["new"] > 0 and isinstance(s["run_id"], int)
    assert api.requests_for("openalex")[0].query["filter"].startswith("from_publication_date:2001-01-01,")
