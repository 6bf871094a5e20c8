"""`synth table`: CMOC rows with citations and evidence, the mechanism summary, and safe CSV/XLSX/MD/HTML/JSON."""

import csv
import io
import json
import re

import pytest
from click.testing import CliRunner
from review_corpus import EVIL_SCRIPT, EVIL_TITLE, build

from synth.cli import cli
from synth.spreadsheet import FORMULA_TRIGGERS, neutralise_row
from synth.citations import format_authors, short_author
from synth.tables import build_tables, write_table


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


@pytest.mark.parametrize("authors,cited", [
    (["de Vries, Sanne", "Bakker, L", "Mulder F"], "de Vries et al. 2023"),
    (["de Vries S", "Bakker L"], "de Vries & Bakker 2023"),
    (["Sanne de Vries"], "de Vries 2023"),
    (["van der Berg, Jan"], "van der Berg 2023"),
    (["Walker JS", "Klodnick VV", "Okafor A"], "Walker et al. 2023"),
])
def test_short_citations_keep_surname_particles(authors, cited):
    """Tables, sheets, the report and `synth evidence` cite a study the same way, particles included."""
    from synth.citations import short_citation
    from synth.mechanisms.evidence import citation

    rec = {"id": "s1", "authors": authors, "year": 2023}
    assert short_citation(rec) == cited and citation(rec) == f"{cited} [s1]"


def test_rows_are_linked_claims_with_quotes_designs_and_curation(review):
    project, ids = review
    t = build_tables(project)
    rows = {(r["mechanism"], r["outcome"], r["direction"]): r for r in t.rows}
    assert set(rows) == {("navigation_advocacy", "service_engagement", "improved"), ("social_connection", None, None),
                         ("hope_role_modelling", "hope", "improved")}
    nav = rows[("navigation_advocacy", "service_engagement", "improved")]
    assert nav["studies"] == 1 and [c["id"] for c in nav["contexts"]] == ["clinical_service"]
    cite = nav["records"][0]
    assert cite["text"].startswith("Walker JS, Klodnick VV, et al. (2019). Peer navigators for young adults")
    assert cite["link"] == "https://doi.org/10.5555/rev.navigator"
    # the quote is the sentence that makes the link, with its number and a short citation
    assert nav["quotes"] == [{"record_id": ids["navigator"], "idx": 1, "role": "finding", "citation": "Walker et al. 2019",
                              "text": "Navigators accompanied young people to appointments and explained referral letters, and attendance improved."}]
    assert nav["statement"].startswith("In clinical mental health service settings, when peer support works through navigating")
    assert "service engagement improves because" in nav["statement"]
    assert nav["curated"] is False
    # Belonging is reported, wellbeing too, but nothing in the text links them: no outcome, not a cross product.
    soc = rows[("social_connection", None, None)]
    assert soc["studies"] == 2 and set(soc["study_ids"]) == {ids["forum"], ids["evil"]}
    assert ids["excluded"] not in {q["record_id"] for r in t.rows for q in r["quotes"]}
    assert soc["designs"] == {"qualitative": 2} and (soc["year_min"], soc["year_max"]) == (2021, 2022)
    hope = rows[("hope_role_modelling", "hope", "improved")]
    assert hope["curated"] is True and [c["id"] for c in hope["contexts"]] == ["school"]
    # A review is secondary evidence: its rows stand apart and never add to primary counts.
    sec = {(r["mechanism"], r["outcome"], r["direction"]): r for r in t.secondary}
    assert set(sec) == {("stigma_reduction", "stigma", "improved"), ("stigma_reduction", "help_seeking", "mixed")}
    assert all(r["secondary"] for r in t.secondary)
    assert ids["review"] not in {rid for r in t.rows for rid in r["study_ids"]}
    # A protocol has no findings: listed as an ongoing study, never a configuration.
    assert [c["id"] for c in t.ongoing] == [ids["protocol"]]
    assert ids["protocol"] not in {c["record_id"] for c in t.configurations}
    assert t.left_out == {"excluded": 1, "retracted": 0}
    summary = {s["mechanism"]: s for s in t.summary}
    assert summary["social_connection"]["records"] == 2
    assert summary["peerness_relationship"]["records"] == 0  # theory mechanisms without evidence are listed too


