"""Bad input, tried: every data-loss class of issue 14 and the command-line misuses, run and counted.

Each case is a file (or a few) this script writes itself, or a command line, run through
`synth.cli.main` in a fresh project (some after a good import, to see that nothing stored
is lost). Per class it prints: inputs tried, refused with exit 2 (one line on stderr, no
traceback), entries quarantined, records stored correctly, stored wrongly, records lost.

    python bench/bench_bad_input.py [--json]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


@dataclass
class Case:
    cls: str
    argv: list[str]  # "{name}" is replaced by the path of file `name`
    files: dict[str, bytes] = field(default_factory=dict)
    before: list[str] = field(default_factory=list)  # imported first; these records must come through unchanged
    refused: bool = False  # expected: exit 2, one line
    quarantined: int = 0  # expected quarantine rows
    checks: list = field(default_factory=list)  # this input's records: (DOI, PMID or title, {field: value})
    count: int | None = None  # expected live records afterwards


# ----------------------------------------------------------------------------- the files
def medline(pmid, title, abstract, authors, so=True):
    lines = [f"PMID- {pmid}", "OWN - NLM", "DP  - 2021 Mar", f"TI  - {title}", f"AB  - {abstract}"]
    lines += [f"FAU - {a}" for a in authors] + ["JT  - Journal of Youth Mental Health"]
    return "\n".join(lines + (["SO  - J Youth Ment Health. 2021;3(1):1-9."] if so else [])) + "\n"


ABS = "Young people often disengage from services. Peer navigators with lived experience supported 120 youths."
NBIB = (medline(39100001, "Peer navigators for youth mental health services", ABS, ["Mbeki, Thandiwe", "Okafor, Amara"])
        + "\n" + medline(39100002, "Hope and role modelling among young care leavers", "Mentors model hope.", ["Singh, Priya"]))
GOOD = {"39100001": {"abstract": ABS, "authors": ["Mbeki, Thandiwe", "Okafor, Amara"]},
        "39100002": {"title": "Hope and role modelling among young care leavers"}}
RIS = ("TY  - JOUR\nTI  - Peer support groups for adolescent anxiety\nAU  - Lindqvist, Erik\nPY  - 2020\nDO  - 10.5555/r1\n"
       "ER  - \n\nTY  - JOUR\nTI  - Online peer support for young people with psychosis\nAU  - Okafor, Amara\nPY  - 2021\n"
       "DO  - 10.5555/r2\nAB  - A long abstract about online peer support that is cut here\n")
BIB = ("@article{a, title = {Peer support groups for adolescent anxiety}, year = 2020, doi = {10.5555/b1}}\n"
       "@article{b, title = {Online peer support {for young people, year = 2021, doi = {10.5555/b2}\n")
JSONL = ('{"title": "Peer support groups for adolescent anxiety", "doi": "10.5555/j1", "year": 2020}\n'
         '{"title": "Online peer support for young people", "doi": "10.5')
CSV_CUT = "Title,Abstract,Year,DOI\nPeer navigators in youth services,Navigators helped.,2020,10.5555/c1\nDigital peer support"
CSV_QUOTE = ("Title,Abstract,Year,DOI\nPeer navigators in youth services,Navigators helped.,2020,10.5555/c1\n"
             'Digital peer support,"An abstract whose quote never closes,2021,10.5555/c2\nFamily advocates,x,2022,10.5555/c3\n')


def rows(*titles, header="id,Title,Year"):
    return header + "\n" + "".join(f"{i},{t},2020\n" for i, t in titles)


def ris_entry(title, authors, volume, issue, page, year=2019, doi=None):
    lines = ["TY  - JOUR", f"TI  - {title}"] + [f"AU  - {a}" for a in authors]
    lines += [f"PY  - {year}", "JO  - Journal of Youth Services", f"VL  - {volume}", f"IS  - {issue}", f"SP  - {page}"]
    return "\n".join(lines + ([f"DO  - {doi}"] if doi else []) + ["ER  - ", ""])


CHAIRS = ["Tanaka, Hiroshi", "Suzuki, Ken", "Moreau, Claire", "Okafor, Amara", "Lindqvist, Erik"]
RECURRING = "\n".join(ris_entry(t, [CHAIRS[i % 5]], 10 + i // 4, i % 4 + 1, 1 + 50 * i)
                      for t in ("Message from the Chairman", "Editorial: the year in peer support")
                      for i in range(10))
SAME_STUDY = (ris_entry("Peer support for young people with psychosis: a feasibility study", ["Okafor, Amara"], 7, 2, "45-52",
                        doi="10.5555/psy.7"),
              "TY  - JOUR\nTI  - Peer support for young people with psychosis: a feasibility study.\nAU  - Okafor A\n"
              "PY  - 2019\nVL  - 7\nSP  - 45\nDB  - psyh\nER  - \n")


def bib(field_value, key="k", doi="10.5555/l1", extra=""):
    return f"{extra}@article{{{key}, title = {{Peer support}}, abstract = {{{field_value}}}, year = 2020, doi = {{{doi}}}}}\n"


PAD = "".join(f"TY  - JOUR\nTI  - Padding entry {i} about peer support\nDO  - 10.5555/p{i}\nER  - \n" for i in range(60))
NUL_TAIL = b"TY  - JOUR\nTI  - Peer\x00 support\x00 for youth\nDO  - 10.5555/nul\nER  - \n\x00"
GBK = ("TY  - JOUR\nAU  - 王小明\nAU  - 李华\nTI  - 青少年同伴支持的心理健康干预研究\nJO  - 中国心理卫生杂志\nPY  - 2020\n"
       "DO  - 10.5555/gbk\nER  - \n")
SJIS = "TY  - JOUR\nAU  - 山田太郎\nTI  - 若者のピアサポートに関する研究\nJO  - 精神医学\nPY  - 2019\nDO  - 10.5555/sjis\nER  - \n"
WEST = "TY  - JOUR\nAU  - Müller, Jürgen\nTI  - Peer support – a “qualitative” study of naïve café users\nDO  - 10.5555/w\nER  - \n"
EMBASE = ('Title,Author Names,Source,Abstract,Open URL Link,Embase Link\n"Peer mentors for young people with psychosis",'
          '"Smith J., Jones K.L.","Journal of Adolescent Health (2019) 64:2 (S12-S13). Date of Publication: 1 Feb 2019",'
          '"Mentors helped.","http://sfx.example.edu/sfx?sid=EMBASE&id=doi:10.1016%2Fj.jadohealth.2018.10.001&volume=64",'
          '"https://www.embase.com/search/results?subaction=viewrecord&id=L2001234567&from=export"\n')
ENDNOTE = "TY  - JOUR\nAU  - Mbeki, T.\nTI  - Peer navigators for youth mental health services\nPY  - 2021\nAN  - 39100001\nDP  - NLM\nER  - \n"
NOOP = (r'@preamble{"\newcommand{\sortkey}[1]{}"}' "\n"
        r"@article{a, title = {Peer support A}, year = {{\noopsort{2011a}}2010}, doi = {10.5555/n1}}" "\n"
        r"@article{b, title = {Peer support B}, year = {\sortkey{1999}2004}, doi = {10.5555/n2}}" "\n")


def enc(text, encoding="utf-8"):
    return text.encode(encoding)


CASES = [
    # 1. truncated exports
    Case("1 truncated export", ["import", "{cut.nbib}"], {"full.nbib": enc(NBIB), "cut.nbib": enc(NBIB[:NBIB.index("lived")])},
         before=["full.nbib"], quarantined=1, count=2),
    Case("1 truncated export", ["import", "{poor.nbib}"], {"full.nbib": enc(NBIB), "poor.nbib": enc(
        medline(39100001, "Peer navigators for youth mental health services", ABS[:40], []))},
         before=["full.nbib"], checks=[("39100001", GOOD["39100001"])], count=2),
    Case("1 truncated export", ["import", "{one.nbib}"], {"one.nbib": enc(NBIB.split("\n\n")[0][:200])}, quarantined=1, count=0),
    Case("1 truncated export", ["import", "{cut.ris}"], {"cut.ris": enc(RIS)}, quarantined=1,
         checks=[("10.5555/r1", {"title": "Peer support groups for adolescent anxiety"})], count=1),
    Case("1 truncated export", ["import", "{wos.txt}"], {"wos.txt": enc(
        "FN Clarivate Analytics Web of Science\nVR 1.0\nPT J\nAU Okafor, A\nTI Peer mentoring and hope\nPY 2020\n"
        "UT WOS:000900000000001\nER\n\nPT J\nAU Singh, P\nTI Peer workers in child mental health\nAB Peer workers descr")},
         quarantined=1, checks=[("Peer mentoring and hope", {"year": 2020})], count=1),
    Case("1 truncated export", ["import", "{cut.bib}"], {"cut.bib": enc(BIB)}, quarantined=1,
         checks=[("10.5555/b1", {"year": 2020})], count=1),
    Case("1 truncated export", ["import", "{cut.jsonl}"], {"cut.jsonl": enc(JSONL)}, quarantined=1,
         checks=[("10.5555/j1", {"year": 2020})], count=1),
    Case("1 truncated export", ["import", "{cut.csv}"], {"cut.csv": enc(CSV_CUT)}, quarantined=1,
         checks=[("10.5555/c1", {"abstract": "Navigators helped."})], count=1),
    Case("1 truncated export", ["import", "{quote.csv}"], {"quote.csv": enc(CSV_QUOTE)}, quarantined=1,
         checks=[("10.5555/c1", {"year": 2020})], count=1),
    # 2. file-local ids
    Case("2 CSV id/key columns", ["import", "{a/export.csv}", "{b/export.csv}"], {
        "a/export.csv": enc(rows((1, "Peer navigators in youth services"), (2, "Hope and role models among care leavers"))),
        "b/export.csv": enc(rows((1, "Digital peer support for anxious teenagers"), (2, "Family peer advocates in child mental health")))},
         count=4),
    Case("2 CSV id/key columns", ["import", "{dup.csv}"], {"dup.csv": enc(rows(
        (1, "Peer navigators in youth services"), (1, "Online forums as peer support for young people"),
        (1, "School peer mentoring and belonging"), header="record_id,Title,Year"))}, count=3),
    Case("2 CSV id/key columns", ["import", "--database", "Covidence", "{c1.csv}", "{c2.csv}"], {
        "c1.csv": enc(rows((7, "Peer navigators in youth services"), header="Covidence #,Title,Year")),
        "c2.csv": enc(rows((7, "Family peer advocates in child mental health"), header="key,Title,Year"))}, count=2),
    # 3. recurring titles
    Case("3 recurring titles", ["import", "{bibliography.ris}"], {"bibliography.ris": enc(RECURRING)}, count=20),
    Case("3 recurring titles", ["import", "{scopus.ris}", "{psycinfo.ris}"],
         {"scopus.ris": enc(SAME_STUDY[0]), "psycinfo.ris": enc(SAME_STUDY[1])},
         checks=[("10.5555/psy.7", {"year": 2019})], count=1),  # a true duplicate still merges
    # 4. LaTeX
    Case("4 BibTeX LaTeX", ["import", "{z.bib}"], {"z.bib": enc(bib(r"p {\textless} 0.05 and p {\textgreater} 0.5"))},
         checks=[("10.5555/l1", {"abstract": "p < 0.05 and p > 0.5"})], count=1),
    Case("4 BibTeX LaTeX", ["import", "{t.bib}"], {"t.bib": enc(bib(r"With {\TeX} and \mbox{Jos\'e} and \odd{peer-led}"))},
         checks=[("10.5555/l1", {"abstract": "With TeX and José and peer-led"})], count=1),
    # 5. @string and #
    Case("5 BibTeX @string and #", ["import", "{s.bib}"], {"s.bib": enc(
        '@string{stoc = "STOC"}\n@article{a, title = "Peer support " # "in schools", journal = "Proc. Fifteenth Annual" # stoc,'
        ' year = 1983, doi = {10.5555/s1}}\n')},
         checks=[("10.5555/s1", {"title": "Peer support in schools", "journal": "Proc. Fifteenth Annual STOC"})], count=1),
    Case("5 BibTeX @string and #", ["import", "{m.bib}"], {"m.bib": enc(
        '@string{j = "Journal of " # yth}\n@string{yth = "Youth"}\n@article{a, title = {Peer mentoring}, journal = j # " Studies",'
        ' year = 2001, doi = {10.5555/s2}}\n')},
         checks=[("10.5555/s2", {"journal": "Journal of yth Studies"})], count=1),  # an unknown reference keeps its name
    # 6. NUL bytes
    Case("6 NUL bytes", ["import", "{nul.ris}"], {"nul.ris": enc(PAD) + NUL_TAIL},
         checks=[("10.5555/nul", {"title": "Peer support for youth"})], count=61),
    Case("6 NUL bytes", ["import", "{bom.ris}"], {"bom.ris": b"\xef\xbb\xbf" + NUL_TAIL},
         checks=[("10.5555/nul", {"title": "Peer support for youth"})], count=1),
    # 7. encodings
    Case("7 non-UTF-8 encodings", ["import", "{gbk.ris}"], {"gbk.ris": enc(GBK, "gbk")},
         checks=[("10.5555/gbk", {"authors": ["王小明", "李华"], "journal": "中国心理卫生杂志"})], count=1),
    Case("7 non-UTF-8 encodings", ["import", "{sjis.ris}"], {"sjis.ris": enc(SJIS, "shift_jis")},
         checks=[("10.5555/sjis", {"authors": ["山田太郎"], "journal": "精神医学"})], count=1),
    Case("7 non-UTF-8 encodings", ["import", "{w.ris}"], {"w.ris": enc(WEST, "cp1252")},
         checks=[("10.5555/w", {"authors": ["Müller, Jürgen"]})], count=1),
    # 8. common layouts
    Case("8 Embase CSV, EndNote AN, noopsort", ["import", "{embase.csv}"], {"embase.csv": enc(EMBASE)},
         checks=[("10.1016/j.jadohealth.2018.10.001", {"authors": ["Smith J.", "Jones K.L."], "year": 2019,
                                                      "journal": "Journal of Adolescent Health"})], count=1),
    Case("8 Embase CSV, EndNote AN, noopsort", ["import", "{endnote.ris}"], {"endnote.ris": enc(ENDNOTE)},
         checks=[("39100001", {"pmid": "39100001"})], count=1),
    Case("8 Embase CSV, EndNote AN, noopsort", ["import", "{noop.bib}"], {"noop.bib": enc(NOOP)},
         checks=[("10.5555/n1", {"year": 2010}), ("10.5555/n2", {"year": 2004})], count=2),
    # whole files that are not exports: refused, nothing stored
    *[Case("whole file refused", ["import", "{full.nbib}", "{bad}", *extra], {"full.nbib": enc(NBIB), "bad": data},
           before=["full.nbib"], refused=True, count=2)
      for data, extra in ((b"", []), (b"\x89PNG\r\n\x1a\n" + bytes(100), []), (bytes(range(256)) * 20, []),
                          (enc(BIB), ["--format", "ris"]), (enc("just some words\nand more\n"), []))],
    Case("whole file refused", ["import", "{full.nbib}", "no-such-file.ris"], {"full.nbib": enc(NBIB)}, before=["full.nbib"],
         refused=True, count=2),
    # command lines
    *[Case("command line", argv, {"full.nbib": enc(NBIB)}, before=["full.nbib"], refused=True, count=2)
      for argv in (["screen", "39100001", "--include", "--exclude"],
                   ["code", "39100001", "--mechanism", "hope_role_modelling", "--accept", "--reject"],
                   ["search", "peer", "--year-from", "20x4"], ["import", "--format", "foo", "{full.nbib}"],
                   ["table", "--format", "docx"], ["table", "-o", "{missing}/x.csv"],
                   ["export", "-o", "{missing}/x.ris"], ["report", "-o", "{missing}/r.html"],
                   ["show"], ["nonsense"])],
]


# ----------------------------------------------------------------------------- running them
def run_case(case: Case, root: Path) -> dict:
    from synth.cli import main
    from synth.project import init_project

    project = init_project(root / "review")
    paths = {name: root / "files" / name for name in case.files}
    for name, data in case.files.items():
        paths[name].parent.mkdir(parents=True, exist_ok=True)
        paths[name].write_bytes(data)
    for name in case.before:
        assert _synth(main, project, ["import", str(paths[name])])[0] == 0, name
    store = project.store()
    before = {r["id"]: r["content_hash"] for r in store.iter_records()}
    q0 = store.conn.execute("SELECT COUNT(*) FROM quarantine").fetchone()[0]
    human0 = store.conn.execute("SELECT (SELECT COUNT(*) FROM screening) + (SELECT COUNT(*) FROM curation)").fetchone()[0]
    store.close()
    argv = [_fill(a, {**paths, "missing": root / "no" / "dir"}) for a in case.argv]
    rc, out, err = _synth(main, project, argv)
    refused = rc == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in out + err
    store = project.store()
    res = {"tried": 1, "refused": int(refused), "quarantined": 0, "correct": 0, "wrong": 0, "lost": 0, "notes": []}
    res["quarantined"] = store.conn.execute("SELECT COUNT(*) FROM quarantine").fetchone()[0] - q0
    if res["quarantined"] != case.quarantined:
        res["notes"].append(f"quarantined {res['quarantined']}, expected {case.quarantined}")
    if refused != case.refused or (not case.refused and rc != 0) or "Traceback" in out + err:
        res["notes"].append(f"exit {rc}: {err.strip()[:200]}")
    for ref, want in case.checks:
        rec = store.get(ref) or next(store.iter_records("title = ?", (ref,)), None)
        if rec is None:
            res["lost"] += 1
        elif all(rec.get(k) == v for k, v in want.items()):
            res["correct"] += 1
        else:
            res["wrong"] += 1
            res["notes"].append(f"{ref}: {({k: rec.get(k) for k in want})} != {want}")
    live = store.count()
    if case.count is not None:
        if not case.checks and not case.refused:  # records of this input, counted (no per-record check)
            res["correct"] += max(0, min(live, case.count) - len(before))
        res["lost"] += max(0, case.count - live)
        res["wrong"] += max(0, live - case.count)
    for rid, h in before.items():  # what was stored before the bad input is all still there, unchanged
        now = store.get(rid)
        res["lost"] += now is None
        res["wrong"] += bool(now and now["content_hash"] != h)
    human = store.conn.execute("SELECT (SELECT COUNT(*) FROM screening) + (SELECT COUNT(*) FROM curation)").fetchone()[0]
    res["wrong"] += human - human0  # a refused decision applied anyway
    store.close()
    return res


def _fill(arg: str, paths: dict) -> str:
    for name, path in paths.items():
        arg = arg.replace("{" + name + "}", str(path))
    return arg


def _synth(main, project, argv: list[str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    old = sys.argv
    sys.argv = ["synth", "--project", str(project.root), *argv]
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            try:
                main()
                rc = 0
            except SystemExit as e:
                rc = e.code if isinstance(e.code, int) else 1
    finally:
        sys.argv = old
    return rc, out.getvalue(), err.getvalue()


COLUMNS = ("tried", "refused", "quarantined", "correct", "wrong", "lost")
HEADERS = ("inputs tried", "refused (exit 2)", "quarantined", "stored correctly", "stored wrongly", "records lost")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--json", action="store_true", help="one JSON object per class")
    args = ap.parse_args()
    totals: dict[str, dict] = {}
    notes = []
    for i, case in enumerate(CASES):
        with tempfile.TemporaryDirectory() as tmp:
            res = run_case(case, Path(tmp))
        row = totals.setdefault(case.cls, {k: 0 for k in COLUMNS})
        for k in COLUMNS:
            row[k] += res[k]
        notes += [f"case {i} ({case.cls}, {' '.join(case.argv)}): {n}" for n in res["notes"]]
    totals["total"] = {k: sum(r[k] for r in totals.values()) for k in COLUMNS}
    if args.json:
        for cls, row in totals.items():
            print(json.dumps({"class": cls, **row}))
    else:
        print("| bad-input class | " + " | ".join(HEADERS) + " |")
        print("|---|" + "---:|" * len(HEADERS))
        for cls, row in totals.items():
            name = f"**{cls}**" if cls == "total" else cls
            print(f"| {name} | " + " | ".join(str(row[k]) for k in COLUMNS) + " |")
    for n in notes:
        print("NOTE", n, file=sys.stderr)
    return 1 if notes or totals["total"]["wrong"] or totals["total"]["lost"] else 0


if __name__ == "__main__":
    sys.exit(main())
