"""No import loses or corrupts a study (issue 14): one test group per data-loss class.

Every file here is written by the test itself. The rule behind them: a later, poorer
observation never overwrites a richer one; an entry that cannot be read whole is
quarantined with file:line; only global identifiers are global.
"""

import json

import pytest
from click.testing import CliRunner

from synth.cli import cli
from synth.importers import import_files, read_bytes, store_results
from synth.records import Record
from synth.store import Outcome, Store


def run(project, *args):
    return CliRunner().invoke(cli, ["--project", str(project.root), *args], catch_exceptions=False)


def write(tmp_path, name, data):
    path = tmp_path / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data if isinstance(data, bytes) else data.encode())
    return path


def medline(pmid, title, abstract, authors, so=True):
    lines = [f"PMID- {pmid}", "OWN - NLM", "DP  - 2021 Mar", f"TI  - {title}", f"AB  - {abstract}"]
    lines += [f"FAU - {a}" for a in authors] + ["JT  - Journal of Youth Mental Health"]
    lines += ["SO  - J Youth Ment Health. 2021 Mar;3(1):1-9."] if so else []
    return "\n".join(lines) + "\n"


ABSTRACT = ("BACKGROUND: Young people often disengage from services. METHODS: Peer navigators with lived "
            "experience supported 120 youths. RESULTS: Engagement rose. CONCLUSIONS: Peer navigation helps.")
FULL_NBIB = (medline(39100001, "Peer navigators for youth mental health services: an evaluation", ABSTRACT,
                     ["Mbeki, Thandiwe", "Okafor, Amara", "Lindqvist, Erik"]) + "\n"
             + medline(39100002, "Hope and role modelling among young care leavers", "Mentors model hope.",
                       ["Singh, Priya"]))


# ----------------------------------------------------------------------------- 1. truncated exports
def test_medline_file_cut_inside_an_abstract_is_quarantined_and_the_good_record_kept(tmp_path):
    store = Store(tmp_path / "s.db")
    import_files(store, [write(tmp_path, "full.nbib", FULL_NBIB)])
    good = store.get("39100001")
    cut = FULL_NBIB[:FULL_NBIB.index("Engagement")]  # inside the first record's abstract
    summary = import_files(store, [write(tmp_path, "cut.nbib", cut)])
    assert summary["total"] == {"read": 1, "new": 0, "merged": 0, "updated": 0, "unchanged": 0, "quarantined": 1}
    assert summary["files"][0]["problems"][0]["location"].endswith("cut.nbib:1")
    assert "cut short" in summary["files"][0]["problems"][0]["reason"]
    assert store.get("39100001") == good
    assert store.conn.execute("SELECT location FROM quarantine").fetchone()[0].endswith("cut.nbib:1")


def test_last_medline_record_of_a_file_ending_mid_line_is_quarantined():
    text = medline(1, "Peer support for youth: a trial", "An abstract cut", ["Okafor, Amara"], so=False).rstrip("\n")
    result = read_bytes(text.encode(), name="one.nbib")
    assert not result.records and "cut short" in result.problems[0].reason


def test_a_later_poorer_observation_never_overwrites_a_richer_one(tmp_path):
    store = Store(tmp_path / "s.db")
    rich = Record(title="Peer navigators for youth mental health services", abstract=ABSTRACT, pmid="39100001",
                  doi="10.5555/nav.1", authors=["Mbeki, Thandiwe", "Okafor, Amara", "Lindqvist, Erik"],
                  year=2021, journal="Journal of Youth Mental Health", source="import", source_id="PubMed:pmid:39100001")
    outcome, rid = store.upsert(rich)
    poor = Record(title=rich.title, abstract=ABSTRACT[:60] + "...", pmid="39100001", authors=["Mbeki, Thandiwe"],
                  year=2021, source="import", source_id="PubMed:pmid:39100001")
    assert store.upsert(poor) == (Outcome.UNCHANGED, rid)
    rec = store.get(rid)
    assert (rec["abstract"], rec["doi"], rec["journal"]) == (ABSTRACT, "10.5555/nav.1", "Journal of Youth Mental Health")
    assert len(rec["authors"]) == 3
    # A real correction is still an update.
    fixed = Record(**{**rich.to_dict(), "title": "Peer navigators for youth mental health services: a mixed-methods evaluation"})
    assert store.upsert(fixed)[0] == Outcome.UPDATED


