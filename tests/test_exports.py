"""`synth export`: RIS, BibTeX, CSL-JSON and JSONL that reference managers and synth's own importers read back."""

import json

import pytest
from click.testing import CliRunner
from review_corpus import CORPUS, EVIL_SCRIPT, EVIL_TITLE, build

from synth.cli import cli
from synth.importers import import_files, read_file

IMPORT_FMT = {"ris": "ris", "bibtex": "bibtex", "csl-json": "jsonl", "jsonl": "jsonl"}
EXT = {"ris": "ris", "bibtex": "bib", "csl-json": "json", "jsonl": "jsonl"}
# Every identifier must survive a round trip through the importers (RIS/BibTeX carry the OpenAlex id as a note/field).
ROUND_TRIP_IDS = {"ris": ("doi", "pmid", "pmcid", "openalex"), "bibtex": ("doi", "pmid", "pmcid", "openalex"),
                  "csl-json": ("doi", "pmid", "pmcid", "openalex"), "jsonl": ("doi", "pmid", "pmcid", "openalex")}
NASTY_TITLE = "Braces } and { unbalanced, 100% @home \\ back_slash & more #2 $x$ ~ “quotes”"
NASTY_ABSTRACT = "First line.\nER  - \nTY  - JOUR\nTI  - An injected entry"


@pytest.fixture
def review(project):
    ids = build(project)
    store = project.store()
    store.conn.execute("UPDATE records SET title=?, abstract=? WHERE id=?", (NASTY_TITLE, NASTY_ABSTRACT, ids["near_miss"]))
    store.close()
    return project, ids


def run(project, *args):
    r = CliRunner().invoke(cli, ["--project", str(project.root), *args], catch_exceptions=False)
    return r.exit_code, r.stdout, r.stderr


def stored(project) -> dict[str, dict]:
    store = project.store()
    try:
        return {r["doi"]: r for r in store.iter_records()}
    finally:
        store.close()


@pytest.mark.parametrize("fmt", ["ris", "bibtex", "csl-json", "jsonl"])
def test_round_trip_through_the_importers_loses_no_identifier(review, fmt, tmp_path):
    from synth.project import init_project

    project, ids = review
    out = tmp_path / f"refs.{EXT[fmt]}"
    code, _, err = run(project, "export", "--format", fmt, "--include-excluded", "-o", str(out))
    assert code == 0, err
    assert f"Wrote {len(CORPUS)} records" in err
    result = read_file(out, IMPORT_FMT[fmt])
    assert not result.problems
    back = {r.doi: r for r in result.records}
    before = stored(project)
    assert set(back) == set(before)  # every record, none split or merged (the injected RIS entry is not one)
    for doi, rec in before.items():
        for key in ROUND_TRIP_IDS[fmt]:
            assert getattr(back[doi], key) == rec[key], (fmt, doi, key)
        assert back[doi].title == rec["title"] and back[doi].year == rec["year"]
    assert back["10.5555/rev.navigator"].authors[:2] in (["Walker, Janet S", "Klodnick, Vanessa V"],)
    text = out.read_text(encoding="utf-8")
    assert "W4300200001" in text  # the OpenAlex id travels in every format
    # Into a fresh project through the real import pipeline: the same studies, identifiers intact.
    fresh = init_project(tmp_path / "fresh")
    store = fresh.store()
    summary = import_files(store, [out], IMPORT_FMT[fmt])
    store.close()
    assert summary["total"]["new"] == len(CORPUS) and summary["total"]["quarantined"] == 0
    again = stored(fresh)
    for doi, rec in before.items():
        assert all(again[doi][k] == rec[k] for k in ROUND_TRIP_IDS[fmt])


def test_reference_formats_leave_out_excluded_records_jsonl_keeps_all(review, tmp_path):
    project, ids = review
    ris = tmp_path / "refs.ris"
    assert run(project, "export", "-o", str(ris))[0] == 0  # format from the extension
    assert "10.5555/rev.excluded" not in ris.read_text() and "10.5555/rev.forum" in ris.read_text()
    lines = [json.loads(line) for line in run(project, "export", "--format", "jsonl")[1].splitlines()]
    by_id = {d["id"]: d for d in lines}
    assert len(lines) == len(CORPUS)
    assert by_id[ids["excluded"]]["screening"]["decision"] == "exclude"
    assert by_id[ids["excluded"]]["screening"]["reason"] == "adult sample"
    assert by_id[ids["forum"]]["screening"] is None


def test_jsonl_carries_relevance_design_and_mechanisms(review):
    project, ids = review
    lines = {d["id"]: d for d in map(json.loads, run(project, "export")[1].splitlines())}
    nav = lines[ids["navigator"]]
    assert nav["design"] == "rct" and nav["relevance"] == pytest.approx(0.93)
    [m] = nav["mechanisms"]
    assert (m["id"], m["name"], m["score"]) == ("navigation_advocacy", "Navigating barriers and advocacy to access services", 0.71)
    assert m["evidence"][0]["text"].startswith("Navigators accompanied young people")
    assert lines[ids["curated"]]["mechanisms"][0]["id"] == "hope_role_modelling"  # a human accept counts
    assert lines[ids["near_miss"]]["mechanisms"] == [] and lines[ids["near_miss"]]["relevance"] < 0.5
    assert {s["source"] for s in nav["sources"]} == {"pubmed"}


def test_mechanism_filter_and_unknown_mechanism(review, tmp_path):
    project, ids = review
    out = run(project, "export", "--format", "csl-json", "--mechanism", "social_connection")[1]
    items = json.loads(out)
    assert {i["id"] for i in items} == {ids["forum"], ids["evil"]}  # the excluded one is coded too, but screened out
    target = tmp_path / "x.bib"
    target.write_text("keep me")
    code, _, err = run(project, "export", "--mechanism", "nope", "-o", str(target))
    assert code == 2 and "unknown mechanism 'nope'" in err
    assert target.read_text() == "keep me"  # a failed export never truncates the file


def test_hostile_record_is_inert_in_every_reference_format(review):
    project, ids = review
    ris = run(project, "export", "--format", "ris")[1]
    entry = ris.split(f"ID  - {ids['evil']}")[0].rsplit("TY  - ", 1)[1]
    assert f"TI  - {EVIL_TITLE}" in entry
    # every line of the file is a tag line: no record text can start a line, so none can end an entry early
    assert all(line[:2].isalnum() and line[2:6] == "  - " for line in ris.splitlines() if line)
    assert ris.count("TY  - JOUR") == len(CORPUS) - 1
    bib = run(project, "export", "--format", "bibtex")[1]
    import bibtexparser

    lib = bibtexparser.parse_string(bib)
    assert len(lib.entries) == len(CORPUS) - 1 and not lib.failed_blocks
    csl = json.loads(run(project, "export", "--format", "csl-json")[1])
    evil = next(i for i in csl if i["id"] == ids["evil"])
    assert evil["title"] == EVIL_TITLE and EVIL_SCRIPT in evil["abstract"]  # data, verbatim, never markup
    assert evil["author"][0] == {"family": "-Dash", "given": "Eve"}


def test_bibtex_escapes_latex_specials(review, tmp_path):
    project, ids = review
    out = tmp_path / "refs.bib"
    assert run(project, "export", "-o", str(out))[0] == 0
    text = out.read_text()
    assert r"100\% @home \textbackslash{} back\_slash \& more \#2 \$x\$ \textasciitilde{}" in text
    back = {r.doi: r for r in read_file(out, "bibtex").records}
    assert back["10.5555/rev.nearmiss"].title == NASTY_TITLE