def test_mechanism_filter_and_unknown_mechanism(review):
    project, _ = review
    code, out, _ = run(project, "table", "--mechanism", "navigation_advocacy", "--format", "json")
    assert code == 0
    data = json.loads(out)
    assert {r["mechanism"] for r in data["rows"]} == {"navigation_advocacy"}
    assert {c["mechanism"] for c in data["configurations"]} == {"navigation_advocacy"}
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
    assert wb.sheetnames == ["Review table", "Evidence (curate here)", "Mechanism summary", "Ongoing studies"]
    for ws in wb:
        assert ws.freeze_panes == "A2"
        assert ws.auto_filter.ref and ws.auto_filter.ref.startswith("A1:")
        assert all(c.font.bold for c in ws[1])
        long = [c for row in ws.iter_rows(min_row=2) for c in row if isinstance(c.value, str) and len(c.value) > 40]
        assert all(c.alignment.wrap_text for c in long)  # long text (quotes, citations) wraps to be read
    ws = wb["Review table"]
    header = [c.value for c in ws[1]]
    from openpyxl.utils import get_column_letter

    assert ws.column_dimensions[get_column_letter(header.index("Supporting quotes") + 1)].width >= 50  # sized for reading
    rows = [dict(zip(header, r)) for r in ws.iter_rows(min_row=2, values_only=True)]
    primary = [r for r in rows if r["Evidence"] == "primary studies"]
    reviews = [r for r in rows if r["Evidence"] == "reviews"]
    assert len(primary) + len(reviews) == len(rows) and len(reviews) == 2
    # numbers stay numbers, and a review's count is never a count of primary studies
    assert sorted(r["Primary studies"] for r in primary) == [1, 1, 2] and all(r["Reviews"] is None for r in primary)
    assert all(r["Primary studies"] is None and r["Reviews"] >= 1 for r in reviews)
    cells = [c for ws in wb for row in ws.iter_rows(min_row=2) for c in row if isinstance(c.value, str)]
    assert cells and all(not c.value.startswith(FORMULA_TRIGGERS) for c in cells)
    assert all(c.data_type == "s" for c in cells)
    studies = " ".join(r["Studies"] for r in rows)
    assert "'-Dash E, @At S. (2022). " + EVIL_TITLE in studies or "-Dash E, @At S. (2022). " + EVIL_TITLE in studies
    assert any(r["Studies"].startswith("'-Dash E") for r in rows)  # shown as text, never evaluated
    ev = wb["Evidence (curate here)"]
    eh = [c.value for c in ev[1]]
    quotes = [r[eh.index("quote")] for r in ev.iter_rows(min_row=2, values_only=True)]
    assert any(EVIL_SCRIPT in q for q in quotes)  # verbatim: a spreadsheet does not run it
    assert ev.data_validations.dataValidation, "the decision column offers accept/reject"


def test_xlsx_cell_over_excels_limit_is_cut_and_says_so(review):
    """A garbled import can hold a 'sentence' longer than an Excel cell (32,767 characters): it is cut, with a
    note, rather than left out of the workbook or making a file Excel refuses."""
    from openpyxl import load_workbook

    from synth.spreadsheet import XLSX_CELL_LIMIT
    from synth.tables import to_xlsx

    project, _ = review
    t = build_tables(project)
    t.evidence[0]["quote"] = "=" + "x" * 40000
    path = project.root / "long.xlsx"
    to_xlsx(t, path)
    ws = load_workbook(path, read_only=True)["Evidence (curate here)"]
    rows = list(ws.iter_rows(values_only=True))
    quote = rows[1][rows[0].index("quote")]
    assert len(quote) == XLSX_CELL_LIMIT and quote.startswith("'=xxx") and quote.endswith("see the JSON output for the full text)")
    assert rows[1][rows[0].index("record_id")] == t.evidence[0]["record_id"]  # the rest of the row is intact


def test_csv_bom_utf8_and_neutralised(review):
    project, _ = review
    path = project.root / "cmoc.csv"
    write_table(project, path)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel opens UTF-8 with a BOM correctly
    text = raw.decode("utf-8-sig")
    assert "Nørgaard S" in text
    rows = list(csv.reader(io.StringIO(text, newline="")))
    assert rows[0][0] == "Mechanism" and len(rows) == 6
    assert all(not cell.startswith(FORMULA_TRIGGERS) for r in rows for cell in r)
    soc = next(r for r in rows if r[0] == "Social connection and belonging")
    assert soc[rows[0].index("Studies")].startswith("'-Dash E, @At S. (2022). =HYPERLINK(")
    summary = (project.root / "cmoc-mechanisms.csv").read_bytes()
    assert summary.startswith(b"\xef\xbb\xbf") and b"social_connection" in summary
    evidence = (project.root / "cmoc-evidence.csv").read_text(encoding="utf-8-sig")
    assert evidence.startswith("record_id,sentence,kind,code,")