def test_complete_text_from_another_source_beats_a_truncated_one(tmp_path):
    store = Store(tmp_path / "s.db")
    _, rid = store.upsert(Record(title="Peer navigators for youth mental health services", pmid="39100001",
                                 abstract="Young people often disengage from services. Peer navi…",
                                 authors=["Mbeki T", "et al."], source="pubmed", source_id="39100001"))
    store.upsert(Record(title="Peer navigators for youth mental health services", pmid="39100001",
                        abstract="Young people often disengage from services. Peer navigators helped 120 youths.",
                        authors=["Mbeki, Thandiwe", "Okafor, Amara"], source="import", source_id="Scopus:pmid:39100001",
                        database="Scopus"))
    rec = store.get(rid)
    assert rec["abstract"].endswith("helped 120 youths.") and rec["authors"] == ["Mbeki, Thandiwe", "Okafor, Amara"]
    assert len(store.provenance(rid)) == 2  # each source's own values stay in its provenance row


@pytest.mark.parametrize("second_database", ["CINAHL", ""])
def test_accents_and_full_journal_names_survive_a_poorer_export(tmp_path, second_database):
    """The same study from a second export with the accents stripped, one author fewer and the journal
    abbreviated (another database, or the same export again): the stored record keeps the richer values."""
    store = Store(tmp_path / "s.db")
    first = "PsycINFO" if second_database else ""
    rich = Record(title="Peer mentoring for anxious teenagers: a pilot", doi="10.7777/qa.2024.001", year=2024,
                  authors=["Nørgaard, Søren", "O'Neill, Aoife"], journal="Nordic Journal of Psychiatry", source="import",
                  database=first, source_id=f"{first}:doi:10.7777/qa.2024.001".lstrip(":"))
    _, rid = store.upsert(rich)
    for authors in (["Norgaard, Soren"], ["Norgaard, Soren", "O'Neill, A"]):
        poor = Record(title=rich.title, doi=rich.doi, year=2024, authors=authors, journal="Nord J Psychiatry", source="import",
                      database=second_database, source_id=f"{second_database}:doi:10.7777/qa.2024.001".lstrip(":"))
        assert store.upsert(poor)[1] == rid
        rec = store.get(rid)
        assert rec["authors"] == ["Nørgaard, Søren", "O'Neill, Aoife"] and rec["journal"] == "Nordic Journal of Psychiatry"


def test_family_names_fold_letters_without_a_decomposition():
    from synth.dedupe import family_name

    assert family_name("Nørgaard, Søren") == family_name("Norgaard, S") == "norgaard"
    assert family_name("Łukasz Wałęsa") == "walesa" and family_name("Sæther, Ida") == "saether"


@pytest.mark.parametrize("tail", ['Digital peer support for teens,"An abstract cut', "Digital peer support for teens"])
def test_csv_row_cut_short_is_quarantined(tail):
    text = "Title,Abstract,Year,DOI\nPeer navigators in youth services,Navigators helped.,2020,10.5555/a\n" + tail
    result = read_bytes(text.encode(), name="cut.csv")
    assert [r.doi for r in result.records] == ["10.5555/a"]
    assert result.problems[0].location == "cut.csv:3" and "cut short" in result.problems[0].reason


# ----------------------------------------------------------------------------- 2. local CSV ids
def test_csv_row_numbers_are_not_global_ids(tmp_path):
    a = write(tmp_path, "a/export.csv", "id,Title,Year\n1,Peer navigators in youth services,2020\n"
                                        "2,Hope and role models among care leavers,2021\n")
    b = write(tmp_path, "b/export.csv", "ID,Title,Year\n1,Digital peer support for anxious teenagers,2020\n"
                                        "2,Family peer advocates in child mental health,2022\n"
                                        "1,Online forums as peer support for young people,2022\n")
    store = Store(tmp_path / "s.db")
    assert import_files(store, [a, b])["total"]["new"] == 5
    assert store.count() == 5
    again = import_files(store, [a, b])["total"]
    assert (again["unchanged"], store.count()) == (5, 5)
    ids = [p["source_id"] for r in store.iter_records() for p in store.provenance(r["id"])]
    assert not any(i.startswith("AN:") for i in ids)


