"""`synth screen`: decisions by any identifier, from a CSV validated as a whole, hiding records everywhere."""

import json

import pytest
from click.testing import CliRunner
from review_corpus import build

from synth.cli import cli
from synth.records import Record
from synth.tables import build_tables


@pytest.fixture
def review(project):
    return project, build(project, exclude=())


def run(project, *args):
    r = CliRunner().invoke(cli, ["--project", str(project.root), *args], catch_exceptions=False)
    return r.exit_code, r.stdout, r.stderr


def table_record_ids(project) -> set[str]:
    return {c["id"] for r in build_tables(project).rows for c in r["records"]}


def decisions(project) -> dict:
    store = project.store()
    try:
        return {r[0]: (r[1], r[2]) for r in store.conn.execute("SELECT record_id, decision, reason FROM screening")}
    finally:
        store.close()


def test_exclude_by_doi_hides_everywhere_but_keeps_the_record(review):
    from synth.search import excluded_ids as search_hidden

    project, ids = review
    assert ids["forum"] in table_record_ids(project)
    code, _, err = run(project, "screen", "10.5555/REV.FORUM", "--exclude", "--reason", "adult sample")
    assert code == 0, err
    assert decisions(project) == {ids["forum"]: ("exclude", "adult sample")}
    assert ids["forum"] not in table_record_ids(project)
    store = project.store()
    assert store.get(ids["forum"]) is not None  # still stored
    assert ids["forum"] in search_hidden(store)  # default search leaves it out
    store.close()
    listed = [json.loads(line) for line in run(project, "screen", "--list", "--json")[1].splitlines()]
    assert [(d["record_id"], d["decision"], d["reason"]) for d in listed] == [(ids["forum"], "exclude", "adult sample")]
    assert listed[0]["title"].startswith("Young people's experiences")
    # Including it again brings it back.
    assert run(project, "screen", "39200002", "--include")[0] == 0  # by PMID this time
    assert ids["forum"] in table_record_ids(project)


def test_unknown_record_and_bad_usage_are_one_line_errors(review):
    project, _ = review
    code, _, err = run(project, "screen", "10.5555/nope", "--exclude")
    assert code == 2 and "no record '10.5555/nope'" in err and len(err.strip().splitlines()) == 1
    code, _, err = run(project, "screen", "10.5555/rev.forum")
    assert code == 2 and "--include or --exclude" in err
    assert decisions(project) == {}


def test_from_file_validates_everything_before_writing(review, tmp_path):
    project, ids = review
    bad = tmp_path / "bad.csv"
    bad.write_text("id,decision,reason\n10.5555/rev.forum,exclude,adults\n39200001,maybe,unsure\n", encoding="utf-8")
    code, _, err = run(project, "screen", "--from", str(bad))
    assert code == 2 and f"{bad}:3:" in err and "'maybe'" in err
    bad.write_text("id,decision,reason\n10.5555/rev.forum,exclude,adults\nPMC0000001,include,\n", encoding="utf-8")
    code, _, err = run(project, "screen", "--from", str(bad))
    assert code == 2 and f"{bad}:3:" in err and "PMC0000001" in err
    assert decisions(project) == {}  # nothing written from a bad file
    good = tmp_path / "good.csv"
    # Excel-style: BOM, semicolons, mixed case, an identifier of each kind, a reason with a comma
    good.write_bytes("\ufeffID;Decision;Reason\n10.5555/rev.forum;Exclude;\"adults; veterans\"\n39200001;include;\n"
                     f"{ids['near_miss']};excluded;peer review of manuscripts\n".encode("utf-8"))
    code, _, err = run(project, "screen", "--from", str(good))
    assert code == 0, err
    want = {ids["forum"]: ("exclude", "adults; veterans"), ids["navigator"]: ("include", ""),
            ids["near_miss"]: ("exclude", "peer review of manuscripts")}
    assert decisions(project) == want
    assert run(project, "screen", "--from", str(good))[0] == 0  # re-running changes nothing
    assert decisions(project) == want


def test_decisions_survive_reharvest_and_follow_merges(project):
    """A refresh re-stores records and may merge two into one: the decision stays with the study."""
    from synth.screening import decide, excluded_ids

    store = project.store()
    _, by_pmid = store.upsert(Record(title="Peer mentors in schools", pmid="39300001", year=2020, source="pubmed", source_id="39300001"))
    _, by_doi = store.upsert(Record(title="A different title entirely", doi="10.5555/m1", year=2020, source="crossref", source_id="10.5555/m1"))
    decide(store, "10.5555/m1", "exclude", "not youth")
    # Re-harvest of the same observation: unchanged, decision kept.
    store.upsert(Record(title="A different title entirely", doi="10.5555/m1", year=2020, source="crossref", source_id="10.5555/m1"))
    assert excluded_ids(store) == {by_doi}
    # Europe PMC holds both identifiers: the two records are one study, merged into the older one.
    _, live = store.upsert(Record(title="Peer mentors in schools", pmid="39300001", doi="10.5555/m1", year=2020,
                                  source="europepmc", source_id="MED/39300001"))
    assert live == by_pmid and store.get(by_doi)["id"] == by_pmid
    assert by_pmid in excluded_ids(store)
    store.close()
    listed = [json.loads(line) for line in run(project, "screen", "--list", "--json")[1].splitlines()]
    assert [(d["record_id"], d["decision"]) for d in listed] == [(by_pmid, "exclude")]
