"""Bulk curation: `synth table -o review.xlsx|csv` writes a curation sheet, `synth code --from` applies it
whole (or nothing, with FILE:ROW for each bad row), `synth code --undo` puts the previous decisions back."""

import csv

import pytest
from click.testing import CliRunner
from review_corpus import build

from synth.cli import cli
from synth.tables import build_tables


@pytest.fixture
def review(project):
    return project, build(project)


def run(project, *args):
    r = CliRunner().invoke(cli, ["--project", str(project.root), *args], catch_exceptions=False)
    return r.exit_code, r.stdout, r.stderr


def _rows(path):
    with open(path, encoding="utf-8-sig", newline="") as f:
        return list(csv.DictReader(f))


def _write(path, rows):
    with open(path, "w", encoding="utf-8-sig", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)


def _keys(project):
    return {(r["mechanism"], r["outcome"], r["direction"]) for r in build_tables(project).rows}


def test_csv_sheet_applies_every_decision_at_once_and_undo_restores(review):
    project, ids = review
    table = project.root / "review.csv"
    assert run(project, "table", "-o", str(table))[0] == 0
    sheet = project.root / "review-evidence.csv"
    rows = _rows(sheet)
    assert {r["kind"] for r in rows} == {"mechanism", "outcome", "context"}
    # findings first, each fragment with its role and the outcome it links to
    nav = next(r for r in rows if r["kind"] == "mechanism" and r["code"] == "navigation_advocacy")
    assert (nav["role"], nav["linked"], nav["citation"]) == ("finding", "service_engagement (improved)", "Walker et al. 2019")
    before = _keys(project)
    for r in rows:
        if r["kind"] == "mechanism" and r["code"] == "navigation_advocacy":
            r["decision"] = "reject"
            r["note"] = "describes the service, not why it worked"
        if r["kind"] == "mechanism" and r["record_id"] == ids["forum"]:
            r["change_to"] = "validation_support"
    _write(sheet, rows)
    code, out, err = run(project, "code", "--from", str(sheet))
    assert code == 0, err
    assert "Applied 3 decisions" in out
    after = _keys(project)
    assert ("navigation_advocacy", "service_engagement", "improved") not in after
    assert ("validation_support", None, None) in after
    # the note comes back in the next sheet
    run(project, "table", "-o", str(table))
    noted = [r for r in _rows(sheet) if r["note"]]
    assert [r["note"] for r in noted] == ["describes the service, not why it worked"]
    # one undo puts the whole sheet back
    code, out, _ = run(project, "code", "--undo")
    assert code == 0 and "3 decisions" in out
    assert _keys(project) == before
    code, out, _ = run(project, "code", "--undo")  # then the decision made before the sheet, by command
    assert code == 0 and "1 decision" in out
    code, _, err = run(project, "code", "--undo")
    assert code == 2 and "nothing to undo" in err


def test_bad_rows_are_listed_and_nothing_is_applied(review):
    project, ids = review
    table = project.root / "review.csv"
    run(project, "table", "-o", str(table))
    sheet = project.root / "review-evidence.csv"
    rows = _rows(sheet)
    rows[0]["decision"] = "maybe"
    rows[1]["change_to"] = "telepathy"
    rows[2]["record_id"] = "nope"
    rows[2]["decision"] = "accept"
    good = next(r for r in rows[3:] if r["kind"] == "mechanism")
    good["decision"] = "reject"
    _write(sheet, rows)
    before = _keys(project)
    code, _, err = run(project, "code", "--from", str(sheet))
    lines = err.strip().splitlines()
    assert code == 2
    assert lines[0].startswith("review-evidence.csv:2: decision 'maybe'")
    assert lines[1].startswith("review-evidence.csv:3: change_to 'telepathy'")
    assert lines[2].startswith("review-evidence.csv:4: no record 'nope'")
    assert "3 bad rows" in lines[-1] and "nothing applied" in lines[-1]
    assert _keys(project) == before  # the good row was not applied either


