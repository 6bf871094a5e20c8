"""`synth table`: CMOC rows with citations and evidence, the mechanism summary, and safe CSV/XLSX/MD/HTML/JSON."""

import csv
import io
import json
import re

import pytest
from click.testing import CliRunner
from review_corpus import EVIL_SCRIPT, EVIL_TITLE, build

from synth.cli import cli
from synth.spreadsheet import FORMULA_TRIGGERS, neutralise
from synth.tables import build_tables, format_authors, short_author, write_table


@pytest.fixture
def review(project):
    return project, build(project)


def run(project, *args):
    r = CliRunner().invoke(cli, ["--project", str(project.root), *args], catch_exceptions=False)
    return r.exit_code, r.stdout, r.stderr


def test_citation_authors():
    assert short_author("Walker, Janet S") == "Walker JS"
    assert short_author("Walker JS") == "Walker JS"
    assert short_author("Nørgaard, Søren-Kim") == "Nørgaard SK"
    assert format_authors(["Walker, Janet S", "Klodnick, Vanessa V", "Okafor, Ada", "Brennan, Sean"]) == "Walker JS, Klodnick VV, et al."
    assert format_authors(["Ito, Ken"]) == "Ito K"


def test_rows_hold_citations_evidence_designs_and_curation(review):
    project, ids = review
    t = build_tables(project)
    by_mech = {r["mechanism"]: r for r in t.rows}
    assert set(by_mech) == {"hope_role_modelling", "navigation_advocacy", "social_connection"}
    nav = by_mech["navigation_advocacy"]
    assert (nav["context"], nav["outcome"], nav["studies"]) == ("clinical_service", "service_engagement", 1)
    cite = nav["records"][0]
    assert cite["text"].startswith("Walker JS, Klodnick VV, et al. (2019). Peer navigators for young adults")
    assert cite["link"] == "https://doi.org/10.5555/rev.navigator"
    assert {"record_id": ids["navigator"], "idx": 1, "role": "mechanism",
            "text": "Navigators accompanied young people to appointments and explained referral letters."} in nav["fragments"]
    assert nav["curated"] is False
    # The excluded adult record is coded social_connection/online/wellbeing too, but never appears.
    soc = by_mech["social_connection"]
    assert soc["studies"] == 2 and {c["id"] for c in soc["records"]} == {ids["forum"], ids["evil"]}
    assert ids["excluded"] not in {f["record_id"] for r in t.rows for f in r["fragments"]}
    assert soc["designs"] == {"qualitative": 2} and (soc["year_min"], soc["year_max"]) == (2021, 2022)
    # A human accept makes a configuration (and its row) curated.
    hope = by_mech["hope_role_modelling"]
    assert hope["curated"] is True and hope["context"] == "school" and hope["outcome"] == "hope"
    summary = {s["mechanism"]: s for s in t.summary}
    assert summary["social_connection"]["records"] == 2
    assert summary["social_connection"]["top_outcomes"][0]["name"] == "Wellbeing"
    assert summary["peerness_relationship"]["records"] == 0  # theory mechanisms without evidence are listed too


