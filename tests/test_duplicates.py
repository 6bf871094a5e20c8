"""De-duplication a user can trust (issue 14): hard non-duplicates stay apart, variants of one study
merge, pairs too close to call are listed and not merged, and a person's decision holds through
re-imports and `synth refresh`. Every file and record here is written by the test itself."""

from __future__ import annotations

import json
import sys

import pytest

from synth import dedupe
from synth.cli import main
from synth.importers import import_files
from synth.records import Record
from synth.store import Outcome, Store

TITLE = "Peer navigators for young people leaving psychiatric inpatient care: a randomised controlled trial"
AUTHORS = ["Okafor, Amara Ngozi", "Lindqvist, Erik", "Whitaker, Jennifer Lynn"]


def rec(**kw) -> Record:
    base = dict(title=TITLE, authors=list(AUTHORS), year=2021, journal="Journal of Adolescent Health",
                volume="68", issue="3", pages="512-519", source="import", database="Scopus")
    base.update(kw)
    base.setdefault("source_id", f"{base['database']}:{abs(hash((base['title'], base.get('pages'), base['database'])))}")
    return Record(**base)


def store_of(tmp_path, *records: Record) -> tuple[Store, list[tuple[str, str]]]:
    store = Store(tmp_path / "s.db")
    return store, [store.upsert(r) for r in records]


def ris(entries: list[dict]) -> str:
    out = []
    for e in entries:
        lines = ["TY  - " + e.get("ty", "JOUR"), f"TI  - {e['title']}"] + [f"AU  - {a}" for a in e.get("authors", [])]
        for tag, key in (("PY", "year"), ("JO", "journal"), ("VL", "volume"), ("IS", "issue"), ("SP", "sp"),
                         ("EP", "ep"), ("DO", "doi"), ("DB", "db"), ("AN", "an"), ("M3", "type")):
            if e.get(key):
                lines.append(f"{tag}  - {e[key]}")
        out.append("\n".join(lines + ["ER  - ", ""]))
    return "\n".join(out)


def write(tmp_path, name: str, text: str):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# ----------------------------------------------------------------------------- hard non-duplicates
HARD = {
    "protocol and its results paper": dict(
        title="Peer navigators for young people leaving psychiatric inpatient care: protocol for a randomised controlled trial",
        year=2020, volume="20", issue="", pages="771", journal="BMC Psychiatry"),
    "erratum on the study": dict(title="Erratum: " + TITLE, authors=[], volume="68", issue="5", pages="1001"),
    "correction to the study": dict(title="Correction to: " + TITLE, authors=[], volume="68", issue="6", pages="1203"),
    "comment on the study": dict(title="Comment on: " + TITLE, authors=["Brennan, Aisling"], volume="69", issue="1",
                                 pages="3-4", year=2021),
    "reply to the comment": dict(title="Reply to: Comment on " + TITLE, volume="69", issue="1", pages="5"),
    "conference abstract of the trial": dict(pub_types=["Conference Abstract"], journal="Journal of Adolescent Health",
                                             volume="66", issue="2 Suppl", pages="S45", year=2020),
    "same authors, another paper that year": dict(
        title="Peer navigators for young people leaving psychiatric inpatient care: a qualitative study of their work",
        volume="68", issue="4", pages="700-708"),
    "same journal issue, another team": dict(
        title="Peer navigators for young people leaving psychiatric inpatient care: a randomised trial in rural clinics",
        authors=["Nakamura, Kenji", "Haddad, Rania"], pages="520-528"),
}


@pytest.mark.parametrize("what", list(HARD))
def test_hard_non_duplicates_stay_apart(tmp_path, what):
    kw = {"database": "Embase", **HARD[what]}
    store, done = store_of(tmp_path, rec(), rec(**kw))
    assert [o for o, _ in done] == [Outcome.NEW, Outcome.NEW], what
    assert store.count() == 2
    from synth import duplicates

    assert duplicates.undecided(store) == [], what  # not even a question for a person


