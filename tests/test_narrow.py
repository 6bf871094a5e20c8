"""At 80 columns the terminal views stay readable: identifiers a user pastes into the next command
(record ids, DOIs, PMIDs, mechanism ids) are printed whole, and lines fit the width unless they
carry such an identifier (which is never broken to make it fit)."""

import re

import pytest
from click.testing import CliRunner
from review_corpus import CORPUS, build

from synth.cli import cli

WIDTH = 80


@pytest.fixture
def review(project):
    ids = build(project)
    with project.store() as store:
        store.set_meta("mechanisms.theory_hash", "coded")  # as the coder leaves it
    return project, ids


def run80(project, *args) -> str:
    r = CliRunner(env={"COLUMNS": str(WIDTH)}).invoke(cli, ["--project", str(project.root), *args], catch_exceptions=False)
    assert r.exit_code == 0, r.output
    return r.stdout


def identifiers(project, ids) -> set[str]:
    out = set(ids.values())
    for rec, *_ in CORPUS.values():
        out |= {x for x in (rec.doi, rec.pmid) if x}
    return out


def check_fits(text: str, keep: set[str]) -> None:
    for line in text.splitlines():
        if len(line) > WIDTH:
            assert any(k in line for k in keep), f"line wider than {WIDTH} without an identifier: {line!r}"


def test_show_at_80_columns_keeps_every_identifier_whole(review):
    project, ids = review
    rid = ids["navigator"]
    out = run80(project, "show", rid)
    for ident in (rid, "10.5555/rev.navigator", "39200001", "PMC9200001", "W4300200001", "navigation_advocacy"):
        assert ident in out, ident
    assert "Navigators accompanied young people to appointments" in " ".join(out.split())
    check_fits(out, identifiers(project, ids) | {"navigation_advocacy"})


def test_mechanisms_at_80_columns_is_stacked_with_whole_ids(review):
    project, _ = review
    out = run80(project, "mechanisms")
    for mid in ("hope_role_modelling", "navigation_advocacy", "social_connection"):
        assert re.search(rf"^{mid}\s", out, re.M), f"{mid} not printed whole at the start of a line"
    assert "service_engagement (1)" in out
    check_fits(out, {"outcomes", "contexts"})


def test_status_at_80_columns_never_stacks_words(review):
    project, _ = review
    out = run80(project, "status")
    words = [w for line in out.splitlines() for w in re.findall(r"[A-Za-z]{2,}", line)]
    # A squeezed table prints "pubm", "ed" ... on separate lines; every source name must appear whole.
    for source in ("pubmed", "europepmc", "openalex", "crossref"):
        assert source in words
    check_fits(out, set())


def test_screen_list_and_evidence_at_80_columns(review):
    project, ids = review
    out = run80(project, "screen", "--list")
    assert ids["excluded"] in out
    out = run80(project, "evidence", "social_connection")
    assert "Participants felt they belonged" in " ".join(out.split())
    check_fits(out, identifiers(project, ids))
