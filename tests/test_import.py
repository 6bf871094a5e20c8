"""`synth import`: own fixtures (CSV, TSV, UTF-16, Latin-1, malformed entries), the CLI's
exit codes and summaries, quarantine with file:line, and de-duplication with harvested records."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from synth.cli import cli
from synth.importers import ImportFileError, import_files, read_bytes, read_file
from synth.records import Record
from synth.store import Outcome, Store

DATA = Path(__file__).parent / "data" / "imports"


def run(project, *args):
    return CliRunner().invoke(cli, ["--project", str(project.root), *args], catch_exceptions=False)


def quarantine_rows(store):
    return [dict(r) for r in store.conn.execute("SELECT source, location, reason FROM quarantine ORDER BY id")]


# ----------------------------------------------------------------------------- parsing own fixtures
def test_malformed_ris_reports_each_bad_entry_at_its_line():
    path = DATA / "peer_support_malformed.ris"
    result = read_file(path)
    assert [r.title for r in result.records] == [
        "Peer mentoring and hope among young people leaving care: a qualitative study",
        "School-based peer support groups for adolescent anxiety: a cluster randomised trial",
        "Online peer support for young people with psychosis: a feasibility study",
    ]
    assert [(p.location.rsplit(":", 1)[1], p.reason) for p in result.problems] == [
        ("15", "entry has no ER end tag (the next entry starts at line 21)"),
        ("29", "entry has no TY start tag"),
        ("33", "invalid entry: missing title"),
        ("48", "entry is not closed by ER (file truncated?)"),
    ]
    assert all(p.location.startswith(str(path)) and p.raw for p in result.problems)
    assert result.entries == 7
    first = result.records[0]
    # wrapped AB lines joined; inline section labels put one a line
    assert first.abstract.split("\n") == [
        "BACKGROUND: Care leavers face high rates of depression.",
        "METHODS: We interviewed 24 young people mentored by peers with care experience.",
        "RESULTS: Shared lived experience built trust and hope.",
        "CONCLUSIONS: Peer mentoring is valued.",
    ]
    assert result.records[1].abstract.startswith("Adolescents in 12 schools")  # N2 abstract
    psyc = result.records[2]
    assert (psyc.database, psyc.source_id) == ("APA PsycInfo", "APA PsycInfo:AN:PSYC-2023-0042")
    assert first.database == ""  # one entry's DB tag is not the whole file's


def test_malformed_nbib_and_bibtex_keep_the_good_entries():
    nb = read_file(DATA / "peer_support_malformed.nbib")
    assert [r.pmid for r in nb.records] == ["39000001", "39000003"]
    assert [p.location.rsplit(":", 1)[1] for p in nb.problems] == ["19"]
    assert nb.records[0].title == "Peer navigators for youth mental health services: a mixed-methods evaluation."
    assert nb.records[0].doi == "10.5555/nav.2022.7" and nb.records[0].mesh == ["Adolescent", "Peer Group"]

    bib = read_file(DATA / "peer_support_malformed.bib")
    assert [r.source_id for r in bib.records] == ["doi:10.5555/peer.2021.001", "pmid:39000004"]
    assert [p.location.rsplit(":", 1)[1] for p in bib.problems] == ["11"]
    rec = bib.records[0]
    assert rec.title == "Peer mentoring and Hope: 50% of care leavers & their mentors"  # `%` is not a comment
    assert rec.authors == ["Okafor, Amara", "Müller, Jörg"]
    assert rec.abstract.startswith("Half of the young people (50% of 24) reported more hope")
    assert "[1]" in rec.abstract


def test_scopus_style_csv_maps_columns_and_quarantines_untitled_row():
    result = read_file(DATA / "scopus_style.csv")
    assert result.format == "csv"
    a, b = result.records
    assert a.title.startswith("Peer mentoring and hope") and a.doi == "10.5555/peer.2021.001"
    assert a.authors == ["Okafor, Amara", "Lindqvist, Erik"]  # full names preferred over initials
    assert a.abstract == "Care leavers face high rates of depression. We interviewed 24 young people mentored by peers."
    assert a.keywords == ["peer mentoring", "care leavers"] and a.journal == "Children and Youth Services Review"
    assert (a.database, a.source_id) == ("Scopus", "Scopus:EID:2-s2.0-85100000001")
    assert b.pmid == "39000004" and b.year == 2022
    # the quoted abstract spans lines 2-3, so the untitled row starts on line 5
    assert [(p.location.rsplit(":", 1)[1], p.reason) for p in result.problems] == [("5", "invalid entry: missing title")]


def test_covidence_style_tsv():
    (rec,) = read_file(DATA / "covidence_style.tsv").records
    assert rec.title == "Digital peer support for university students: a pilot"
    assert rec.authors == ["Smith J", "Jones K"] and rec.year == 2020 and rec.doi == "10.5555/dig.2020.9"


@pytest.mark.parametrize("name,encoding", [("utf16_bom.ris", "utf-16"), ("latin1.ris", "cp1252")])
def test_encodings(name, encoding):
    result = read_file(DATA / name)
    (rec,) = result.records
    assert result.encoding == encoding
    assert rec.title == "Soutien par les pairs pour les jeunes : une étude à Montréal"
    assert rec.authors == ["Bélanger, Étienne", "Müller, Jörg"]


def test_utf16_without_bom_and_utf8_bom():
    text = (DATA / "latin1.ris").read_bytes().decode("latin-1")
    assert read_bytes(text.encode("utf-16-le"), name="x").records[0].title.endswith("Montréal")
    assert read_bytes(text.encode("utf-16-be"), name="x").records[0].title.endswith("Montréal")
    r = read_bytes(b"\xef\xbb\xbf" + text.encode("utf-8"), name="x")
    assert r.encoding == "utf-8-sig" and r.records[0].title.startswith("Soutien")


def test_format_detected_from_content_not_extension(tmp_path):
    for src, fmt in (("peer_support_malformed.ris", "ris"), ("peer_support_malformed.nbib", "nbib"),
                     ("peer_support_malformed.bib", "bibtex"), ("scopus_style.csv", "csv")):
        disguised = tmp_path / f"{fmt}_export.txt"
        shutil.copy(DATA / src, disguised)
        assert read_file(disguised).format == fmt


@pytest.mark.parametrize("data,fmt,needle", [
    (b"", "auto", "empty"),
    (b"\n\n  \n", "ris", "empty"),
    (b"\x89PNG\r\n\x1a\n" + bytes(range(256)), "auto", "PNG"),
    (bytes(range(256)) * 8, "auto", "binary"),
    (b"PK\x03\x04rest-of-an-xlsx", "csv", "ZIP"),
    (b"just some prose that is no export\n", "auto", "unrecognised"),
    (b"@article{k, title={A}, year={2020}}\n", "ris", "looks like BibTeX"),
    (b"TY  - JOUR\nTI  - A\nER  - \n", "bibtex", "looks like RIS"),
    (b"TY  - JOUR\nTI  - A\nER  - \n", "nbib", "no MEDLINE records"),
    (b"Name,Size\nfoo,3\n", "csv", "no title column"),
])
def test_whole_file_errors_are_one_clear_line(data, fmt, needle):
    with pytest.raises(ImportFileError) as err:
        read_bytes(data, fmt, "bad.file")
    msg = err.value.format_message()
    assert needle in msg and msg.startswith("bad.file") and "\n" not in msg


# ----------------------------------------------------------------------------- CLI
def test_cli_imports_and_quarantines_with_file_and_line(project):
    path = DATA / "peer_support_malformed.ris"
    res = run(project, "import", str(path), "--database", "APA PsycInfo", "--json")
    assert res.exit_code == 0, res.output
    (row,) = [json.loads(line) for line in res.stdout.splitlines()]
    assert {k: row[k] for k in ("format", "database", "read", "new", "merged", "quarantined")} == {
        "format": "ris", "database": "APA PsycInfo", "read": 7, "new": 3, "merged": 0, "quarantined": 4}
    store = project.store()
    assert store.count() == 3
    locs = [(q["source"], q["location"]) for q in quarantine_rows(store)]
    assert locs == [("import", f"{path}:{n}") for n in (15, 29, 33, 48)]
    rec = store.get("10.5555/peer.2021.001")
    assert store.provenance(rec["id"])[0]["database"] == "APA PsycInfo"
    run_row = store.conn.execute("SELECT kind, status, summary FROM runs").fetchone()
    assert (run_row["kind"], run_row["status"]) == ("import", "ok")
    assert json.loads(run_row["summary"])["total"]["new"] == 3


def test_cli_table_summary_and_reimport_is_unchanged(project):
    files = [str(DATA / "peer_support_malformed.nbib"), str(DATA / "scopus_style.csv")]
    first = run(project, "import", *files)
    assert first.exit_code == 0
    assert "Import summary" in first.stdout and "peer_support_malformed.nbib" in first.stdout
    assert "quarantined" in first.stderr and "peer_support_malformed.nbib:19" in first.stderr
    again = run(project, "import", *files, "--json")
    rows = [json.loads(x) for x in again.stdout.splitlines()]
    assert [(r["new"], r["unchanged"], r["updated"]) for r in rows] == [(0, 2, 0), (0, 2, 0)]


@pytest.mark.parametrize("make,args", [
    (lambda p: p.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + os.urandom(64)), []),
    (lambda p: p.write_bytes(b""), []),
    (lambda p: p.write_bytes(os.urandom(4096)), []),
    (lambda p: shutil.copy(DATA / "peer_support_malformed.bib", p), ["--format", "ris"]),
])
def test_cli_bad_file_exits_2_and_touches_nothing(project, tmp_path, make, args):
    store = project.store()
    store.upsert(Record(title="Peer support for youth: an existing record", pmid="111", source="pubmed", source_id="111"))
    before = store.conn.execute("SELECT COUNT(*) FROM provenance").fetchone()[0]
    bad = tmp_path / "bad.ris"
    make(bad)
    # a good file first: it must not be stored either, since every file is checked before writing
    res = run(project, "import", str(DATA / "latin1.ris"), str(bad), *args)
    assert res.exit_code == 2
    err_lines = [ln for ln in res.stderr.splitlines() if ln.strip()]
    assert len(err_lines) == 1 and err_lines[0].startswith("Error: ") and str(bad) in err_lines[0]
    assert store.count() == 1
    assert store.conn.execute("SELECT COUNT(*) FROM provenance").fetchone()[0] == before
    assert store.conn.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 0
    assert quarantine_rows(store) == []


def test_console_script_error_has_no_traceback(project, tmp_path):
    png = tmp_path / "figure.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    # what the `synth` console script runs: synth.cli:main
    cmd = [sys.executable, "-c", "from synth.cli import main; main()", "--project", str(project.root), "import", str(png)]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"Error: {png}: this is a PNG image, not a bibliographic export"
    assert "Traceback" not in proc.stdout + proc.stderr


# ----------------------------------------------------------------------------- de-duplication with harvesting
def test_import_merges_with_harvested_pubmed_record(tmp_path):
    store = Store(tmp_path / "s.db")
    outcome, rid = store.upsert(Record(source="pubmed", source_id="39000001", pmid="39000001",
                                       title="Peer navigators for youth mental health services: a mixed-methods evaluation",
                                       abstract="From PubMed.", year=2022))
    assert outcome == Outcome.NEW
    summary = import_files(store, [DATA / "peer_support_malformed.nbib"])
    assert summary["files"][0]["merged"] == 1 and summary["files"][0]["new"] == 1
    prov = store.provenance(rid)
    assert sorted((p["source"], p["source_id"], p["database"]) for p in prov) == [
        ("import", "PubMed:pmid:39000001", "PubMed"), ("pubmed", "39000001", "")]
    rec = store.get(rid)
    assert rec["abstract"] == "From PubMed."  # harvested PubMed outranks an import
    assert rec["doi"] == "10.5555/nav.2022.7"  # ...and the import adds what PubMed lacked
    assert store.count() == 2


def test_same_study_from_two_databases_is_one_record_with_both_provenances(tmp_path):
    store = Store(tmp_path / "s.db")
    store.upsert(Record(source="crossref", source_id="10.5555/peer.2021.001", doi="10.5555/peer.2021.001",
                        title="Peer mentoring and hope among young people leaving care: a qualitative study", year=2021))
    import_files(store, [DATA / "scopus_style.csv"])
    import_files(store, [DATA / "peer_support_malformed.ris"], database="APA PsycInfo")
    rec = store.get("10.5555/peer.2021.001")
    assert sorted((p["source"], p["database"]) for p in store.provenance(rec["id"])) == [
        ("crossref", ""), ("import", "APA PsycInfo"), ("import", "Scopus")]
    # Scopus's row (PMID only) and the RIS entry (DOI only) share title and year, no conflicting id: merged
    school = store.get("39000004")
    assert school["doi"] == "10.5555/peer.2022.003"
    assert sorted(p["database"] for p in store.provenance(school["id"])) == ["APA PsycInfo", "Scopus"]
    assert store.count() == 3


def test_jsonl_export_round_trip_loses_nothing(project, tmp_path):
    from synth.project import init_project

    assert run(project, "import", str(DATA / "peer_support_malformed.nbib"), str(DATA / "scopus_style.csv"),
               str(DATA / "utf16_bom.ris")).exit_code == 0
    store = project.store()
    store.upsert(Record(source="pubmed", source_id="39000003", pmid="39000003",
                        title="Lived experience peer workers in child and adolescent mental health services.", year=2021))
    out = tmp_path / "export.jsonl"
    assert run(project, "export", "--format", "jsonl", "-o", str(out)).exit_code == 0
    other = init_project(tmp_path / "other")
    res = run(other, "import", str(out), "--json")
    assert res.exit_code == 0, res.output
    row = json.loads(res.stdout)
    assert (row["format"], row["read"], row["new"], row["quarantined"]) == ("jsonl", store.count(), store.count(), 0)

    def snapshot(s):
        keys = ("doi", "pmid", "pmcid", "title", "abstract", "authors", "year", "journal", "keywords", "mesh", "content_hash")
        rows = [{k: r[k] for k in keys} | {"prov": sorted((p["source"], p["source_id"], p["database"]) for p in s.provenance(r["id"]))}
                for r in s.iter_records()]
        return sorted(rows, key=lambda d: d["title"])

    assert snapshot(other.store()) == snapshot(store)


def test_wos_tab_delimited_export():
    result = read_file(DATA / "wos_tab_delimited.txt")
    assert (result.format, result.encoding, result.lines) == ("csv", "utf-8-sig", [2, 3])
    a, b = result.records
    assert (a.source_id, a.database) == ("WOS:000900000000001", "Web of Science")
    assert a.authors == ["Okafor, Amara", "Lindqvist, Erik"] and a.keywords == ["peer mentoring", "care leavers"]
    assert (b.pmid, b.doi, b.year) == ("39000001", None, 2022)


def test_excel_sep_hint_and_windows_1252():
    result = read_file(DATA / "excel_sep_semicolon.csv")
    (rec,) = result.records
    assert result.encoding == "cp1252" and result.lines == [3]
    assert rec.title == "Groupes de pairs à l’école" and rec.abstract == "Des élèves « pairs aidants »"


def test_utf8_with_a_stray_byte_stays_utf8_and_ebsco_codes_are_named():
    data = "TY  - JOUR\nTI  - Café peer groups — naïve\nDB  - psyh\nAN  - 2019-1\nER  - \n".encode()
    result = read_bytes(data.replace(b"groups", b"gr\xffoups"), name="x.ris")
    (rec,) = result.records
    assert result.encoding.startswith("utf-8") and rec.title.startswith("Café") and rec.title.endswith("naïve")
    assert (rec.database, rec.source_id) == ("APA PsycInfo", "APA PsycInfo:AN:2019-1")


def test_a_jsonl_line_with_an_unknown_source_is_imported_not_stored_under_that_source():
    """A garbled provenance name ("ubmed") must not become a source of its own (found by the fuzz test)."""
    from synth.importers import read_bytes

    line = b'{"id": "s1", "title": "Peer support", "doi": "10.5555/x", "sources": [{"source": "ubmed", "source_id": "1"}]}\n'
    result = read_bytes(line, "jsonl", "export.jsonl")
    assert [r.source for r in result.records] == ["import"]
    assert result.records[0].doi == "10.5555/x"


def test_status_counts_the_records_an_import_added(project, tmp_path):
    ris = tmp_path / "two.ris"
    ris.write_text("TY  - JOUR\nTI  - Peer mentoring for anxious teenagers\nDO  - 10.7777/st.1\nER  - \n"
                   "TY  - JOUR\nTI  - Student peer supporters and help-seeking\nDO  - 10.7777/st.2\nER  - \n", encoding="utf-8")
    assert run(project, "import", str(ris)).exit_code == 0
    assert run(project, "import", str(ris)).exit_code == 0  # the same file again: nothing new
    runs = json.loads(run(project, "status", "--json").stdout)["runs"]
    assert [(r["kind"], r["new"]) for r in runs] == [("import", 0), ("import", 2)]