def test_mechanism_filter_and_unknown_mechanism(review):
    project, _ = review
    code, out, _ = run(project, "table", "--mechanism", "navigation_advocacy", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert {r["mechanism"] for r in data["configurations"]} == {"navigation_advocacy"}
    assert [s["mechanism"] for s in data["mechanisms"]] == ["navigation_advocacy"]
    code, out, err = run(project, "table", "--mechanism", "magic", "-o", str(project.root / "t.xlsx"))
    assert code == 2 and "unknown mechanism 'magic'" in err and len(err.strip().splitlines()) == 1
    assert not (project.root / "t.xlsx").exists()


def test_xlsx_sheets_frozen_wrapped_and_inert(review):
    from openpyxl import load_workbook

    project, ids = review
    path = project.root / "cmoc.xlsx"
    code, _, err = run(project, "table", "-o", str(path))  # format from the extension
    assert code == 0, err
    wb = load_workbook(path)
    assert wb.sheetnames == ["CMOC configurations", "Mechanism summary", "Evidence"]
    for ws in wb:
        assert ws.freeze_panes == "A2"
        assert ws.auto_filter.ref and ws.auto_filter.ref.startswith("A1:")
        assert all(c.font.bold for c in ws[1])
        assert all(c.alignment.wrap_text for row in ws.iter_rows(min_row=2) for c in row)
    ws = wb["CMOC configurations"]
    header = [c.value for c in ws[1]]
    assert ws.column_dimensions["H"].width >= 50  # the citations column is sized for reading
    rows = [dict(zip(header, r)) for r in ws.iter_rows(min_row=2, values_only=True)]
    assert sorted(r["Studies"] for r in rows) == [1, 1, 2]  # numbers stay numbers
    cells = [c for ws in wb for row in ws.iter_rows(min_row=2) for c in row if isinstance(c.value, str)]
    assert cells and all(not c.value.startswith(FORMULA_TRIGGERS) for c in cells)
    assert all(c.data_type == "s" for c in cells)
    ev = wb["Evidence"]
    eh = [c.value for c in ev[1]]
    titles = [r[eh.index("Title")] for r in ev.iter_rows(min_row=2, values_only=True)]
    assert "'" + EVIL_TITLE in titles  # shown as text, never evaluated
    authors = {r[eh.index("Authors")] for r in ev.iter_rows(min_row=2, values_only=True)}
    assert "'-Dash E, @At S" in authors
    texts = [r[eh.index("Evidence")] for r in ev.iter_rows(min_row=2, values_only=True)]
    assert any(EVIL_SCRIPT in t for t in texts)  # verbatim: a spreadsheet does not run it


def test_csv_bom_utf8_and_neutralised(review):
    project, _ = review
    path = project.root / "cmoc.csv"
    write_table(project, path)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel opens UTF-8 with a BOM correctly
    text = raw.decode("utf-8-sig")
    assert "Nørgaard S" in text
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0][0] == "Mechanism" and len(rows) == 4
    assert all(not cell.startswith(FORMULA_TRIGGERS) for r in rows for cell in r)
    soc = next(r for r in rows if r[0] == "Social connection and belonging")
    assert soc[7].startswith("'-Dash E, @At S. (2022). =HYPERLINK(")
    summary = (project.root / "cmoc-mechanisms.csv").read_bytes()
    assert summary.startswith(b"\xef\xbb\xbf") and b"social_connection" in summary


@pytest.mark.parametrize("value,expected", [("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"),
                                            ("\tx", "'\tx"), ("\rx", "'\rx"), ("a=1", "a=1"), (3, 3), (None, None)])
def test_neutralise(value, expected):
    assert neutralise(value) == expected


def test_markdown_html_json_are_inert(review):
    project, ids = review
    md = run(project, "table", "--format", "md")[1]
    assert "<script>" not in md and "&lt;script&gt;alert(1)&lt;/script&gt;" in md
    assert "=HYPERLINK(\"http://x\",\"y\")" in md  # plain text in Markdown
    # table cells never break: a pipe or newline in record text is escaped
    widths = {len(re.split(r"(?<!\\)\|", line)) - 2 for line in md.splitlines() if line.startswith("|")}
    assert widths == {10, 7}  # the configurations and the summary table, every row intact
    html_out = project.root / "cmoc.html"
    assert run(project, "table", "-o", str(html_out))[0] == 0
    page = html_out.read_text()
    assert "<script" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Walker JS, Klodnick VV, et al." in page and 'href="https://doi.org/10.5555/rev.navigator"' in page
    data = json.loads(run(project, "table", "--format", "json")[1])
    frags = [f["text"] for r in data["configurations"] for f in r["fragments"]]
    assert any(EVIL_SCRIPT in f for f in frags)  # JSON carries the text verbatim, as data
    assert any(c["title"] == EVIL_TITLE for r in data["configurations"] for c in r["records"])


def test_xlsx_needs_a_file(review):
    project, _ = review
    code, _, err = run(project, "table", "--format", "xlsx")
    assert code == 2 and "-o" in err