@pytest.mark.parametrize("column", ["key", "record_id", "Covidence #", "refid"])
def test_screening_tool_keys_stay_local_even_with_a_database_named(column):
    text = f"{column},Title,Year\n7,Peer navigators in youth services,2020\n"
    rec = read_bytes(text.encode(), name="x.csv", database="PsycINFO").records[0]
    assert rec.source_id == "PsycINFO:x.csv#1"


def test_a_database_accession_is_global_only_with_its_database_named():
    named = read_bytes(b"Accession Number,Database,Title\n2019-1,PsycINFO,Peer navigators in youth services\n", name="x.csv")
    bare = read_bytes(b"Accession Number,Title\n2019-1,Peer navigators in youth services\n", name="x.csv")
    assert (named.records[0].source_id, bare.records[0].source_id) == ("PsycINFO:AN:2019-1", "x.csv#1")


def test_a_local_id_reused_by_another_study_gets_its_own_provenance_row(tmp_path):
    store = Store(tmp_path / "s.db")
    store.upsert(Record(title="Peer navigators in youth services", source="import", source_id="refs.ris#1"))
    outcome, _ = store.upsert(Record(title="Family peer advocates in child mental health", source="import",
                                     source_id="refs.ris#1"))
    assert outcome == Outcome.NEW and store.count() == 2
    assert sorted(r[0] for r in store.conn.execute("SELECT source_id FROM provenance")) == ["refs.ris#1", "refs.ris#1~2"]


# ----------------------------------------------------------------------------- 3. recurring titles
def ris_entry(title, authors, volume, issue, pages, year=2019, doi=None):
    lines = ["TY  - JOUR", f"TI  - {title}"] + [f"AU  - {a}" for a in authors]
    lines += [f"PY  - {year}", "JO  - Journal of Youth Services", f"VL  - {volume}", f"IS  - {issue}", f"SP  - {pages}"]
    lines += [f"DO  - {doi}"] if doi else []
    return "\n".join(lines + ["ER  - ", ""])


def test_recurring_titles_by_different_authors_or_issues_stay_apart(tmp_path):
    entries = [ris_entry("Message from the Chairman", [a], 12, i, p)
               for a, i, p in (("Tanaka, Hiroshi", 1, 1), ("Tanaka, Hiroshi", 2, 101), ("Suzuki, Ken", 3, 201),
                               ("Moreau, Claire", 4, 301))]
    entries.append(ris_entry("Message from the Chairman", [], 13, 1, 1))  # no authors: the volume differs
    store = Store(tmp_path / "s.db")
    summary = import_files(store, [write(tmp_path, "bibliography.ris", "\n".join(entries))])
    assert summary["total"]["new"] == 5 and store.count() == 5


def test_the_same_study_from_two_exports_still_merges(tmp_path):
    one = ris_entry("Peer support for young people with psychosis: a feasibility study", ["Okafor, Amara", "Singh, P"],
                    7, 2, "45-52", doi="10.5555/psy.7")
    two = ("TY  - JOUR\nTI  - Peer support for young people with psychosis: a feasibility study.\nAU  - Okafor A\n"
           "PY  - 2019\nVL  - 7\nSP  - 45\nDB  - psyh\nER  - \n")
    store = Store(tmp_path / "s.db")
    summary = import_files(store, [write(tmp_path, "scopus.ris", one), write(tmp_path, "psycinfo.ris", two)])
    assert (summary["total"]["new"], summary["total"]["merged"], store.count()) == (1, 1, 1)


# ----------------------------------------------------------------------------- 4. LaTeX keeps text
@pytest.mark.parametrize("latex,text", [
    (r"Anxiety fell (p {\textless} 0.05) and hope rose (p {\textgreater} 0.5)", "Anxiety fell (p < 0.05) and hope rose (p > 0.5)"),
    (r"Typeset with {\TeX} by \mbox{Jos\'e} and \LaTeX users", "Typeset with TeX by José and LaTeX users"),
    (r"A \unknownstyle{peer-led} group, 50% retained", "A peer-led group, 50% retained"),
    (r"Effect $\beta = 0.4$ in \emph{youth}", "Effect β = 0.4 in youth"),
])
def test_bibtex_latex_keeps_the_text(latex, text):
    bib = "@article{k, title = {Peer support}, abstract = {" + latex + "}, year = 2020, doi = {10.5555/x}}\n"
    assert read_bytes(bib.encode(), name="x.bib").records[0].abstract == text