def test_one_fragment_accepted_and_rejected_in_the_same_sheet_is_refused(review):
    """Two rows that decide the same fragment two ways: the sheet says nothing clear, so nothing is applied
    (the same decision twice is fine)."""
    project, _ = review
    run(project, "table", "-o", str(project.root / "review.csv"))
    sheet = project.root / "review-evidence.csv"
    rows = _rows(sheet)
    frag = next(r for r in rows if r["kind"] == "mechanism")
    frag["decision"] = "accept"
    twice = dict(frag)
    rows.append(twice)
    _write(sheet, rows)
    code, _, err = run(project, "code", "--from", str(sheet))
    assert code == 0, err  # accept twice: one decision
    twice["decision"] = "reject"
    _write(sheet, rows)
    before = _keys(project)
    code, _, err = run(project, "code", "--from", str(sheet))
    assert code == 2 and f"review-evidence.csv:{len(rows) + 1}:" in err and "to reject here but to accept on row" in err
    assert _keys(project) == before


def test_a_file_that_is_not_a_sheet_is_refused(review):
    project, _ = review
    table = project.root / "review.csv"
    run(project, "table", "-o", str(table))
    code, _, err = run(project, "code", "--from", str(table))
    assert code == 2 and "not a synth curation sheet" in err and "review-evidence.csv" in err
    assert len(err.strip().splitlines()) == 1
    code, _, err = run(project, "code", "--from", str(project.root / "missing.xlsx"))
    assert code == 2 and "no such file" in err
    code, _, err = run(project, "code", "SOMEID", "--from", str(table))
    assert code == 2 and "one at a time" in err


def test_xlsx_round_trip_curates_outcomes_too(review):
    from openpyxl import load_workbook

    project, ids = review
    path = project.root / "review.xlsx"
    assert run(project, "table", "-o", str(path))[0] == 0
    wb = load_workbook(path)
    ws = wb["Evidence (curate here)"]
    header = [c.value for c in ws[1]]
    for row in ws.iter_rows(min_row=2):
        vals = {h: c.value for h, c in zip(header, row)}
        # a reviewer says the navigator finding does not report service engagement
        if vals["kind"] == "outcome" and vals["code"] == "service_engagement" and vals["sentence"] == 1:
            row[header.index("decision")].value = "reject"
    wb.save(path)
    code, out, err = run(project, "code", "--from", str(path))
    assert code == 0, err
    assert ("navigation_advocacy", None, None) in _keys(project)
    assert ("navigation_advocacy", "service_engagement", "improved") not in _keys(project)


def test_single_outcome_curation_and_conflicting_options(review):
    project, ids = review
    code, out, _ = run(project, "code", ids["navigator"], "--outcome", "service_engagement", "--sentence", "1", "--reject")
    assert code == 0 and "Rejected outcome service_engagement" in out
    assert ("navigation_advocacy", None, None) in _keys(project)
    code, _, err = run(project, "code", ids["navigator"], "--outcome", "hope", "--mechanism", "hope_role_modelling", "--accept")
    assert code == 2 and "one code at a time" in err
    code, _, err = run(project, "code", ids["navigator"], "--outcome", "magic", "--accept")
    assert code == 2 and "unknown outcome 'magic'" in err


def test_a_sheet_saved_by_excel_with_semicolons_is_read(review):
    project, ids = review
    run(project, "table", "-o", str(project.root / "review.csv"))
    sheet = project.root / "review-evidence.csv"
    rows = _rows(sheet)
    nav = next(r for r in rows if r["kind"] == "mechanism" and r["code"] == "navigation_advocacy")
    nav["decision"] = "reject"
    with open(sheet, "w", encoding="utf-8-sig", newline="") as f:  # what Excel writes in a German or French locale
        w = csv.DictWriter(f, fieldnames=list(rows[0]), delimiter=";")
        w.writeheader()
        w.writerows(rows)
    code, out, err = run(project, "code", "--from", str(sheet))
    assert code == 0, err
    assert ("navigation_advocacy", "service_engagement", "improved") not in _keys(project)