def test_recurring_titles_stay_apart_even_by_one_author():
    """The chair's column in every issue: same title, same author, same journal, different issue and pages."""
    views = [dedupe.view_of([dict(title="Message from the Chairman", authors=["Tanaka, Hiroshi"], year=2019,
                                  journal="Journal of Youth Services", volume="12", issue=str(i), pages=str(p))])
             for i, p in ((1, 1), (2, 101), (3, 201))]
    assert {dedupe.compare(a, b).decision for a in views for b in views if a is not b} == {dedupe.DISTINCT}


# ----------------------------------------------------------------------------- variants of one study
VARIANTS = {
    "PubMed: initials, abbreviated journal, page range written short": dict(
        source="pubmed", source_id="34000001", database="", pmid="34000001",
        authors=["Okafor AN", "Lindqvist E", "Whitaker JL"], journal="J Adolesc Health", pages="512-9"),
    "PsycINFO: title case, full stop, no pages": dict(
        database="APA PsycInfo", title=TITLE.title() + ".", pages="", issue=""),
    "Web of Science: capitals, first page only": dict(
        database="Web of Science", title=TITLE.upper(), authors=["OKAFOR, AN", "LINDQVIST, E", "WHITAKER, JL"],
        journal="JOURNAL OF ADOLESCENT HEALTH", pages="512"),
    "CINAHL: subtitle dropped, online a year earlier": dict(
        database="CINAHL", title="Peer navigators for young people leaving psychiatric inpatient care", year=2020,
        volume="", issue="", pages=""),
    "Embase: British spelling and a typo": dict(
        database="Embase", title=TITLE.replace("randomised", "randomized").replace("inpatient", "inpatinet")),
    "OpenAlex: accents folded, et al.": dict(
        source="openalex", source_id="W4200000001", database="", openalex="W4200000001",
        authors=["Amara N. Okafor", "Erik Lindqvist", "et al."], volume="", issue="", pages=""),
    "Ovid MEDLINE, translated title in brackets": dict(
        database="Ovid MEDLINE", title=f"[{TITLE}].",
        authors=["Okafor AN", "Lindqvist E"], journal="J Adolesc Health"),
}


@pytest.mark.parametrize("what", list(VARIANTS))
def test_variants_of_one_study_merge(tmp_path, what):
    store, done = store_of(tmp_path, rec(doi="10.5555/jah.2021.512"), rec(**VARIANTS[what]))
    (first, a), (second, b) = done
    assert (first, second) == (Outcome.NEW, Outcome.MERGED), (what, dedupe.compare(
        dedupe.record_view(store, a), dedupe.view_of([rec(**VARIANTS[what]).normalized().to_dict()])).why)
    assert a == b and store.count() == 1
    assert len(store.provenance(a)) == 2  # each source's own values stay in its provenance row


def test_all_variants_together_are_one_record_with_every_provenance(tmp_path):
    store, done = store_of(tmp_path, rec(doi="10.5555/jah.2021.512"), *(rec(**v) for v in VARIANTS.values()))
    assert store.count() == 1 and len({rid for _, rid in done}) == 1
    assert len(store.provenance(done[0][1])) == len(VARIANTS) + 1