# ----------------------------------------------------------------------------- 5. @string and #
def test_bibtex_strings_and_concatenation_are_resolved():
    bib = r"""@string{stoc = "STOC"}
@string{proc = "Proc. Fifteenth Annual " # stoc}
@inproceedings{a, title = "Peer support " # "in schools", booktitle = proc, journal = "Proc. Fifteenth Annual" # stoc,
  month = jan, year = 1983, doi = {10.5555/a}}
@article{a, title = {Peer mentoring } # stoc, journal = proc, year = 1984, doi = {10.5555/b}}
"""
    recs = read_bytes(bib.encode(), name="x.bib").records
    assert [(r.title, r.journal) for r in recs] == [
        ("Peer support in schools", "Proc. Fifteenth Annual STOC"),
        ("Peer mentoring STOC", "Proc. Fifteenth Annual STOC"),  # a duplicate key, resolved too
    ]


# ----------------------------------------------------------------------------- 6. NUL bytes
@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
def test_nul_bytes_are_removed_anywhere(tmp_path, project, bom):
    pad = "".join(f"TY  - JOUR\nTI  - Padding entry number {i} about peer support\nDO  - 10.5555/p{i}\nER  - \n"
                  for i in range(60))
    data = bom + pad.encode() + b"TY  - JOUR\nTI  - Peer\x00 support\x00 for youth\nDO  - 10.5555/nul\nER  - \n\x00\x00"
    assert len(bom + pad.encode()) > 4096
    result = read_bytes(data, name="nul.ris")
    assert result.records[-1].title == "Peer support for youth"
    assert any("NUL" in w for w in result.warnings)
    path = write(tmp_path, "nul.ris", data)
    assert run(project, "import", str(path)).exit_code == 0
    out = tmp_path / "out.jsonl"
    assert run(project, "export", "--format", "jsonl", "-o", str(out)).exit_code == 0
    assert "\x00" not in out.read_text() and "\\u0000" not in out.read_text()


# ----------------------------------------------------------------------------- 7. non-UTF-8 files
GBK_RIS = ("TY  - JOUR\nAU  - 王小明\nAU  - 李华\nTI  - 青少年同伴支持的心理健康干预研究\nJO  - 中国心理卫生杂志\n"
           "PY  - 2020\nDO  - 10.5555/gbk\nER  - \n")


def test_gbk_file_is_detected_and_warned_about(tmp_path, project):
    result = read_bytes(GBK_RIS.encode("gbk"), name="cnki.ris")
    rec = result.records[0]
    assert (rec.authors, rec.journal) == (["王小明", "李华"], "中国心理卫生杂志")
    assert result.encoding in ("gb18030", "gbk", "gb2312")
    res = run(project, "import", str(write(tmp_path, "cnki.ris", GBK_RIS.encode("gbk"))))
    warnings = [ln for ln in res.stderr.splitlines() if ln.startswith("warning:")]
    assert res.exit_code == 0 and len(warnings) == 1 and "not UTF-8" in warnings[0]


def test_western_windows_1252_still_reads_as_cp1252_with_a_warning():
    text = "TY  - JOUR\nAU  - Müller, Jürgen\nTI  - Peer support – a “qualitative” study of naïve café users\nER  - \n"
    result = read_bytes(text.encode("cp1252"), name="w.ris")
    assert result.encoding == "cp1252" and result.records[0].authors == ["Müller, Jürgen"]
    assert len(result.warnings) == 1
    assert read_bytes(text.encode(), name="u.ris").warnings == []  # UTF-8: no warning


