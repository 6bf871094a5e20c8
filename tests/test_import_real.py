"""Every real database export in ../shared/fixtures/real/{ris,nbib,bibtex} imports with the
record count, identifiers, titles and abstracts the file holds.

Titles and abstracts are checked against a small independent reading of each file
(regular expressions over the raw text), compared with whitespace collapsed.
"""

import html
import re

import pytest

from synth.importers import import_files, read_file
from synth.store import Store


def ws(s: str) -> str:
    return " ".join((s or "").split())


def oracle_tagged(text: str, end: str, tag_re: str, cont: str, title_tags, abstract_tags):
    """Per entry: (title, abstract) read straight from a tagged file (RIS, WoS, MEDLINE)."""
    out = []
    for chunk in re.split(end, text.lstrip("\ufeff"), flags=re.M):
        lines = chunk.split("\n")
        vals: dict[str, list[str]] = {}
        last = None
        for ln in lines:
            m = re.match(tag_re, ln)
            if m:
                last = m.group(1)
                vals.setdefault(last, []).append(m.group(2))
            elif re.match(cont, ln) and last:
                vals[last][-1] += " " + ln.strip()
        if not any(t in vals for t in title_tags):
            continue
        title = next(vals[t][0] for t in title_tags if t in vals)
        abstracts = [vals[t][0] for t in abstract_tags if t in vals]
        # Scopus writes "p &lt; .001": synth stores text, so entities are decoded.
        out.append((ws(html.unescape(title)), ws(html.unescape(max(abstracts, key=len))) if abstracts else ""))
    return out


RIS = dict(end=r"^ER  -.*$", tag_re=r"^([A-Z][A-Z0-9])  - ?(.*)$", cont=r"^(?![A-Z][A-Z0-9]  -)\S", title_tags=("TI", "T1"),
           abstract_tags=("AB", "N2"))
WOS = dict(end=r"^ER$", tag_re=r"^([A-Z][A-Z0-9]) (.*)$", cont=r"^   ", title_tags=("TI",), abstract_tags=("AB",))
MEDLINE = dict(end=r"\n\s*\n", tag_re=r"^([A-Z]{2,4}) *- (.*)$", cont=r"^      ", title_tags=("TI",), abstract_tags=("AB",))

CASES = {
    "ris/asreview_embase_bom_n2.ris": dict(n=6, db="Embase", oracle=RIS, dois=[
        "10.4103/2303-9027.138783", "10.1002/cncr.20369", "10.1016/j.ijscr.2018.11.060", "10.1016/j.clp.2018.07.012",
        "10.3748/wjg.v17.i1.130", "10.1089/cren.2017.0016"], ids=["Embase:AN:L373791783"]),
    "ris/asreview_proquest.ris": dict(n=6, db="PTSDpubs", oracle=RIS, dois=[
        "10.1002/jts.22387", "10.1080/20008198.2019.1586266", "10.1080/02791072.2019.1580805", "10.1002/jts.22370",
        "10.1002/jts.22299", "10.1080/00273171.2017.1412293"], ids=["PTSDpubs:AN:2214991469", "PTSDpubs:AN:2032784247"]),
    "ris/asreview_pubmed_via_zotero.ris": dict(n=6, db="", oracle=RIS, dois=[
        "10.5114/pg.2018.81081", "10.1007/s10151-019-02080-0", "10.1097/md.0000000000016881", "10.2196/14432",
        "10.1186/s12876-019-1034-9", "10.1097/md.0000000000016231"], ids=["doi:10.2196/14432"]),
    "ris/asreview_scopus.ris": dict(n=6, db="Scopus", oracle=RIS, dois=[
        "10.1016/j.psyneuen.2019.104501", "10.1016/j.mehy.2019.109324", "10.1016/j.jpsychores.2019.109836",
        "10.1016/j.yebeh.2019.106490", "10.1080/19490976.2018.1562268", "10.1136/gutjnl-2019-318308"],
        ids=["Scopus:EID:2-s2.0-85074596690"]),
    "ris/asreview_web_of_science_ris.txt": dict(n=10, db="Web of Science", oracle=RIS, dois=[
        "10.1016/j.jarmac.2018.03.001", "10.1037/law0000080", "10.1037/law0000193", "10.1037/lhb0000437",
        "10.1002/symb.317", "10.3389/fpsyg.2023.1175856", "10.1037/law0000313", "10.1023/a:1024814009769",
        "10.1037/law0000199", "10.1080/1068316x.2013.777963"], ids=["WOS:000444108200009", "WOS:000333482900004"]),
    "ris/rispy_example_wos_plaintext_2recs.txt": dict(n=2, db="Web of Science", oracle=WOS,
        dois=["10.1021/bi049798f", "10.1021/bi0497291"], pmids=["15170338", "15170339"],
        ids=["WOS:000221807500019", "WOS:000221807500020"]),
    "nbib/biopython_medline_pubmed_result1.txt": dict(n=1, db="PubMed", oracle=MEDLINE, pmids=["12230038"]),
    "nbib/biopython_medline_pubmed_result2.txt": dict(n=4, db="PubMed", oracle=MEDLINE,
        pmids=["16403221", "16377612", "14871861", "14630660"], pmcids=["PMC1373603"]),
    "nbib/biopython_medline_pubmed_result3.txt": dict(n=1, db="PubMed", oracle=MEDLINE, pmids=["23039619"],
        dois=["10.1118/1.4748329"]),
    "nbib/nbib_pmc_medlars_5recs.txt": dict(n=5, db="PubMed", oracle=MEDLINE,
        pmids=["30042925", "30123504", "25150679", "23049521", "20230352"],
        pmcids=["PMC6055010", "PMC6088416", "PMC4211933", "PMC3446808", "PMC3935517"]),
    "nbib/nbib_single_pubmed_export_edited.nbib": dict(n=1, db="PubMed", oracle=MEDLINE, pmids=["28754806"],
        dois=["10.1136/neurintsurg-2017-013179"]),
}