@pytest.mark.parametrize("value,expected", [("=1+1", "'=1+1"), ("+1", "'+1"), ("-1", "'-1"), ("@SUM(A1)", "'@SUM(A1)"),
                                            ("\tx", "'\tx"), ("\rx", "'\rx"), ("a=1", "a=1"), ("", ""), (3, 3), (-1, -1),
                                            (None, None), (True, True)])
def test_neutralise(value, expected):
    assert neutralise_row(["id", value]) == ["id", expected]


def test_markdown_html_json_are_inert(review):
    project, ids = review
    md = run(project, "table", "--format", "md")[1]
    assert "<script>" not in md and "&lt;script&gt;alert(1)&lt;/script&gt;" in md
    assert "=HYPERLINK(\"http://x\",\"y\")" in md  # plain text in Markdown
    # table cells never break: a pipe or newline in record text is escaped
    widths = {len(re.split(r"(?<!\\)\|", line)) - 2 for line in md.splitlines() if line.startswith("|")}
    assert widths == {10, 7}  # the review tables and the summary table, every row intact  # the configurations and the summary table, every row intact
    html_out = project.root / "cmoc.html"
    assert run(project, "table", "-o", str(html_out))[0] == 0
    page = html_out.read_text()
    assert "<script" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "Walker JS, Klodnick VV, et al." in page and 'href="https://doi.org/10.5555/rev.navigator"' in page
    data = json.loads(run(project, "table", "--format", "json")[1])
    frags = [q["text"] for r in data["rows"] for q in r["quotes"]]
    assert any(EVIL_SCRIPT in f for f in frags)  # JSON carries the text verbatim, as data
    assert any(c["title"] == EVIL_TITLE for r in data["rows"] for c in r["records"])


def test_xlsx_needs_a_file(review):
    project, _ = review
    code, _, err = run(project, "table", "--format", "xlsx")
    assert code == 2 and "-o" in err


def test_retracted_studies_leave_the_counts(review):
    from review_corpus import CORPUS

    from synth.retractions import from_pub_types

    project, ids = review
    rec = CORPUS["forum"][0]
    with project.store() as store:  # the same study seen again, now flagged by its source
        store.upsert(type(rec)(**{**rec.to_dict(), "pub_types": ["Journal Article", "Retracted Publication"],
                                  "retractions": from_pub_types(["Retracted Publication"])}))
    t = build_tables(project)
    soc = next(r for r in t.rows if r["mechanism"] == "social_connection")
    assert soc["studies"] == 1 and ids["forum"] not in soc["study_ids"]
    assert t.left_out["retracted"] == 1
    # listed apart, with the retraction, so a reviewer sees why it is gone
    assert [c["id"] for c in t.retracted] == [ids["forum"]] and t.retracted[0]["retraction"].startswith("RETRACTED")
    md = run(project, "table", "--format", "md")[1]
    assert "1 retracted" in md and "## Retracted studies (left out of every count)" in md


def test_a_sheet_too_long_for_excel_is_refused_and_the_old_file_kept(review, monkeypatch):
    from synth import tables

    project, _ = review
    path = project.root / "review.xlsx"
    path.write_bytes(b"the reviewer's earlier sheet, with decisions")
    monkeypatch.setattr(tables, "EXCEL_ROWS", 3)  # Excel's real limit is 1,048,576 rows
    code, _, err = run(project, "table", "-o", str(path))
    assert code == 2 and "more than Excel's" in err and "-o review.csv" in err and "Traceback" not in err
    assert path.read_bytes() == b"the reviewer's earlier sheet, with decisions"
    assert [p.name for p in project.root.iterdir() if ".tmp" in p.name] == []


def test_if_then_because_names_settings_once():
    from synth.mechanisms.cmoc import statement
    from synth.mechanisms.theory import load_theory

    t = load_theory(None)
    line = statement(t, "hope_role_modelling", "help_seeking", "improved", ["clinical_service", "community", "adolescents"])
    assert line.startswith("In clinical mental health service and community settings, for adolescents, when peer support")
    assert "setting settings" not in line