# ----------------------------------------------------------------------------- 8. common layouts
EMBASE_CSV = (
    'Title,Author Names,Source,Abstract,Open URL Link,Embase Link\n'
    '"Peer mentors for young people with psychosis","Smith J., Jones K.L.",'
    '"Journal of Adolescent Health (2019) 64:2 (S12-S13). Date of Publication: 1 Feb 2019","Mentors helped.",'
    '"http://sfx.example.edu/sfx?sid=EMBASE&id=doi:10.1016%2Fj.jadohealth.2018.10.001&atitle=Peer+mentors'
    '&title=Journal+of+Adolescent+Health&volume=64&issue=2&spage=S12&epage=S13&date=2019",'
    '"https://www.embase.com/search/results?subaction=viewrecord&id=L2001234567&from=export"\n')


def test_embase_csv_keeps_authors_year_journal_and_doi():
    rec = read_bytes(EMBASE_CSV.encode(), name="embase.csv").records[0]
    assert (rec.authors, rec.year, rec.journal, rec.doi) == (
        ["Smith J.", "Jones K.L."], 2019, "Journal of Adolescent Health", "10.1016/j.jadohealth.2018.10.001")
    assert (rec.volume, rec.issue, rec.pages, rec.database, rec.source_id) == (
        "64", "2", "S12-S13", "Embase", "Embase:AN:L2001234567")


def test_embase_open_url_fills_what_the_source_column_lacks():
    csv_text = ('Title,Source,Open URL Link\n"Peer mentors","Adolescent Health",'
                '"http://x.example/?sid=EMBASE:embase&id=pmid:31000001&id=doi:10.5555/e&date=2018&volume=3"\n')
    rec = read_bytes(csv_text.encode(), name="e.csv").records[0]
    assert (rec.pmid, rec.doi, rec.year, rec.journal, rec.volume) == ("31000001", "10.5555/e", 2018, "Adolescent Health", "3")


def test_endnote_ris_from_pubmed_keeps_the_pmid_and_merges_with_medline(tmp_path):
    ris = ("TY  - JOUR\nAU  - Mbeki, T.\nTI  - Peer navigators for youth mental health services: an evaluation\n"
           "PY  - 2021\nAN  - 39100001\nDP  - NLM\nER  - \n")
    rec = read_bytes(ris.encode(), name="endnote.ris").records[0]
    assert (rec.pmid, rec.database, rec.source_id) == ("39100001", "PubMed", "PubMed:pmid:39100001")
    store = Store(tmp_path / "s.db")
    import_files(store, [write(tmp_path, "full.nbib", FULL_NBIB), write(tmp_path, "endnote.ris", ris)])
    assert store.count() == 2 and store.get("39100001")["authors"][0] == "Mbeki, Thandiwe"


def test_noopsort_years_are_the_printed_year():
    bib = r"""@preamble{"\newcommand{\sortkey}[1]{}"}
@article{a, title = {Peer support A}, year = {{\noopsort{2011a}}2010}, doi = {10.5555/a}}
@article{b, title = {Peer support B}, year = {\sortkey{1999}2004}, doi = {10.5555/b}}
@article{c, title = {{\noopsort{b}}Peer support C}, year = 2001, doi = {10.5555/c}}
"""
    recs = read_bytes(bib.encode(), name="x.bib").records
    assert [(r.title, r.year) for r in recs] == [("Peer support A", 2010), ("Peer support B", 2004), ("Peer support C", 2001)]


# ----------------------------------------------------------------------------- nothing stored is lost
def test_bad_files_in_one_call_change_nothing(tmp_path, project):
    good = write(tmp_path, "full.nbib", FULL_NBIB)
    assert run(project, "import", str(good)).exit_code == 0
    store = project.store()
    before = [json.dumps(r, sort_keys=True) for r in store.iter_records()]
    store.close()
    for bad in (b"", b"\x89PNG\r\n\x1a\n", b"\x00\x01\x02\x03" * 400):
        res = run(project, "import", str(good), str(write(tmp_path, "bad.ris", bad)))
        assert res.exit_code == 2 and len(res.stderr.strip().splitlines()) == 1
    store = project.store()
    assert [json.dumps(r, sort_keys=True) for r in store.iter_records()] == before


def test_store_results_counts_quarantined_rows_once(tmp_path):
    store = Store(tmp_path / "s.db")
    result = read_bytes(b"Title,Year\nPeer navigators in youth services,2020\nCut", name="c.csv")
    summary = store_results(store, [("c.csv", result)])
    assert (summary["total"]["read"], summary["total"]["new"], summary["total"]["quarantined"]) == (2, 1, 1)