@pytest.mark.parametrize("rel", sorted(CASES))
def test_real_tagged_export(real_fixtures, rel):
    case = CASES[rel]
    path = real_fixtures / rel
    result = read_file(path)
    recs = result.records
    assert result.problems == []
    assert len(recs) == case["n"] == result.entries
    for key, attr in (("dois", "doi"), ("pmids", "pmid")):
        if key in case:
            assert [getattr(r, attr) for r in recs if getattr(r, attr)] == case[key]
    if "pmcids" in case:
        assert [r.pmcid for r in recs if r.pmcid] == case["pmcids"]
    ids = [r.source_id for r in recs]
    assert len(set(ids)) == len(ids)
    for sid in case.get("ids", []):
        assert sid in ids
    assert {r.database for r in recs} == {case["db"]}
    text = path.read_bytes().decode("utf-8-sig")
    expected = oracle_tagged(text, **case["oracle"])
    assert [(ws(r.title), ws(r.abstract)) for r in recs] == expected
    for r in recs:
        assert r.title and "<" not in r.title and "\n" not in r.title
        assert r.year and 1970 < r.year < 2030


def test_real_pmc_medlars_empty_abstract_stays_empty(real_fixtures):
    recs = read_file(real_fixtures / "nbib/nbib_pmc_medlars_5recs.txt").records
    assert recs[0].abstract == ""  # `AB  - ` is empty; the OAB publisher notice is not an abstract
    assert recs[1].abstract.startswith("Background: Traditionally perceived as a disorder of women")


def test_real_structured_medline_abstract_is_one_section_a_line(real_fixtures):
    rec = read_file(real_fixtures / "nbib/biopython_medline_pubmed_result3.txt").records[0]
    labels = [ln.split(":")[0] for ln in rec.abstract.split("\n")]
    assert labels == ["PURPOSE", "METHODS", "RESULTS", "CONCLUSIONS"]
    assert rec.mesh and not any("*" in m or "/" in m for m in rec.mesh)


def test_real_embase_bom_and_n2_abstract(real_fixtures):
    raw = (real_fixtures / "ris/asreview_embase_bom_n2.ris").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    recs = read_file(real_fixtures / "ris/asreview_embase_bom_n2.ris").records
    assert recs[0].title == "Duplication cysts: Diagnosis, management, and the role of endoscopic ultrasound"
    assert recs[0].abstract.startswith("Gastrointestinal tract duplication cysts are rare congenital")
    assert recs[0].authors == ["Liu R.", "Adler D.G."]


def _bib_field(entry: str, name: str) -> str:
    m = re.search(rf"^{name} = \{{(.*?)\}},?$", entry, re.M | re.S)
    value = m.group(1) if m else ""
    for a, b in (("{[}", "["), ("\\&", "&"), ("\\_", "_"), ("{*}", "*"), ("\\%", "%")):
        value = value.replace(a, b)
    return ws(value)


def test_real_wos_bibtex(real_fixtures):
    path = real_fixtures / "bibtex/uvt_scholarly_wos_savedrecs_10recs.bib"
    result = read_file(path)
    recs = result.records
    assert result.problems == [] and len(recs) == 10 and result.encoding == "utf-8-sig"
    text = path.read_text(encoding="utf-8-sig")
    entries = re.split(r"^@", text, flags=re.M)[1:]
    assert [r.source_id for r in recs] == [re.search(r"Unique-ID = \{(WOS:\d+)\}", e).group(1) for e in entries]
    assert [r.doi for r in recs] == [_bib_field(e, "DOI").lower() for e in entries]
    assert [r.title for r in recs] == [_bib_field(e, "Title") for e in entries]
    assert [ws(r.abstract) for r in recs] == [_bib_field(e, "Abstract") for e in entries]
    assert {r.database for r in recs} == {"Web of Science"}
    assert recs[0].authors == ["Fikl, Alexandru", "Klockner, Andreas"]
    assert recs[-1].pub_types == ["Proceedings Paper"]
    assert not any(c in r.title + r.abstract for r in recs for c in ("{", "}", "\\"))


def test_real_all_files_in_one_call_then_reimport_changes_nothing(real_fixtures, tmp_path):
    paths = sorted(p for sub in ("ris", "nbib", "bibtex") for p in (real_fixtures / sub).iterdir())
    store = Store(tmp_path / "s.db")
    first = import_files(store, paths, run_id=None)
    assert first["total"]["read"] == first["total"]["new"] == 58
    assert first["total"]["quarantined"] == 0
    assert store.count() == 58
    again = import_files(store, paths)
    assert again["total"]["unchanged"] == 58 and again["total"]["new"] == 0
    assert store.count() == 58
    rec = store.get("15170338")  # the WoS plain-text record, by its PMID
    assert rec["doi"] == "10.1021/bi049798f"
    assert [(p["source"], p["source_id"], p["database"]) for p in store.provenance(rec["id"])] == [
        ("import", "WOS:000221807500019", "Web of Science")]