def _letters(i: int) -> str:
    return "".join(chr(97 + i // 26 ** k % 26) for k in range(3)).capitalize()  # distinct family names


def test_variants_merge_in_a_crowded_year_and_only_titles_sharing_words_are_scored(tmp_path):
    """A harvest puts thousands of look-alike titles in one year ("Peer support for young people ...").
    Scoring each new title against the whole year made a 20,000-record harvest quadratic: only titles
    sharing its informative words are scored, and the study's variants still find it."""
    topics = ["depression", "anxiety", "psychosis", "self-harm", "eating disorders", "loneliness", "bullying",
              "grief", "trauma", "substance use"]
    places = ["schools", "universities", "foster care", "youth justice", "rural clinics", "online forums",
              "refugee camps", "primary care", "sports clubs", "faith groups", "inpatient wards", "juvenile courts"]
    crowd = [Record(title=f"Peer support for young people with {t} in {p}: a {d} study", authors=[f"{_letters(i)}, A"],
                    year=2021, journal="Journal of Youth Studies", source="import", database="Scopus",
                    source_id=f"crowd{i}")
             for i, (t, p, d) in enumerate((t, p, d) for t in topics for p in places
                                           for d in ("qualitative", "mixed-methods", "pilot", "cohort"))]
    store, _ = store_of(tmp_path, *crowd, rec(doi="10.5555/jah.2021.512"))
    assert store.count() == len(crowd) + 1
    block = store.titles()._block(2021)
    near = block.titles_near(dedupe.title_key(VARIANTS["CINAHL: subtitle dropped, online a year earlier"]["title"]))
    assert len(near) < len(block.keys) / 10
    for v in VARIANTS.values():
        assert store.upsert(rec(**v))[0] == Outcome.MERGED
    assert store.count() == len(crowd) + 1
    assert block.titles_near("peer support young people") == block.keys  # only common words: the whole year


def test_two_exports_of_one_study_merge_through_the_importer(tmp_path):
    scopus = ris([dict(title=TITLE, authors=AUTHORS, year=2021, journal="Journal of Adolescent Health", volume=68,
                       issue=3, sp=512, ep=519, doi="10.5555/jah.2021.512")])
    psycinfo = ris([dict(title=TITLE.rstrip() + ".", authors=["Okafor, Amara N.", "Lindqvist, Erik"], year=2021,
                         journal="Journal of Adolescent Health", volume=68, sp=512, db="psyh", an="2021-12345-001")])
    store = Store(tmp_path / "s.db")
    summary = import_files(store, [write(tmp_path, "scopus.ris", scopus), write(tmp_path, "psycinfo.ris", psycinfo)])
    assert (summary["total"]["new"], summary["total"]["merged"], store.count()) == (1, 1, 1)


# ----------------------------------------------------------------------------- uncertain: listed, not merged
# The same long title and year, but nothing else to go on: one side has no authors, no journal and
# no volume or pages. Too close to keep apart without a word, too thin to merge.
THIN_A = dict(title=TITLE, year=2021, authors=[], journal="", volume="", issue="", pages="", database="ERIC")
THIN_B = dict(title=TITLE.replace(": a", " - a") + ".", year=2021, authors=[], journal="", volume="", issue="", pages="",
              database="Google Scholar")


def test_a_pair_too_close_to_call_is_listed_and_not_merged(tmp_path):
    store, done = store_of(tmp_path, rec(**THIN_A), rec(**THIN_B))
    assert [o for o, _ in done] == [Outcome.NEW, Outcome.NEW] and store.count() == 2
    from synth import duplicates

    pairs = duplicates.undecided(store)
    assert len(pairs) == 1
    assert {pairs[0]["a"]["id"], pairs[0]["b"]["id"]} == {done[0][1], done[1][1]}
    assert "title" in pairs[0]["reasons"] and dedupe.UNCERTAIN_AT <= pairs[0]["score"] < dedupe.SAME_AT


def test_a_fuller_observation_settles_an_uncertain_pair(tmp_path):
    """An uncertain pair is not final: when the thin record's source later sends its authors and
    journal (the same provenance row, re-exported), the two merge and the pair leaves the list."""
    from synth import duplicates

    store, done = store_of(tmp_path, rec(), rec(**THIN_A, source_id="ERIC:EJ1"))
    assert store.count() == 2 and len(duplicates.undecided(store)) == 1
    fuller = {**THIN_A, "authors": AUTHORS[:2], "journal": "Journal of Adolescent Health"}
    outcome, rid = store.upsert(rec(**fuller, source_id="ERIC:EJ1"))
    assert outcome == Outcome.MERGED and store.count() == 1 and rid == done[0][1]
    assert duplicates.undecided(store) == []


# ----------------------------------------------------------------------------- the command line
@pytest.fixture
def run_synth(project, monkeypatch, capsys):
    def call(*args):
        monkeypatch.setattr(sys, "argv", ["synth", "--project", str(project.root), *args])
        with pytest.raises(SystemExit) as exit_:
            main()
        out = capsys.readouterr()
        return exit_.value.code, out.out, out.err

    return call


def one_error_line(rc, out, err):
    lines = err.strip().splitlines()
    return rc == 2 and len(lines) == 1 and lines[0].startswith("Error:") and "Traceback" not in err + out


@pytest.fixture
def thin_files(tmp_path):
    """Two exports holding the uncertain pair, plus a third study."""
    one = ris([dict(title=THIN_A["title"], year=2021, db="ERIC"),
               dict(title="Family peer advocates in child mental health services", authors=["Brennan, Aisling"],
                    year=2019, doi="10.5555/other")])
    two = ris([dict(title=THIN_B["title"], year=2021)])
    return write(tmp_path, "eric.ris", one), write(tmp_path, "scholar.ris", two)


def _pairs(run_synth):
    rc, out, err = run_synth("duplicates", "--json")
    assert rc == 0, err
    return [json.loads(line) for line in out.splitlines()]


def test_duplicates_lists_the_pair_then_keep_apart_survives_reimport(run_synth, project, thin_files):
    rc, _, err = run_synth("import", *map(str, thin_files))
    assert rc == 0, err
    pairs = _pairs(run_synth)
    assert len(pairs) == 1 and pairs[0]["a"]["title"] and pairs[0]["b"]["title"] and pairs[0]["reasons"]
    a, b = pairs[0]["a"]["id"], pairs[0]["b"]["id"]
    rc, out, err = run_synth("duplicates")
    assert rc == 0 and a in out and b in out and "keep-apart" in out
    rc, _, err = run_synth("duplicates", "keep-apart", a, b)
    assert rc == 0 and "kept apart" in err
    assert _pairs(run_synth) == []
    rc, _, err = run_synth("import", *map(str, reversed(thin_files)))  # again, in the other order
    assert rc == 0, err
    store = project.store()
    assert store.count() == 3 and store.get(a)["id"] == a and store.get(b)["id"] == b
    assert _pairs(run_synth) == []
    rc, out, _ = run_synth("duplicates", "--decided", "--json")
    assert [json.loads(line)["status"] for line in out.splitlines()] == ["kept-apart"]


def test_keep_apart_holds_against_a_record_that_bridges_the_two(project, run_synth, thin_files):
    """A later observation sharing an identifier with each of two kept-apart records joins one, never both."""
    run_synth("import", *map(str, thin_files))
    (pair,) = _pairs(run_synth)
    a, b = pair["a"]["id"], pair["b"]["id"]
    assert run_synth("duplicates", "keep-apart", a, b)[0] == 0
    store = project.store()
    store.upsert(Record(title=TITLE, year=2021, doi="10.5555/bridge", source="crossref", source_id="10.5555/bridge"))
    store.upsert(Record(title=TITLE, year=2021, doi="10.5555/bridge", pmid="34999999", source="pubmed",
                        source_id="34999999"))
    assert store.get(a)["id"] != store.get(b)["id"]


def test_merge_makes_one_record_that_stays_one(run_synth, project, thin_files):
    run_synth("import", *map(str, thin_files))
    (pair,) = _pairs(run_synth)
    a, b = pair["a"]["id"], pair["b"]["id"]
    rc, _, err = run_synth("duplicates", "merge", a, b)
    assert rc == 0 and "merged" in err
    store = project.store()
    assert store.count() == 2 and store.get(a)["id"] == store.get(b)["id"]
    assert len(store.provenance(store.get(a)["id"])) == 2
    store.close()
    assert run_synth("import", *map(str, thin_files))[0] == 0
    store = project.store()
    assert store.count() == 2 and _pairs(run_synth) == []


@pytest.mark.parametrize("args,says", [
    (("duplicates", "merge", "s0000000000"), "Missing argument"),
    (("duplicates", "merge", "s0000000000", "nope"), "no record"),
    (("duplicates", "keep-apart", "10.5555/other", "10.5555/missing"), "no record"),
    (("duplicates", "merge", "10.5555/other", "10.5555/OTHER"), "already one record"),
    (("duplicates", "--json", "merge", "a", "b"), "without a subcommand"),
    (("duplicates", "split", "a", "b"), "split"),
    (("duplicates", "--nope"), "--nope"),
])
def test_duplicates_bad_input_is_one_line_exit_2_and_changes_nothing(run_synth, project, thin_files, args, says):
    run_synth("import", *map(str, thin_files))
    before = _pairs(run_synth)
    rc, out, err = run_synth(*args)
    assert one_error_line(rc, out, err) and says in err, err
    assert _pairs(run_synth) == before
    assert project.store().conn.execute("SELECT COUNT(*) FROM duplicate_pairs WHERE status != 'uncertain'").fetchone()[0] == 0


def test_no_pairs_says_so(run_synth):
    rc, out, err = run_synth("duplicates")
    assert rc == 0 and out == "" and "No possible duplicates" in err


# ----------------------------------------------------------------------------- through `synth refresh`
@pytest.mark.slow
def test_keep_apart_and_merge_survive_refresh(tmp_path, monkeypatch, capsys):
    """Two thin imports of one study, kept apart by a person; the harvest then brings the study with
    the DOI of one and the PMID of the other. It joins one of them; the decision holds, run after run."""
    from refresh_support import make_project, refresh_json

    from synth.fakeapi import FakeAPIServer, generate_corpus
    from synth.project import load_project

    corpus = generate_corpus(2, seed=5)
    study = corpus[0]
    study["sources"], study["variants"] = ["pubmed"], {}
    corpus[1]["sources"] = ["crossref"]
    with FakeAPIServer(corpus) as api:
        root = make_project(tmp_path / "review", api)
        project = load_project(root)
        store = project.store()
        _, e = store.upsert(Record(title=study["title"], year=study["year"], doi=study["doi"], source="import",
                                   database="ERIC", source_id="ERIC:EJ1"))
        _, f = store.upsert(Record(title=study["title"].upper(), year=study["year"], pmid=study["pmid"],
                                   source="import", database="Google Scholar", source_id="scholar.ris#1"))
        from synth import duplicates

        assert e != f and len(duplicates.undecided(store)) == 1
        store.close()

        def cli(*args):
            monkeypatch.setattr(sys, "argv", ["synth", "--project", str(root), *args])
            with pytest.raises(SystemExit) as exit_:
                main()
            return exit_.value.code, capsys.readouterr()

        assert cli("duplicates", "keep-apart", e, f)[0] == 0
        rc, summary, err = refresh_json(root)
        assert rc == 0, err
        store = project.store()
        sources = {rid: {p["source"] for p in store.provenance(rid)} for rid in (e, f)}
        assert store.get(e)["id"] == e and store.get(f)["id"] == f
        assert sources == {e: {"import", "pubmed"}, f: {"import"}}  # the harvest joined one, not both
        assert duplicates.undecided(store) == []
        store.close()
        # the person changes their mind: one record, and it stays one
        assert cli("duplicates", "merge", e, f)[0] == 0
        rc, _, err = refresh_json(root)
        assert rc == 0, err
        store = project.store()
        assert store.get(e)["id"] == store.get(f)["id"]
        assert {p["source"] for p in store.provenance(store.get(e)["id"])} == {"import", "pubmed"}
        store.close()
