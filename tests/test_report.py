"""`synth report`: one self-contained, offline, escaped HTML file, checked in headless Chromium."""

import os
import re
import shutil
import subprocess

import pytest
from click.testing import CliRunner
from review_corpus import EVIL_SCRIPT, build

from synth.cli import cli
from synth.records import Record
from synth.report import build_report, write_report

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or (
    "/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)


def run(project, *args):
    r = CliRunner().invoke(cli, ["--project", str(project.root), *args], catch_exceptions=False)
    return r.exit_code, r.stdout, r.stderr


@pytest.fixture(scope="module")
def indexed(tmp_path_factory, tiny_model):
    """The review corpus, embedded into real (embedded) Chroma (a tiny model: the report is the point)."""
    from index.indexer import sync
    from synth.project import init_project

    project = init_project(tmp_path_factory.mktemp("report") / "review", {"index": {"model": tiny_model}})
    ids = build(project)
    sync(project, progress=False)
    path = write_report(project, project.root / "report.html")
    return project, ids, path


def assert_inert(page: str) -> None:
    assert EVIL_SCRIPT not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert len(re.findall(r"<script", page)) == 2  # only the page's own two scripts
    # offline by construction: nothing is fetched (links to articles are navigation, not loads)
    assert not re.search(r"""(src|srcset|poster|data)\s*=\s*["']?(https?:)?//""", page)
    assert "<link" not in page and "@import" not in page and "url(" not in page
    assert "default-src 'none'" in page


def test_report_without_index(project):
    build(project)
    code, out, err = run(project, "report", "-o", str(project.root / "r.html"))
    assert code == 0, err
    assert out.strip() == str(project.root / "r.html")
    page = (project.root / "r.html").read_text()
    assert_inert(page)
    # PRISMA 2020 shaped flow: who decided what is said; nothing is "screened" that no person screened
    flow = build_report(project)["flow"]
    assert [(s["source"], s["records"]) for s in flow["per_source"]] == [("crossref", 4), ("europepmc", 1), ("openalex", 1), ("pubmed", 2)]
    assert (flow["identified"], flow["duplicates"], flow["unique"], flow["screened_out"], flow["near_miss"], flow["included"]) == (8, 0, 8, 1, 1, 6)
    assert flow["exclusion_reasons"] == [{"reason": "adult sample", "records": 1}]
    assert (flow["contributing"], flow["reviews"], flow["ongoing"]) == (4, 1, 1)
    assert "flagged as near misses by the relevance model (no person screened them)" in page
    assert "screened" not in page.replace("no person screened them", "")
    # per-mechanism sections with their CMOC rows and evidence; screened-out records nowhere
    for mid in ("social_connection", "navigation_advocacy", "hope_role_modelling"):
        assert f'id="mech-{mid}"' in page
    assert "Walker JS, Klodnick VV, et al." in page and "Navigators accompanied young people to appointments" in page
    assert "Peer mentoring for adult veterans" not in page and "Veterans felt connected" not in page
    assert "No refresh has run yet" in page


def test_changes_since_previous_refresh(project):
    build(project, exclude=())
    store = project.store()
    first = store.start_run("refresh")
    store.finish_run(first, "ok", {})
    second = store.start_run("refresh")
    _, new_id = store.upsert(Record(title="A new study of peer workers in youth services", doi="10.5555/rev.new", year=2024,
                                    source="crossref", source_id="10.5555/rev.new"), second)
    store.finish_run(second, "ok", {})
    store.close()
    changes = build_report(project)["changes"]
    assert changes["previous"]["id"] == first and changes["latest"]["id"] == second
    assert changes["count"] == 1
    assert [c["id"] for g in changes["groups"] for c in g["records"]] == [new_id]
    page = write_report(project, project.root / "r.html").read_text()
    assert f"Since refresh run #{first}" in page and "A new study of peer workers in youth services" in page


def test_evidence_map_is_a_mechanism_by_outcome_matrix(indexed):
    project, ids, path = indexed
    page = path.read_text()
    assert_inert(page)
    m = build_report(project)["matrix"]
    assert [o["id"] for o in m["outcomes"]] == ["hope", "service_engagement", ""]  # theory order, then "no linked outcome"
    cells = {(row["mechanism"], o["id"]): c for row in m["rows"] for o, c in zip(m["outcomes"], row["cells"]) if c}
    assert cells[("navigation_advocacy", "service_engagement")]["studies"] == 1
    assert cells[("navigation_advocacy", "service_engagement")]["direction"] == "improved"
    assert cells[("social_connection", "")]["studies"] == 2  # the excluded adult study is not counted
    assert not any(k[0] == "stigma_reduction" for k in cells)  # a review is secondary: not in the primary matrix
    # every cell links to the row holding its quotes
    for c in cells.values():
        assert f'id="{c["anchor"]}"' in page and f'href="#{c["anchor"]}"' in page
    assert "Reviews (secondary evidence" in page and "Ongoing studies (protocols)" in page


def _chromium(args, tmp_path, timeout=90):
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
             "--no-first-run", "--disable-sync", f"--user-data-dir={tmp_path / 'chrome-profile'}", "--enable-logging=stderr", "--v=0"]
    return subprocess.run([CHROMIUM, *flags, *args], capture_output=True, text=True, timeout=timeout)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (apt-get install chromium; .ci/run does it)")
def test_report_renders_in_headless_chromium(indexed, tmp_path):
    project, ids, path = indexed
    url = path.resolve().as_uri()
    res = _chromium(["--dump-dom", url], tmp_path)
    dom = res.stdout
    assert 'data-report-ready="yes"' in dom, res.stderr[-2000:]  # the inline script ran to the end
    assert 'data-matrix-cells="3"' in dom
    html_tag = re.search(r"<html[^>]*>", dom).group(0)
    assert "data-report-errors" not in html_tag  # the page's error handler caught nothing
    assert "Uncaught" not in res.stderr and "Refused to" not in res.stderr  # nothing blocked by the CSP either
    assert 'id="mech-social_connection"' in dom and '<table id="evidence-matrix"' in dom
    assert len(re.findall(r"<script", dom)) == 2 and "&lt;script&gt;alert(1)&lt;/script&gt;" in dom
    # Defence in depth: even markup that escaped escaping could not run, the CSP only allows the page's own scripts.
    tampered = tmp_path / "tampered.html"
    tampered.write_text(path.read_text().replace("<footer", '<script>document.documentElement.setAttribute("data-injected","ran")</script><footer'))
    dom = _chromium(["--dump-dom", tampered.resolve().as_uri()], tmp_path).stdout
    assert 'data-report-ready="yes"' in dom and "data-injected" not in re.search(r"<html[^>]*>", dom).group(0)
    shot = tmp_path / "report.png"
    res = _chromium([f"--screenshot={shot}", "--window-size=1280,2000", url], tmp_path)
    assert shot.exists(), res.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 30_000  # a rendered page, not a blank one
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1280, 2000)
