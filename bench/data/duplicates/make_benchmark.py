#!/usr/bin/env python3
"""Render the hand-written base publications into database-style records.

    python make_benchmark.py            # writes benchmark.jsonl, stats.json, README counts
    python make_benchmark.py --check    # only validates an existing benchmark.jsonl

Inputs (all in this folder, all hand-written): publications.txt (one publication per
line), groups.txt (author teams) and journals.py (journal names, DOI patterns, numbering).
Everything random comes from random.Random seeded with SEED and the publication key, so
the output is the same on every run and does not depend on dict or set ordering.

This script was written without looking at the de-duplication code it is meant to test.
"""
from __future__ import annotations

import argparse
import json
import random
import re
import sys
import unicodedata
from collections import Counter, defaultdict
from itertools import combinations
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from journals import BOOKS, J, LANG, PREPRINT  # noqa: E402

SEED = 20261203
SOURCES = ["pubmed", "embase", "psycinfo", "scopus", "wos", "cinahl", "europepmc", "openalex",
           "crossref"]
TYPES = {"art": "journal-article", "proto": "protocol", "edit": "editorial", "com": "comment",
         "err": "erratum", "conf": "conference-abstract", "pre": "preprint",
         "chap": "book-chapter"}
KIND_NAMES = {
    "protocol-results": "trial/review protocol vs its results paper",
    "erratum": "erratum/correction vs the article it corrects",
    "comment": "comment, letter or reply vs the article it discusses (and vs each other)",
    "conference-article": "conference abstract vs the later full article",
    "similar-title": "same team, same year, similar title, different paper",
    "series": "parts of a numbered series",
    "recurring": "recurring title in one journal (different issues/authors)",
}


def R(*parts) -> random.Random:
    return random.Random(f"{SEED}|" + "|".join(str(p) for p in parts))


# ----------------------------------------------------------------------------- loading
def load_groups():
    groups = {"none": dict(country="", spell="uk", people=[])}
    for line in (HERE / "groups.txt").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        key, country, spell, names = [x.strip() for x in line.split("|")]
        people = []
        for n in names.split(";"):
            sur, given = [x.strip() for x in n.split(",", 1)]
            people.append((sur, given))
        groups[key] = dict(country=country, spell=spell, people=people)
    return groups


def load_pubs():
    pubs = {}
    for lineno, line in enumerate((HERE / "publications.txt").read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        line = line.rstrip()
        if line.endswith("|"):
            line += " "
        parts = [x.strip() for x in line.split(" | ")]
        if len(parts) != 8:
            raise SystemExit(f"publications.txt:{lineno}: expected 8 fields, got {len(parts)}")
        key, typ, year, jkey, team, design, title, flagstr = parts
        flags = {}
        m = re.search(r"collab=(.*)$", flagstr)
        if m:
            flags["collab"] = m.group(1).strip()
            flagstr = flagstr[:m.start()]
        for tok in flagstr.split():
            if "=" in tok:
                k, v = tok.split("=", 1)
                flags[k] = v
            else:
                flags[tok] = True
        orig = None
        if " || " in title:
            title, orig = [x.strip() for x in title.split(" || ")]
        if key in pubs:
            raise SystemExit(f"duplicate key {key}")
        pubs[key] = dict(key=key, typ=typ, year=int(year), jkey=jkey, team=team, design=design,
                         title=title, orig=orig, flags=flags, lang=flags.get("lang", "en"))
    return pubs


# ----------------------------------------------------------------------------- text helpers
GREEK = {"α": "alpha", "β": "beta", "γ": "gamma", "δ": "delta", "Δ": "Delta", "κ": "kappa",
         "ω": "omega", "μ": "mu", "σ": "sigma"}
UK_US = [("randomised", "randomized"), ("Randomised", "Randomized"), ("programme", "program"),
         ("Programme", "Program"), ("behaviour", "behavior"), ("centres", "centers"),
         ("centre", "center"), ("counselling", "counseling"), ("counsellors", "counselors"),
         ("Counselling", "Counseling"), ("organisational", "organizational"),
         ("organisation", "organization"), ("analysed", "analyzed"), ("utilisation", "utilization"),
         ("paediatric", "pediatric"), ("victimisation", "victimization"), ("synthesise", "synthesize"),
         ("recognised", "recognized"), ("characterised", "characterized"), ("prioritise", "prioritize")]
ACRONYMS = ["COVID", "NHS", "CAMHS", "LGBTQ", "HIV", "CBT", "AI", "UK", "US", "ADHD"]
PROPER = set("""Māori Pacific Black Latino Indigenous Chinese Irish Dutch German Germany Norwegian
Swedish Danish Finnish French Spanish Italian Israeli Kenyan Kenya India Nepal Pakistan China Hong
Kong Singapore Japanese Korean Chile Chilean Polish Flemish Scottish Scotland Welsh Wales England
Ireland Australia Australian Queensland South New Zealand Aotearoa Ontario Quebec Montréal Alberta
British Columbia Canadian Canada Texas United States Netherlands Norway Sweden Denmark France Spain
Italy Brazil Brazilian Uganda Harare Nigeria Bihar Cape Town Nairobi Brisbane Medicaid WhatsApp
Kahramanmaraş Kaupapa Catalonia Île-de-France Japan Swiss Portuguese Türkiye Africa African""".split())
PROPER_TC = PROPER


def strip_html(t):
    return re.sub(r"</?(i|b|scp|sup|sub)>", "", t) if t else t


def fold(t):
    """ASCII-fold Latin diacritics (Web of Science style); non-Latin scripts are kept."""
    if t is None:
        return t
    t = t.replace("ß", "ss").replace("ø", "o").replace("Ø", "O").replace("æ", "ae").replace("ı", "i")
    out = []
    for ch in unicodedata.normalize("NFKD", t):
        if unicodedata.combining(ch):
            continue
        out.append(ch)
    return unicodedata.normalize("NFC", "".join(out))


def fold_de(t):
    """German-style transliteration (ü -> ue) used by some exports."""
    for a, b in [("ü", "ue"), ("ö", "oe"), ("ä", "ae"), ("Ü", "Ue"), ("Ö", "Oe"), ("Ä", "Ae")]:
        t = t.replace(a, b)
    return fold(t)


def greek_out(t):
    for g, name in GREEK.items():
        t = t.replace(g, name)
    return t


def straight(t):
    return (t.replace("“", '"').replace("”", '"').replace("‘", "'").replace("’", "'")
            .replace("–", "-").replace("—", "-"))


def americanize(t):
    for uk, us in UK_US:
        t = re.sub(rf"\b{uk}", us, t)
    return t


def britishize(t):
    for uk, us in UK_US:
        t = re.sub(rf"\b{us}\b", uk, t)
    return t


def wiley_html(t):
    for a in ACRONYMS:
        t = re.sub(rf"\b{a}\b", f"<scp>{a}</scp>", t)
    return re.sub(r"(?<=[A-Za-z>])-(?=[A-Za-z0-9<])", "\u2010", t)


def add_period(t):
    return t if t.endswith((".", "?", "!")) else t + "."


def drop_subtitle(t):
    m = re.match(r"(.+?)[:?]\s", t)
    if m and len(m.group(1).split()) >= 4:
        return m.group(1) + ("?" if t[m.end() - 2] == "?" else "")
    return None


def main_clause(title, titlecase):
    t = straight(strip_html(title)).replace('"', "")
    parts = re.split(r": |\? |\. ", t, maxsplit=1)
    main = parts[0]
    if len(parts) > 1 and (len(main.split()) < 4 or t[len(main)] == "?"):
        main = parts[1]
    main = main.rstrip(".?")
    words = main.split()
    out = []
    for i, w in enumerate(words):
        bare = w.strip(",()")
        keep = (bare in (PROPER_TC if titlecase else PROPER)) or (len(bare) > 1 and bare[1:].isupper() and bare[0].isupper()) \
            or any(c.isupper() for c in bare[1:]) or bare.isupper()
        if keep:
            out.append(w)
        elif titlecase or i == 0:
            out.append(w[:1].lower() + w[1:])
        else:
            out.append(w)
    return " ".join(out)


# ----------------------------------------------------------------------------- authors
def initials(given, style):
    toks = given.replace(".", ". ").split()
    out = []
    for tok in toks:
        tok = tok.strip(".")
        if not tok:
            continue
        if "-" in tok:
            parts = [p for p in tok.split("-") if p]
            if style == "nlm":
                out.append("".join(p[0].upper() for p in parts))
            else:
                out.append("-".join(p[0].upper() + "." for p in parts))
        else:
            out.append(tok[0].upper() if style == "nlm" else tok[0].upper() + ".")
    if style == "nlm":
        return "".join(out)
    if style == "spaced":
        return " ".join(out)
    return "".join(out)


def apa_given(given):
    toks = given.split()
    return " ".join([toks[0]] + [initials(t, "dotted") for t in toks[1:]])


PARTICLES = ("van", "de", "der", "den", "van der", "van den", "de la", "el", "ben", "te", "ní", "ó")


def misparse_openalex(sur, given):
    """OpenAlex splits a display name at the last space: 'García López' becomes the surname
    'López' with 'María José García' as given names."""
    if " " not in sur:
        return sur, given
    first, last = sur.rsplit(" ", 1)
    return last, f"{given} {first}"


def fmt_author(sur, given, src, rng, opts):
    if src in ("pubmed", "europepmc"):
        return f"{sur} {initials(given, 'nlm')}"
    if src == "embase":
        s = sur
        if opts.get("cap_particles") and " " in s:
            s = " ".join(w[:1].upper() + w[1:] for w in s.split())
        a = f"{s} {initials(given, 'dotted')}"
        return fold(a) if opts.get("fold") else a
    if src == "psycinfo":
        return f"{sur}, {apa_given(given)}"
    if src == "scopus":
        return f"{sur}, {initials(given, 'dotted')}"
    if src == "wos":
        s, g = sur, given
        if " " in s and opts.get("wos_misparse") and not s.lower().startswith(("van ", "de ", "te ", "el ", "ní ", "ó ")):
            first, last = s.rsplit(" ", 1)
            s, g = last, f"{g} {first}"
        a = f"{s}, {initials(g, 'nlm')}"
        if opts.get("fold_de"):
            return fold_de(a)
        return fold(a) if opts.get("fold") else a
    if src == "cinahl":
        g = given if opts.get("cinahl_full") else apa_given(given).replace(".", "")
        a = f"{sur}, {g}"
        return fold(a) if opts.get("fold") else a
    if src == "openalex":
        s, g = sur, given
        if opts.get("oa_misparse"):
            s, g = misparse_openalex(s, g)
        if opts.get("oa_initials"):
            g = initials(g, "spaced")
        return f"{s}, {g}"
    if src == "crossref":
        if opts.get("cr_initials"):
            return f"{sur}, {initials(given, 'spaced')}"
        return f"{sur}, {given}"
    raise ValueError(src)


def render_authors(pub, src, rng, notes):
    people = pub["authors"]
    if not people:
        return ["[No author name available]"] if src == "scopus" and rng.random() < 0.7 else []
    opts = {"fold": src == "wos" and rng.random() < 0.6 or src in ("embase", "cinahl") and rng.random() < 0.25,
            "fold_de": src == "wos" and rng.random() < 0.12,
            "cap_particles": rng.random() < 0.5,
            "wos_misparse": rng.random() < 0.4,
            "cinahl_full": rng.random() < 0.5,
            "oa_misparse": rng.random() < 0.6,
            "oa_initials": rng.random() < 0.1,
            "cr_initials": rng.random() < 0.2}
    out = [fmt_author(s, g, src, rng, opts) for s, g in people]
    collab = pub["flags"].get("collab")
    if collab:
        if src in ("pubmed", "europepmc", "embase", "crossref"):
            out.append(collab)
        elif src == "wos":
            out.append(collab.replace("Group", "Grp"))
        elif src == "scopus" and rng.random() < 0.5:
            out.append(collab)
    if src in ("cinahl", "embase", "wos", "crossref") and len(out) > 4 and rng.random() < 0.07:
        out = out[:3] + ["et al."]
        notes.append("author list truncated with et al.")
    return out


# ----------------------------------------------------------------------------- numbering
PMID_BASE = {2007: 17.2e6, 2008: 18.1e6, 2009: 19.1e6, 2010: 20.0e6, 2011: 21.2e6, 2012: 22.2e6,
             2013: 23.2e6, 2014: 24.3e6, 2015: 25.5e6, 2016: 26.7e6, 2017: 28.0e6, 2018: 29.3e6,
             2019: 30.6e6, 2020: 31.9e6, 2021: 33.4e6, 2022: 34.9e6, 2023: 36.6e6, 2024: 38.2e6,
             2025: 39.8e6, 2026: 41.3e6}
SCHBUL_SUFFIX = {2015: "v", 2016: "w", 2017: "x", 2018: "y", 2019: "z", 2020: "aa", 2021: "ab",
                 2022: "ac", 2023: "ad", 2024: "ae", 2025: "af"}


def make_pmid(year, month, rng):
    a, b = PMID_BASE[year], PMID_BASE[year + 1]
    frac = (month - 1 + rng.random()) / 12
    return str(int(a + (b - a) * frac))


def checkchar(rng, x=True):
    return rng.choice("0123456789" + ("X" if x else ""))


def springer_check(rng):
    return rng.choice("0123456789x")


def volume_for(jk, year, rng):
    jn = J[jk]
    if jk == "CYSR":
        return str(96 + (year - 2019) * 12 + rng.randint(0, 11)) if year >= 2019 else str(61 + (year - 2016) * 12 + rng.randint(0, 11))
    if jk == "INTERV":
        return str(15 + (year - 2019) * 4 + rng.randint(0, 3))
    if jk == "SSM":
        return str(220 + (year - 2019) * 24 + rng.randint(0, 23)) if year >= 2019 else str(170 + (year - 2017) * 24 + rng.randint(0, 23))
    if jk == "JADOL":
        return str(94 + (year - 2022) * 8 + rng.randint(0, 7)) if year >= 2022 else str(65 + (year - 2018) * 7 + rng.randint(0, 6))
    if jk == "JAH":  # two volumes a year since 2014
        return str(64 + (year - 2019) * 2 + rng.randint(0, 1)) if year >= 2014 else str(year - 1955 + (year - 2009) // 3)
    if jk == "EURPSY" and year < 2020:
        return str(year - 1963)
    return str(year - jn["vol_off"])


def place(pub, rng):
    """Volume, issue, supplement, pages, DOI, months for one publication."""
    jk = pub["jkey"]
    f = pub["flags"]
    y = pub["year"]
    typ = pub["typ"]
    if jk in BOOKS:
        b = BOOKS[jk]
        start = rng.randint(1, 300)
        pub.update(volume=None, issue=None, supp=None, pages=(str(start), str(start + rng.randint(14, 30))),
                   artno=None, month=rng.randint(3, 11), online_year=y, epub=False,
                   doi=b["doi"].format(ch=pub["chapter"]))
        return
    jn = J[jk]
    online_only = jn["online_only"]
    vol = f.get("vol") or volume_for(jk, y, rng)
    issues = jn["issues"]
    if "issue" in f:
        issue = int(f["issue"])
    else:
        issue = rng.randint(1, issues)
        prev = pub.get("_prev")
        if prev and prev["year"] == y and prev.get("issue") and str(prev["issue"]).isdigit() and issues > 1:
            issue = min(issues, int(prev["issue"]) + rng.randint(0, 1))  # parts of a series come in order
            if issue == int(prev["issue"]) and prev.get("pages"):
                pub["pages_override"] = None
        t = pub.get("_target")
        if t and t["year"] == y and t.get("issue") and str(t["issue"]).isdigit() and issues > 1:
            ti = int(t["issue"])  # a correction or comment appears after the article it is about
            issue = rng.randint(min(ti + 1, issues), min(issues, ti + 3))
    month = max(1, min(12, -(-issue * 12 // issues))) if issues > 1 else rng.randint(1, 12)
    t = pub.get("_target")
    if t and t["year"] == y and t.get("month") and month <= t["month"]:
        month = min(12, t["month"] + rng.randint(1, 3))
    supp = None
    epub = False
    if not online_only and typ in ("art", "proto", "com", "err") and "noepub" not in f and not f.get("supp"):
        epub = ("epub" in f) or (rng.random() < 0.22 and month <= 4)
    online_year = y - 1 if epub else y
    omonth = rng.randint(8, 12) if epub else max(1, month - rng.randint(0, 2))
    issue_s = None if issues == 1 and jk not in ("BMCPSY", "BMCPH", "TRIALS", "SYSREV", "CAPMH", "IMPSCI") else str(issue)
    if jk in ("BMCPSY", "BMCPH", "TRIALS", "SYSREV", "CAPMH", "IMPSCI"):
        issue_s = "1"
    if jk in ("FPSY", "EBMH") or (jk == "EURPSY" and not f.get("supp")):
        issue_s = None if jk != "EBMH" or y >= 2023 else str(rng.randint(1, 4))
    pages, artno = None, None
    n_pages = {"art": (6, 14), "proto": (6, 12), "edit": (1, 2), "com": (1, 3), "err": (1, 1),
               "conf": (1, 2)}[typ]
    style = jn["pages"]
    if style == "art6e" and y < 2019:
        style = "range"
    if style == "art6s" and y < 2019:
        style = "range"
    if jk == "EBMH":
        style = "bmjo" if y >= 2023 else "range"
    n5 = rng.randint(10000, 99999)
    doi = None
    # --- conference supplements and front matter in supplements
    if f.get("supp"):
        s = rng.randint(20, 420)
        if jk == "EIP":
            issue_s, supp = None, "S1"
            pages = (str(s), None) if typ == "conf" else (("1", str(rng.randint(150, 260))) if pub["design"] == "frontmatter" else (str(rng.randint(3, 6)), None))
            doi = None if typ == "conf" else f"10.1111/eip.{12500 + (y - 2016) * 700 + rng.randint(0, 699)}"
        elif jk == "EURPSY":
            vol = str(y - 1963)
            issue_s, supp = None, "S1"
            pages = (f"S{s}", None if rng.random() < 0.7 else f"S{s + 1}")
            doi = f"10.1192/j.eurpsy.{y}.{rng.randint(300, 2400)}" if y >= 2021 else None
        elif jk == "JAACAP":
            issue_s, supp = "10", "Suppl"
            pages = (f"S{s}", None if rng.random() < 0.6 else f"S{s + 1}")
            doi = f"10.1016/j.jaac.{y}.{rng.randint(7, 8):02d}.{rng.randint(100, 999)}"
        elif jk == "JAH":
            issue_s, supp = "2", "Suppl"
            pages = (f"S{s}", f"S{s + 1}")
            doi = f"10.1016/j.jadohealth.{y - 1}.11.{rng.randint(10, 299):03d}"
        elif jk == "SCHBULL":
            issue_s, supp = None, "Suppl 1"
            pages = (f"S{s}", None)
            doi = f"10.1093/schbul/sb{SCHBUL_SUFFIX[y]}{rng.randint(10, 40):03d}.{rng.randint(100, 999)}"
        elif jk == "BJPO":
            issue_s, supp = None, "S1"
            pages = (f"S{s}", None)
            doi = f"10.1192/bjo.{y}.{rng.randint(200, 700)}"
        else:
            raise SystemExit(f"no supplement rules for {jk}")
        pub.update(volume=vol, issue=issue_s, supp=supp, pages=pages, artno=None, month=rng.randint(2, 10),
                   online_year=y, epub=False, doi=None if "nodoi" in f else doi)
        return
    # --- pages / article numbers
    lo, hi = n_pages
    if style in ("range",):
        ppy = jn["ppy"] or 1200
        if jk in ("CYSR", "SSM", "JADOL"):
            ppy = 1400 if jk != "JADOL" else 1100
        per = max(40, ppy // max(issues, 1))
        start = (issue - 1) * per + rng.randint(1, max(2, per - 20))
        if jk == "JADOL" or jk in ("CYSR", "SSM"):
            start = rng.randint(1, 300)
        if pub.get("pages_override"):
            pages = pub["pages_override"]
        else:
            pages = (str(start), str(start + rng.randint(lo, hi) - 1) if hi > 1 else None)
            if pages[1] == pages[0]:
                pages = (pages[0], None)
    elif style == "e5":
        n = 5000 + (y - 2015) * 8000 + (month - 1) * 666 + rng.randint(0, 665)
        artno = f"e{n}"
        doi = f"10.2196/{n}"
    elif style == "e0":
        n = 130000 + (y - 2015) * 17000 + (month - 1) * 1416 + rng.randint(0, 1415)
        artno = f"e0{n}"
        doi = f"10.1371/journal.pone.0{n}"
    elif style == "bmc":
        artno = str((month - 1) * 75 + rng.randint(1, 75))
    elif style == "bmjo":
        n = rng.randint(20000, 89999) if jk == "BMJOPEN" else rng.randint(300000, 301300)
        artno = f"e0{n}" if jk == "BMJOPEN" else f"e{n}"
        doi = f"10.1136/bmjopen-{online_year}-0{n}" if jk == "BMJOPEN" else f"10.1136/bmjment-{y}-{n}"
    elif style == "bjo":
        n = rng.randint(10, 400)
        artno = f"e{n}"
        doi = f"10.1192/bjo.{y}.{rng.randint(10, 900)}"
    elif style == "art6":
        if y < 2021:  # Frontiers used zero-padded 5-digit numbers until 2020
            artno = str(rng.randint(10, 1100))
            doi = f"10.3389/fpsyt.{y}.{artno.zfill(5)}"
        else:
            artno = str(rng.randint(600000, 1099999) if y < 2023 else rng.randint(1000000, 1400000))
            doi = f"10.3389/fpsyt.{y}.{artno}"
    elif style == "art6e":
        artno = str(104300 + (y - 2019) * 800 + (month - 1) * 66 + rng.randint(0, 65))
    elif style == "art6i":
        artno = str(100250 + (y - 2019) * 150 + (month - 1) * 12 + rng.randint(0, 11))
    elif style == "art6s":
        artno = str(112300 + (y - 2019) * 1400 + (month - 1) * 116 + rng.randint(0, 115))
    elif style == "art4":
        artno = str(rng.randint(1000, 9999))
    elif style == "eurpsy":
        if y >= 2020:
            n = rng.randint(10, 120)
            artno = f"e{n}"
            doi = f"10.1192/j.eurpsy.{y}.{n}"
        else:
            start = rng.randint(1, 120)
            pages = (str(start), str(start + rng.randint(lo, hi) - 1))
    elif style == "tidsskr":
        pages = None
    elif style == "fpage":
        artno = "".join(rng.choice("ACDEFHJKLMNPRSTUVWXY0123456789") for _ in range(4))
    else:
        raise SystemExit(style)
    if jk in ("CYSR", "INTERV", "SSM") and y >= 2019:
        issue_s = None
    if pub["design"] == "frontmatter" and jk == "CYSR":
        pages, artno = ("IFC", None), None
    # --- DOIs
    yy = y % 100
    oyy = online_year % 100
    pat = jn["doi"]
    first = pages[0] if pages else (artno or "1")
    if doi is None:
        if pat == "elsevier_old":
            doi = f"10.1016/j.{jn['code']}.{online_year}.{omonth:02d}.{rng.randint(1, 120):03d}"
        elif pat == "elsevier_new":
            doi = f"10.1016/j.{jn['code']}.{y}.{artno}" if artno else \
                f"10.1016/j.{jn['code']}.{online_year}.{omonth:02d}.{rng.randint(1, 60):03d}"
        elif pat == "jadol":
            doi = f"10.1002/jad.{12000 + (y - 2022) * 250 + rng.randint(0, 249)}" if y >= 2022 else \
                f"10.1016/j.adolescence.{online_year}.{omonth:02d}.{rng.randint(1, 40):03d}"
        elif pat == "lancet":
            doi = f"10.1016/S2215-0366({oyy:02d}){rng.randint(100, 520):05d}-{checkchar(rng)}"
        elif pat == "wiley":
            doi = f"10.1111/{jn['code']}.{12000 + (y - 2014) * 650 + rng.randint(0, 649)}"
        elif pat == "wiley2":
            doi = f"10.1002/{jn['code']}.{12000 + (y - 2016) * 120 + rng.randint(0, 119)}"
        elif pat == "springer":
            doi = f"10.1007/s{jn['code']}-0{oyy:02d}-{rng.randint(100, 4999):04d}-{springer_check(rng)}" if oyy < 19 \
                else f"10.1007/s{jn['code']}-0{oyy:02d}-{rng.randint(100, 2999):05d}-{springer_check(rng)}"
        elif pat == "bmc":
            doi = f"10.1186/s{jn['code']}-0{yy:02d}-{1000 + (month - 1) * 450 + rng.randint(0, 449):04d}-{rng.randint(0, 9)}"
        elif pat == "tandf":
            doi = f"10.1080/{jn['issn']}.{online_year}.{rng.randint(1300000, 2400000):07d}"
        elif pat == "apa":
            doi = f"10.1037/{jn['code']}0000{rng.randint(100, 999):03d}"
        elif pat == "appi":
            doi = f"10.1176/appi.ps.{online_year}00{rng.randint(10, 700):03d}" if y >= 2012 else \
                f"10.1176/ps.{y}.{vol}.{issue}.{first}"
        elif pat == "sage":
            doi = f"10.1177/{jn['issn']}{oyy:02d}{rng.randint(800000, 999999):06d}"
        elif pat == "bjp":
            doi = f"10.1192/bjp.{online_year}.{rng.randint(10, 280)}"
        elif pat == "psymed":
            doi = f"10.1017/S00332917{oyy:02d}{rng.randint(100, 5200):06d}"
        elif pat == "oup":
            doi = f"10.1093/schbul/sb{SCHBUL_SUFFIX[online_year]}{rng.randint(1, 220):03d}"
        elif pat == "jama":
            doi = f"10.1001/{jn['code']}.{online_year}.{rng.randint(100, 5999):04d}"
        elif pat == "mdpi":
            doi = f"10.3390/ijerph{vol}{issue:02d}{artno}"
        elif pat == "emerald":
            doi = f"10.1108/{jn['code']}-{rng.randint(1, 12):02d}-{online_year - 1}-{rng.randint(1, 120):04d}"
        elif pat == "thieme":
            doi = f"10.1055/a-{rng.randint(0, 0xffff):04x}-{rng.randint(0, 0xffff):04x}"
        elif pat == "vr":
            doi = f"10.13109/prkk.{y}.{vol}.{issue}.{first}"
        elif pat == "erudit":
            doi = f"10.7202/{rng.randint(1070000, 1110000)}ar"
        elif pat == "tidsskr":
            doi = f"10.4045/tidsskr.{oyy:02d}.{rng.randint(10, 999):04d}"
        elif pat == "ciensaude":
            doi = f"10.1590/1413-8123{y}{vol}{issue:02d}.{rng.randint(10000000, 39999999)}"
        elif pat == "psychpol":
            doi = f"10.12740/PP/{rng.randint(100000, 180000)}"
        elif pat == "rivpsich":
            doi = f"10.1708/{rng.randint(2800, 3900)}.{rng.randint(28000, 39000)}"
        elif pat == "scielo":
            doi = f"10.1590/1516-4446-{online_year}-{rng.randint(100, 1999):04d}"
        elif pat == "bmj_ebmh":
            doi = f"10.1136/ebmental-{online_year}-{rng.randint(300000, 300400)}"
        elif pat == "none":
            doi = None
        else:
            raise SystemExit(pat)
    if "nodoi" in f:
        doi = None
    pub.update(volume=vol, issue=issue_s, supp=supp, pages=pages, artno=artno, month=month,
               omonth=omonth, online_year=online_year, epub=epub, doi=doi)


# ----------------------------------------------------------------------------- abstracts
def topic(pub):
    t = (pub["title"] + " " + (pub.get("target_title") or "")).lower()
    outcome = "mental wellbeing"
    for k, v in [("depress", "depressive symptoms"), ("anxiety", "anxiety symptoms"),
                 ("distress", "psychological distress"), ("suicid", "suicidal ideation"),
                 ("self-harm", "repeat self-harm"), ("help-seeking", "help-seeking"),
                 ("engagement", "service engagement"), ("psychosis", "social and occupational functioning"),
                 ("loneliness", "loneliness"), ("literacy", "mental health literacy"),
                 ("rehospital", "psychiatric readmission"), ("caregiver", "caregiver strain"),
                 ("absentee", "school absence"), ("bullying", "bullying victimisation"),
                 ("stress", "perceived stress"), ("service use", "mental health service use")]:
        if k in t:
            outcome = v
            break
    if re.search(r"school|pupil|teacher|student", t) and not re.search(r"universit|college|campus|higher education", t):
        part, sites = "secondary school students", "schools"
    elif re.search(r"universit|college|campus|higher education", t):
        part, sites = "university students", "universities"
    elif re.search(r"nurse|staff|clinician|psychiatrist|manager|workers'|workforce|employer", t):
        part, sites = "peer workers, clinicians and managers", "mental health services"
    elif re.search(r"parent|family|famil|caregiver|carer", t):
        part, sites = "parents and caregivers", "child and family services"
    elif "psychosis" in t:
        part, sites = "young people with first-episode psychosis", "early intervention services"
    elif "inpatient" in t or "hospital" in t:
        part, sites = "adolescents admitted to inpatient units", "inpatient units"
    else:
        part, sites = "young people aged 12-25 years", "youth mental health services"
    return outcome, part, sites


BG = [
    "Peer support, in which people with lived experience of mental health difficulties support others, is increasingly offered to young people, but the evidence base remains limited.",
    "Young people often turn to peers before professionals when they experience mental health difficulties.",
    "Peer support workers are being introduced into youth mental health services in many countries, yet little is known about how these roles work in practice.",
    "Adolescence and early adulthood are peak periods for the onset of mental disorders, and many young people do not seek professional help.",
    "Lived experience roles are a growing part of the youth mental health workforce, but their implementation varies widely.",
    "Relationships with peers shape mental health across adolescence, for better and for worse.",
    "Engagement with mental health services is often poor among adolescents and young adults.",
    "Policy documents increasingly recommend peer support for young people, although the mechanisms through which it works are poorly understood.",
    "Informal support from friends and classmates is an important but under-researched resource for young people's mental health.",
    "Mental health services for young people are under pressure, with long waiting times in many systems.",
    "Young people from minoritised communities face additional barriers to accessing mental health care.",
    "The COVID-19 pandemic disrupted young people's social lives, schooling and access to services.",
    "Digital platforms now offer many young people their first contact with mental health support.",
    "Workforce shortages have prompted interest in lay and peer-delivered psychological interventions.",
    "Youth participation and co-design are now expected in the development of mental health services.",
    "School-based programmes can reach young people who would not otherwise seek help.",
    "Most research on peer support has been conducted with adults, and findings may not transfer to young people.",
    "Transitions between child and adult services are a time of particular risk for disengagement.",
    "Lay health workers and peers can extend the reach of psychological care in low-resource settings.",
]
BG_TOPIC = [
    "Little is known about {aim} in {country}.",
    "Concerns about {outcome} are common among {part}, and many do not receive timely support.",
    "Evidence on {aim} remains scarce, particularly outside research settings.",
    "There is growing interest in peer-based approaches for {part} in {country}.",
    "Few studies have examined {aim}.",
    "Understanding {aim} could inform service planning in {country}.",
]
THEMES = ["shared experience as a basis for trust", "navigating boundaries", "hope and role modelling",
          "feeling understood without judgement", "organisational support and supervision",
          "tension between lived experience and professional roles", "practical help with navigating services",
          "power and voice", "fears about disclosure", "belonging and connection", "the value of informality",
          "uncertain role definitions", "cultural identity and connection", "being seen as a whole person"]
MECHS = ["trust built on shared experience", "hope", "reduced self-stigma", "a sense of belonging",
         "feeling safe to disclose", "practical navigation of services", "role modelling of recovery",
         "mutuality and reciprocity"]
CONCL = [
    "Peer support appears acceptable to young people, but adequately powered trials are needed.",
    "Services introducing peer roles should invest in supervision, role clarity and organisational readiness.",
    "The findings support the integration of peer support into youth mental health services.",
    "Culturally grounded approaches and youth participation should be central to future programmes.",
    "Further research should examine mechanisms of change and longer-term outcomes.",
    "Policy makers should consider sustainable funding for youth peer support roles.",
]
DBS = ["MEDLINE, Embase, PsycINFO and CINAHL", "MEDLINE, PsycINFO, Scopus and Web of Science",
       "PubMed, Embase, PsycINFO, CINAHL and ERIC", "Ovid MEDLINE, Embase, PsycINFO and the Cochrane Library"]


def ci(rng, centre, spread):
    d = round(centre, 2)
    return d, round(d - spread, 2), round(d + spread, 2)


def abstract_parts(pub, groups):
    """Content of the abstract as {part: text}; labelled per journal style later."""
    rng = R(pub["key"], "abstract")
    d = pub["design"]
    country = groups[pub["team"]]["country"] or "several countries"
    outcome, part, sites = topic(pub)
    tc = J[pub["jkey"]]["tc"] if pub["jkey"] in J else False
    aim_obj = main_clause(pub["title"], tc)
    n = rng.choice([24, 36, 48, 120, 186, 240, 312, 420, 568, 840, 1204, 2310])
    bg_t = rng.choice(BG_TOPIC).format(aim=aim_obj, country=country, part=part, outcome=outcome)
    bg = " ".join([rng.choice(BG), bg_t] if rng.random() < 0.5 else [bg_t, rng.choice(BG)])
    P = {}
    if d in ("rct", "pilot", "cost"):
        cl = "cluster " if "cluster" in pub["title"].lower() else ""
        n = rng.choice([60, 96, 148, 204, 286, 366, 452, 640, 1120])
        fu = rng.choice([3, 6, 12])
        ctrl = rng.choice(["usual care", "an information-only control", "waiting list", "enhanced usual care"])
        P["bg"] = bg
        P["aim"] = f"To evaluate {aim_obj}." if d != "cost" else f"To estimate the cost-effectiveness of {aim_obj}."
        if d == "pilot":
            P["methods"] = (f"In this feasibility randomised controlled trial, {n // 3} participants were recruited from "
                            f"{rng.randint(2, 6)} {sites} in {country} and randomly allocated to the intervention or {ctrl}. "
                            "Feasibility outcomes were recruitment, retention, fidelity and acceptability.")
            P["results"] = (f"Recruitment reached {rng.randint(62, 100)}% of the target and {rng.randint(70, 92)}% of participants "
                            f"completed follow-up at {fu} months. Fidelity was high and no serious adverse events were related to the intervention.")
        elif d == "cost":
            P["methods"] = (f"An economic evaluation was conducted alongside a randomised controlled trial ({n} participants) "
                            f"from a {rng.choice(['health-care', 'societal'])} perspective over {fu} months.")
            P["results"] = (f"The incremental cost-effectiveness ratio was {rng.choice(['$', '£', 'US$'])}{rng.randint(4, 38) * 1000} "
                            f"per quality-adjusted life year, with a {rng.randint(55, 88)}% probability of being cost-effective at common thresholds.")
        else:
            mdv, lo, hi = ci(rng, -rng.uniform(0.8, 3.2), rng.uniform(0.5, 1.4))
            P["methods"] = (f"We conducted a {rng.choice(['', 'pragmatic '])}{cl}randomised controlled trial in {rng.randint(2, 40)} {sites} "
                            f"in {country}. Participants (n = {n}) were randomly assigned to the intervention or to {ctrl}. "
                            f"The primary outcome was {outcome} at {fu} months.")
            if rng.random() < 0.6:
                P["results"] = (f"{int(n * rng.uniform(0.72, 0.9))} participants were included in the primary analysis. "
                                f"The intervention group improved more than the control group on {outcome} (adjusted mean difference {mdv}, "
                                f"95% CI {lo} to {hi}).")
            else:
                P["results"] = (f"{int(n * rng.uniform(0.72, 0.9))} participants were included in the primary analysis. There was no "
                                f"significant difference in {outcome} between groups (adjusted mean difference {round(mdv / 4, 2)}, "
                                f"95% CI {round(lo / 2, 2)} to {round(-lo / 3, 2)}); secondary outcomes favoured the intervention.")
        P["concl"] = rng.choice(CONCL)
    elif d in ("qual",):
        P["bg"] = bg
        P["aim"] = f"To explore {aim_obj}."
        P["methods"] = (f"We conducted semi-structured interviews{rng.choice(['', ' and focus groups'])} with {rng.randint(12, 42)} "
                        f"{part} in {country}. Data were analysed using {rng.choice(['reflexive thematic analysis', 'interpretative phenomenological analysis', 'framework analysis', 'a constructivist grounded theory approach'])}.")
        th = rng.sample(THEMES, 3)
        P["results"] = f"{rng.choice(['Three', 'Four'])} themes were identified, including {th[0]}, {th[1]} and {th[2]}."
        P["concl"] = rng.choice(CONCL)
    elif d in ("cross", "survey"):
        orv, lo, hi = ci(rng, rng.uniform(0.45, 0.85), rng.uniform(0.08, 0.2))
        P["bg"] = bg
        P["aim"] = f"To examine {aim_obj}."
        P["methods"] = (f"A cross-sectional {rng.choice(['', 'online '])}survey was completed by {n} {part} in {country}. "
                        f"Associations were examined using {rng.choice(['', 'multilevel '])}{rng.choice(['logistic', 'linear'])} regression.")
        P["results"] = (f"Overall, {rng.randint(18, 64)}% of participants reported receiving support from peers in the past year. "
                        f"Higher perceived peer support was associated with lower {outcome} (OR {orv}, 95% CI {lo}-{hi}).")
        P["concl"] = rng.choice(CONCL)
    elif d == "cohort":
        hr, lo, hi = ci(rng, rng.uniform(0.55, 0.9), rng.uniform(0.06, 0.18))
        P["bg"] = bg
        P["aim"] = f"To investigate {aim_obj}."
        P["methods"] = (f"This {rng.choice(['prospective', 'retrospective', 'population-based'])} cohort study followed {n * 3} "
                        f"{part} in {country} for {rng.choice([12, 24, 36, 60])} months.")
        P["results"] = (f"During follow-up, {rng.randint(8, 41)}% of participants experienced the outcome. Peer support was "
                        f"associated with {outcome} (HR {hr}, 95% CI {lo}-{hi}) after adjustment for confounders.")
        P["concl"] = rng.choice(CONCL)
    elif d in ("sr", "meta", "scoping", "realist"):
        k = rng.randint(9, 74)
        P["bg"] = bg
        P["aim"] = f"To synthesise the evidence on {aim_obj}." if d != "realist" else \
            f"To identify how, for whom and in what circumstances {aim_obj} works."
        P["methods"] = f"We searched {rng.choice(DBS)} from inception to {rng.choice(['March', 'June', 'September', 'December'])} {pub['year'] - 1}."
        if d == "meta":
            smd, lo, hi = ci(rng, -rng.uniform(0.12, 0.45), rng.uniform(0.07, 0.18))
            P["methods"] += " Random-effects meta-analyses were conducted and risk of bias was assessed with RoB 2."
            P["results"] = (f"{k} randomised trials ({k * rng.randint(60, 180)} participants) were included. Peer-delivered interventions "
                            f"were associated with small improvements in {outcome} (SMD {smd}, 95% CI {lo} to {hi}; I2 = {rng.randint(20, 80)}%).")
        elif d == "scoping":
            P["methods"] += f" We followed {rng.choice(['JBI', 'Arksey and O’Malley'])} guidance and charted study characteristics."
            P["results"] = (f"{k} sources were included. Most were from high-income countries ({rng.randint(70, 92)}%) and "
                            f"{rng.randint(30, 70)}% described one-to-one peer support.")
        elif d == "realist":
            ms = rng.sample(MECHS, 3)
            P["methods"] += " Following RAMESES standards, documents were appraised for relevance and rigour and programme theories were refined with stakeholders."
            P["results"] = (f"{k} documents contributed to {rng.randint(6, 14)} context-mechanism-outcome configurations. Key mechanisms "
                            f"included {ms[0]}, {ms[1]} and {ms[2]}, triggered when peer workers were supported by their organisations.")
        else:
            P["methods"] += " Two reviewers independently screened records, extracted data and assessed quality."
            P["results"] = f"{k} studies met the inclusion criteria. Findings were mixed, and study quality was generally low to moderate."
        P["concl"] = rng.choice(CONCL)
    elif d in ("mixed", "eval"):
        P["bg"] = bg
        P["aim"] = f"To evaluate {aim_obj}." if d == "eval" else f"To examine {aim_obj}."
        P["methods"] = (f"{'This mixed-methods study combined' if d == 'mixed' else 'We used'} routinely collected data on {n} "
                        f"{part}{' with interviews with staff and young people' if d == 'mixed' else ' and feedback surveys'} in {country}.")
        P["results"] = (f"{rng.randint(62, 94)}% of young people rated the support as helpful, and {rng.randint(40, 80)}% "
                        "remained engaged at three months. Staff described benefits and challenges of integrating peer roles.")
        P["concl"] = rng.choice(CONCL)
    elif d == "psycho":
        P["bg"] = bg
        P["aim"] = f"To report {aim_obj}."
        P["methods"] = f"Items were developed with youth peer specialists and tested with {n} {part} in {country}."
        P["results"] = (f"A {rng.randint(2, 4)}-factor structure showed acceptable fit (CFI = 0.9{rng.randint(2, 8)}, RMSEA = 0.0{rng.randint(4, 7)}); "
                        f"Cronbach's α ranged from 0.7{rng.randint(4, 9)} to 0.8{rng.randint(5, 9)}.")
        P["concl"] = "The index can support supervision and quality improvement."
    elif d in ("proto", "protosr"):
        P["bg"] = bg
        if d == "proto":
            P["methods"] = (f"This {rng.choice(['pragmatic', 'multicentre', 'two-arm'])} randomised controlled trial will recruit {n} "
                            f"{part} from {sites} in {country}. The primary outcome is {outcome}. Process evaluation will explore implementation.")
            P["disc"] = "This trial will provide evidence on whether peer-delivered support improves outcomes for young people."
            reg = rng.choice([f"ISRCTN{rng.randint(10000000, 99999999)}", f"ClinicalTrials.gov NCT0{rng.randint(3000000, 6200000)}",
                              f"ACTRN1261{rng.randint(8000000, 9999999)}"])
            P["reg"] = f"{reg}. Registered {rng.randint(1, 28)} {rng.choice(['January', 'April', 'July', 'October'])} {pub['year'] - 1}."
        else:
            P["methods"] = (f"We will search {rng.choice(DBS)}. Two reviewers will independently screen records, extract data and "
                            "appraise study quality; evidence will be synthesised narratively and, where possible, by meta-analysis.")
            P["disc"] = "The review will inform the design and commissioning of peer support for young people."
            P["reg"] = f"PROSPERO CRD42{(pub['year'] - 1) % 100:02d}{rng.randint(100000, 499999)}"
    elif d == "chapter":
        P["plain"] = (f"This chapter describes {aim_obj}. It draws on research and practice in {country} and beyond, and "
                      "discusses implications for training, supervision and evaluation.")
    elif d == "policy":
        P["plain"] = (f"{bg} In this paper we discuss {aim_obj}, drawing on experience in {country}. "
                      f"{rng.choice(CONCL)}")
    elif d == "conf":
        P["bg"] = rng.choice(BG)
        P["methods"] = f"Data were collected from {n} {part} in {country}."
        P["results"] = f"Preliminary findings suggest benefits for {outcome}; {rng.randint(55, 90)}% of participants rated the support as helpful."
        P["concl"] = rng.choice(CONCL)
    else:  # editorial, commentary, letter, erratum, frontmatter
        return {}
    if groups[pub["team"]]["spell"] == "us":
        P = {k: americanize(v) for k, v in P.items()}
    return P


LABELS = {
    "bmc": [("Background", "bg"), ("Methods", "aim+methods"), ("Results", "results"), ("Conclusions", "concl")],
    "bmcproto": [("Background", "bg"), ("Methods", "methods"), ("Discussion", "disc"), ("Trial registration", "reg")],
    "jah": [("Purpose", "aim"), ("Methods", "methods"), ("Results", "results"), ("Conclusions", "concl")],
    "jmir": [("Background", "bg"), ("Objective", "aim"), ("Methods", "methods"), ("Results", "results"), ("Conclusions", "concl")],
    "lancet": [("Background", "bg"), ("Methods", "methods"), ("Findings", "results"), ("Interpretation", "concl"),
               ("Funding", "=National Institute for Health and Care Research.")],
    "jama": [("Importance", "bg"), ("Objective", "aim"), ("Design, Setting, and Participants", "methods"),
             ("Results", "results"), ("Conclusions and Relevance", "concl")],
    "bjpsych": [("Background", "bg"), ("Aims", "aim"), ("Method", "methods"), ("Results", "results"), ("Conclusions", "concl")],
    "ps": [("Objective", "aim"), ("Methods", "methods"), ("Results", "results"), ("Conclusions", "concl")],
    "wiley": [("Aim", "aim"), ("Methods", "methods"), ("Results", "results"), ("Conclusions", "concl")],
    "tandf": [("Background", "bg"), ("Aims", "aim"), ("Methods", "methods"), ("Results", "results"), ("Conclusions", "concl")],
    "jach": [("Objective", "aim"), ("Participants and Methods", "methods"), ("Results", "results"), ("Conclusions", "concl")],
    "bmj": [("Objectives", "aim"), ("Design", "methods"), ("Results", "results"), ("Conclusions", "concl")],
    "frontiers": [("Background", "bg"), ("Methods", "aim+methods"), ("Results", "results"), ("Conclusion", "concl")],
    "sage": [("Objective", "aim"), ("Methods", "methods"), ("Results", "results"), ("Conclusions", "concl")],
    "plainobj": [("Objective", "aim"), ("Method", "methods"), ("Results", "results"), ("Conclusions", "concl")],
    "emerald": [("Purpose", "aim"), ("Design/methodology/approach", "methods"), ("Findings", "results"),
                ("Originality/value", "concl")],
    "german": [("Objective", "aim"), ("Methods", "methods"), ("Results", "results"), ("Conclusion", "concl")],
    "french": [("Objectives", "aim"), ("Methods", "methods"), ("Results", "results"), ("Conclusions", "concl")],
    "apa": [("Objective", "aim"), ("Methods", "methods"), ("Results", "results"),
            ("Conclusions and Implications for Practice", "concl")],
}


def sections(pub, P):
    """[(label or None, text)]"""
    if not P:
        return []
    if "plain" in P:
        return [(None, P["plain"])]
    style = J[pub["jkey"]]["abs"] if pub["jkey"] in J else "plain"
    if pub["design"] in ("proto", "protosr"):
        style = "bmcproto" if style in ("bmc", "bmcproto") else style
        if style != "bmcproto":
            return [(lab, P.get(k, "")) for lab, k in [("Introduction", "bg"), ("Methods and analysis", "methods"),
                                                       ("Ethics and dissemination", "disc"), ("Trial registration number", "reg")]]
    if pub["design"] == "conf":
        return [("Background", P["bg"]), ("Methods", P["methods"]), ("Results", P["results"]), ("Conclusions", P["concl"])]
    if style in ("plain", "plos"):
        return [(None, " ".join(P.get(k, "") for k in ("bg", "aim", "methods", "results", "concl") if P.get(k)))]
    out = []
    for lab, k in LABELS[style]:
        if k.startswith("="):
            out.append((lab, k[1:]))
            continue
        txt = " ".join(P.get(x, "") for x in k.split("+") if P.get(x))
        if lab in ("Background", "Importance") and "bg" not in k:
            continue
        if txt:
            out.append((lab, txt))
    return out


def copyright_line(pub, year, src):
    jn = J.get(pub["jkey"])
    holder = jn and jn.get("copyright")
    if not holder:
        return ""
    if src == "pubmed":
        return f" Copyright © {year} {holder}{'' if holder.endswith('.') else '.'}"
    if src == "embase":
        return f" Copyright © {year} {holder.rstrip('.')}"
    if src == "scopus":
        return f" © {year} {holder}"
    return ""


def render_abstract(pub, secs, src, rng, year, notes):
    if pub["typ"] == "err" and src in ("pubmed", "europepmc") and pub.get("target_doi"):
        return f"[This corrects the article DOI: {pub['target_doi']}.]"
    if not secs:
        return ""
    labelled = secs[0][0] is not None
    if src in ("pubmed", "europepmc"):
        if src == "europepmc" and labelled and rng.random() < 0.6:
            return "".join(f"<h4>{lab}</h4>{txt}" for lab, txt in secs)
        body = " ".join(f"{lab.upper()}: {txt}" if lab else txt for lab, txt in secs)
        return body + (copyright_line(pub, year, "pubmed") if src == "pubmed" else "")
    if src == "embase":
        return " ".join(f"{lab}: {txt}" if lab else txt for lab, txt in secs) + copyright_line(pub, year, "embase")
    if src == "psycinfo":
        body = " ".join(f"{lab}: {txt}" if lab else txt for lab, txt in secs)
        db = "PsycInfo" if year >= 2020 else "PsycINFO"
        return f"{body} ({db} Database Record (c) {year + rng.randint(0, 1)} APA, all rights reserved)"
    if src == "scopus":
        return " ".join(f"{lab}: {txt}" if lab else txt for lab, txt in secs) + copyright_line(pub, year, "scopus")
    if src == "wos":
        return " ".join(f"{lab}: {txt}" if lab else txt for lab, txt in secs)
    if src == "cinahl":
        body = " ".join(f"{lab}: {txt}" if lab else txt for lab, txt in secs)
        if len(body) > 420 and rng.random() < 0.35:
            cut = body.rfind(" ", 0, rng.randint(250, 400))
            body = body[:cut] + "..."
            notes.append("abstract truncated")
        return body
    if src == "openalex":
        if rng.random() < 0.35:
            return ""
        return " ".join(f"{lab} {txt}" if lab else txt for lab, txt in secs)
    if src == "crossref":
        if rng.random() < 0.55:
            return ""
        if labelled:
            return "".join(f"<jats:sec><jats:title>{lab}</jats:title><jats:p>{txt}</jats:p></jats:sec>" for lab, txt in secs)
        return f"<jats:p>{secs[0][1]}</jats:p>"
    raise ValueError(src)


# ----------------------------------------------------------------------------- field renderers
def pages_str(pub, src, rng, aip):
    if aip:
        return None
    if pub.get("artno"):
        a = pub["artno"]
        if src == "psycinfo" and rng.random() < 0.7:
            return f"Article {a}"
        if src == "crossref" and rng.random() < 0.7:
            return None
        if src == "scopus" and re.fullmatch(r"\d+", a) and rng.random() < 0.3:
            return None  # article number only in the separate Art. No. column of the export
        return a
    p = pub.get("pages")
    if not p:
        return None
    first, last = p
    if not last:
        return first
    if src in ("pubmed", "europepmc"):
        if first.isdigit() and last.isdigit() and len(first) == len(last):
            i = 0
            while i < len(first) - 1 and first[i] == last[i]:
                i += 1
            return f"{first}-{last[i:]}"
        if first.startswith("S") and last.startswith("S"):
            return f"{first}-{last[1:]}" if len(first) == len(last) else f"{first}-{last}"
        return f"{first}-{last}"
    if src == "cinahl" and rng.random() < 0.2:
        return first
    if src == "openalex" and rng.random() < 0.1:
        return first
    if src == "crossref" and rng.random() < 0.5:
        return None
    return f"{first}-{last}"


def issue_str(pub, src, rng, aip):
    if aip:
        return None
    iss, supp = pub.get("issue"), pub.get("supp")
    if src == "psycinfo" and rng.random() < 0.3 and not supp:
        return None
    if src == "crossref" and rng.random() < 0.15:
        return None
    if not supp:
        return iss
    if supp == "Suppl":  # numbered issue with a supplement (JAACAP 10 Suppl, JAH 2 Suppl)
        return {"pubmed": f"{iss} Suppl", "europepmc": f"{iss} Suppl", "embase": f"{iss} Supplement",
                "psycinfo": f"{iss} Suppl", "cinahl": f"{iss} Suppl"}.get(src, iss)
    num = re.sub(r"\D", "", supp) or "1"
    if pub["jkey"] == "SCHBULL":
        return {"pubmed": f"Suppl {num}", "europepmc": f"Suppl {num}", "embase": f"Supplement {num}",
                "scopus": f"SUPPL {num}", "wos": f"S{num}", "openalex": f"Supplement_{num}",
                "crossref": f"Supplement_{num}"}.get(src, f"Suppl {num}")
    return {"pubmed": f"Suppl {num}", "europepmc": f"Suppl {num}", "embase": f"Supplement {num}",
            "psycinfo": f"Suppl {num}", "cinahl": f"Suppl {num}", "scopus": f"S{num}",
            "wos": f"S{num}", "openalex": f"S{num}", "crossref": f"S{num}"}[src]


def doi_str(pub, src, rng):
    d = pub.get("doi")
    if not d:
        return None
    y = pub["year"]
    miss = {"pubmed": 0.06 + (0.35 if y < 2012 else 0), "europepmc": 0.08, "embase": 0.1, "psycinfo": 0.07,
            "scopus": 0.03, "wos": 0.08, "cinahl": 0.2, "openalex": 0.0, "crossref": 0.0}[src]
    if pub["typ"] == "conf":
        miss += 0.3
    if rng.random() < miss:
        return None
    r = rng.random()
    if src == "openalex":
        return "https://doi.org/" + d.lower()
    if src == "wos":
        return d.upper() if r < 0.5 else d
    if src == "crossref":
        if r < 0.35:
            pre, suf = d.split("/", 1)
            return pre + "/" + suf.upper()
        if r < 0.5:
            return d.lower()
        return d
    if src == "embase" and r < 0.15:
        return "http://dx.doi.org/" + d
    if src in ("pubmed", "europepmc") and r < 0.06:
        return d + " [doi]"
    if src == "cinahl" and r < 0.1:
        return "https://doi.org/" + d
    if src == "cinahl" and r < 0.14:
        return "doi:" + d
    if src == "psycinfo" and r < 0.08:
        return "https://doi.org/" + d
    return d


def journal_str(pub, src, rng):
    jk = pub["jkey"]
    if jk in BOOKS:
        b = BOOKS[jk]
        return b["short"] if src == "openalex" and rng.random() < 0.5 else b["name"]
    if jk in PREPRINT:
        name = PREPRINT[jk]["name"]
        if src == "crossref":
            return None if name != "Research Square" else "Research Square Platform LLC"
        if src == "openalex":
            return {"medRxiv": "medRxiv (Cold Spring Harbor Laboratory)", "Research Square": "Research Square (Research Square)"}.get(name, name)
        return name
    jn = J[jk]
    name, abbr, emb = jn["name"], jn["abbr"], jn["embase"]
    if jk == "EBMH" and pub["year"] < 2023:
        name, abbr, emb = "Evidence-Based Mental Health", "Evid Based Ment Health", "Evidence-Based Mental Health"
    if src in ("pubmed", "europepmc"):
        return abbr
    if src == "embase":
        return emb
    if src == "wos":
        return fold(name).upper()
    if src == "crossref" and "&" in name and rng.random() < 0.4:
        return name.replace("&", "&amp;")
    if src == "openalex" and jk == "PLOS":
        return "PLoS ONE"
    if src == "psycinfo" and jk == "PLOS":
        return "PLoS ONE"
    return name


def language_str(pub, src, rng):
    L = LANG[pub["lang"]]
    if src in ("pubmed", "europepmc"):
        return L["pubmed"]
    if src == "openalex":
        return L["iso"]
    if src == "crossref":
        return L["iso"] if rng.random() < 0.5 else None
    return L["name"]


def accession(pub, src, rng, year):
    if src == "embase":
        return f"L{rng.randint(2000000000, 2034999999)}" if year >= 2018 else f"L{rng.randint(600000000, 619999999)}"
    if src == "scopus":
        if year >= 2017:
            return f"2-s2.0-85{rng.randint(0, 999999999):09d}"
        if year >= 2012:
            return f"2-s2.0-84{rng.randint(0, 999999999):09d}"
        return f"2-s2.0-{rng.randint(77000000000, 80999999999)}"
    if src == "wos":
        if year >= 2023:
            return f"WOS:001{rng.randint(0, 999999999999):012d}"
        return f"WOS:000{rng.randint(250000000, 999999999):09d}{rng.randint(0, 999999):06d}"[:19]
    if src == "psycinfo":
        return f"{year + rng.choice([0, 0, 1])}-{rng.randint(10000, 99999)}-{rng.randint(1, 15):03d}"
    if src == "cinahl":
        return str(rng.randint(100000000, 180000000))
    if src == "openalex":
        return f"W{rng.choice(['2', '3']) if year < 2021 else rng.choice(['3', '4'])}{rng.randint(0, 999999999):09d}"
    if src == "europepmc":
        return f"MED:{pub['pmid']}" if pub.get("pmid") else f"PMC{rng.randint(8000000, 11999999)}"
    return None


# ----------------------------------------------------------------------------- titles per database
def title_for(pub, src, rng, notes):
    t = pub["title"]
    orig = pub.get("orig")
    en = strip_html(t)
    year = pub["year"]
    if src in ("pubmed", "europepmc"):
        s = f"[{en}]" if orig else en
        if src == "pubmed" or rng.random() < 0.5:
            s = add_period(s)
        return s
    if src == "embase":
        s = en
        if rng.random() < 0.2:
            s = greek_out(s)
        if pub["typ"] == "err" and pub.get("cite") and rng.random() < 0.6:
            s = f"{s} ({pub['cite']})"
    elif src == "psycinfo":
        s = en if rng.random() < 0.5 else straight(en)
        if rng.random() < 0.5:
            s = greek_out(s)
    elif src == "scopus":
        s = f"{en} [{orig}]" if orig and rng.random() < 0.8 else en
    elif src == "wos":
        s = greek_out(fold(straight(en)))
        if year < 2012 or rng.random() < 0.12:
            s = s.upper()
    elif src == "cinahl":
        s = en
        if rng.random() < 0.4:
            s = add_period(s)
        if rng.random() < 0.3:
            s = fold(s)
    elif src in ("openalex", "crossref"):
        s = t
        if orig and rng.random() < (0.7 if src == "openalex" else 0.8):
            s = orig
        if J.get(pub["jkey"], {}).get("publisher") == "wiley":
            s = wiley_html(s)
        elif rng.random() < 0.5:
            s = strip_html(s)
    else:
        raise ValueError(src)
    # deliberate hard variants (never in PubMed/Europe PMC, which carry the PMID anyway)
    if pub["typ"] in ("art", "proto", "chap") and not orig:
        r = rng.random()
        if r < 0.06 and src in ("cinahl", "wos", "embase", "psycinfo", "scopus"):
            short = drop_subtitle(s)
            if short:
                s = short
                notes.append("subtitle dropped")
        elif r < 0.11 and src in ("psycinfo", "cinahl", "openalex"):
            s2 = americanize(s) if groups_spell(pub) == "uk" else britishize(s)
            if s2 != s:
                s = s2
                notes.append("British/American spelling differs")
        elif r < 0.13 and src in ("cinahl", "embase"):
            plain = strip_html(s)
            if len(plain) > 95:
                cut = plain.rfind(" ", 0, rng.randint(70, 92))
                s = plain[:cut]
                notes.append("title truncated")
        elif r < 0.14 and src in ("wos", "cinahl"):
            words = [i for i, w in enumerate(s.split()) if len(w) > 6 and w.isalpha()]
            if words:
                ws = s.split()
                i = rng.choice(words)
                k = rng.randint(1, len(ws[i]) - 2)
                ws[i] = ws[i][:k] + ws[i][k + 1:]
                s = " ".join(ws)
                notes.append("typo in title")
    return s


_GROUPS = {}


def groups_spell(pub):
    return _GROUPS[pub["team"]]["spell"]


# ----------------------------------------------------------------------------- sources per cluster
BASE_W = {"pubmed": 1.3, "embase": 0.85, "psycinfo": 0.8, "scopus": 0.9, "wos": 0.6, "cinahl": 0.5,
          "europepmc": 0.22, "openalex": 0.35, "crossref": 0.22}
N_DIST = {
    "art": [(1, 0.09), (2, 0.21), (3, 0.32), (4, 0.25), (5, 0.13)],
    "proto": [(1, 0.12), (2, 0.28), (3, 0.32), (4, 0.2), (5, 0.08)],
    "edit": [(1, 0.35), (2, 0.35), (3, 0.2), (4, 0.1)],
    "com": [(1, 0.3), (2, 0.35), (3, 0.25), (4, 0.1)],
    "err": [(1, 0.3), (2, 0.35), (3, 0.25), (4, 0.1)],
    "conf": [(1, 0.45), (2, 0.35), (3, 0.2)],
    "chap": [(1, 0.3), (2, 0.4), (3, 0.3)],
}


def eligible(pub):
    jk = pub["jkey"]
    typ = pub["typ"]
    doi = bool(pub.get("doi"))
    if jk in BOOKS:
        return {"psycinfo": 1.0, "scopus": 0.7, "openalex": 0.5, "crossref": 0.4, "wos": 0.25}
    idx = J[jk]["idx"]
    w = {}
    if typ == "conf":
        w["embase"] = 5.0
        w["wos"] = 0.4
        w["scopus"] = 0.35
        if doi:
            w["openalex"] = 0.35
            w["crossref"] = 0.25
        if jk in ("EURPSY", "BJPO") and pub["year"] >= 2021:
            w["europepmc"] = 0.3
        return w
    if pub["design"] == "frontmatter":
        w = {"scopus": 1.0, "embase": 0.4, "wos": 0.3}
        if doi:
            w.update(openalex=0.6, crossref=0.5)
        return w
    if "M" in idx:
        w["pubmed"] = BASE_W["pubmed"]
        w["europepmc"] = BASE_W["europepmc"]
    w["embase"] = BASE_W["embase"] * (1.0 if ("M" in idx or typ == "art") else 0.6)
    if "P" in idx and typ not in ("edit",):
        w["psycinfo"] = BASE_W["psycinfo"] * (1.0 if typ in ("art", "proto") else 0.5)
    if "C" in idx and typ in ("art", "proto", "com"):
        w["cinahl"] = BASE_W["cinahl"]
    w["scopus"] = BASE_W["scopus"]
    w["wos"] = BASE_W["wos"] * (0.4 if J[jk]["lang"] != "en" else 1)
    w["openalex"] = BASE_W["openalex"] if doi else 0.12
    if doi:
        w["crossref"] = BASE_W["crossref"]
    return w


def weighted_sample(rng, weights, k):
    items = sorted(weights.items())
    out = []
    for _ in range(min(k, len(items))):
        tot = sum(w for _, w in items)
        x = rng.random() * tot
        for i, (s, w) in enumerate(items):
            x -= w
            if x <= 0:
                out.append(s)
                items.pop(i)
                break
        else:
            out.append(items.pop()[0])
    return out


def draw_n(rng, typ):
    x = rng.random()
    for n, p in N_DIST[typ]:
        x -= p
        if x <= 0:
            return n
    return N_DIST[typ][-1][0]


# ----------------------------------------------------------------------------- build
def build():
    groups = load_groups()
    _GROUPS.update(groups)
    pubs = load_pubs()
    # chapters numbered within each book
    chap_no = Counter()
    for p in pubs.values():
        if p["typ"] == "chap":
            chap_no[p["jkey"]] += 1
            p["chapter"] = chap_no[p["jkey"]] + 1
    # --- authors
    for p in pubs.values():
        rng = R(p["key"], "authors")
        src_key = p["flags"].get("authors")
        team = groups[p["team"]]["people"]
        if src_key == "none" or p["team"] == "none":
            p["authors"] = []
            continue
        if src_key:
            base = list(pubs[src_key]["authors"])
            if p["typ"] == "proto" and rng.random() < 0.45 and len(base) > 3:
                base = base[:-1]  # the protocol had one author fewer than the results paper
            elif p["typ"] == "conf":
                base = base[:rng.randint(2, min(5, len(base)))] if len(base) > 2 else base
            elif p["typ"] == "art" and p["flags"].get("pair") and rng.random() < 0.35 and len(base) > 2:
                base[0], base[1] = base[1], base[0]  # same team, different first author
            p["authors"] = base
            continue
        d = p["design"]
        k = {"editorial": (1, 2), "commentary": (1, 3), "letter": (1, 2), "chapter": (1, 3), "conf": (2, 5),
             "rct": (5, 8), "meta": (4, 7), "policy": (2, 5)}.get(d, (3, 6))
        k = rng.randint(*k)
        order = list(team)
        rng.shuffle(order)
        p["authors"] = order[:min(k, len(order))]
    # --- numbering, DOIs, PMIDs
    last_part = {}
    for p in pubs.values():
        if p["typ"] == "pre":
            continue
        rng = R(p["key"], "place")
        ser = p["flags"].get("series")
        if ser:
            if ser in last_part:
                p["_prev"] = last_part[ser]
            last_part[ser] = p
        if p["flags"].get("on"):
            p["_target"] = pubs[p["flags"]["on"]]
        place(p, rng)
        jn = J.get(p["jkey"])
        medline = jn is not None and "M" in jn["idx"] and p["design"] != "frontmatter"
        if p["typ"] == "conf" or p["flags"].get("supp"):
            medline = False  # meeting abstracts and supplement front matter are not in MEDLINE
        p["pmid"] = make_pmid(p["online_year"], p.get("omonth", p["month"]), rng) if medline else None
    # --- targets (errata/comments), placeholders
    for p in pubs.values():
        tk = p["flags"].get("on")
        if tk:
            t = pubs[tk]
            p["target_title"] = t["title"]
            p["target_doi"] = t.get("doi")
            if t["pages"] and t["pages"][1]:
                pg = f"{t['pages'][0]}-{t['pages'][1]}"
            else:
                pg = (t["pages"][0] if t["pages"] else t.get("artno")) or ""
            if p["typ"] == "err" and t.get("volume"):
                p["cite"] = (f"{J[t['jkey']]['embase']} ({t['year']}) {t['volume']}" + (f":{t['issue']}" if t.get("issue") else "")
                             + (f" ({pg})" if pg else "") + (f" DOI: {t['doi']}" if t.get("doi") else ""))
            p["title"] = p["title"].format(
                title=strip_html(t["title"]), a1=t["authors"][0][0] if t["authors"] else "", year=t["year"],
                jabbr=J[t["jkey"]]["abbr"], journal=J[t["jkey"]]["name"], vol=t["volume"], pages=pg)
    # --- abstracts
    for p in pubs.values():
        if p["typ"] == "pre":
            continue
        p["sections"] = sections(p, abstract_parts(p, groups))
    return pubs, groups


def hard_groups(pubs):
    """Hard non-duplicate groups: list of dicts(kind, gid, members=[(key, role)])."""
    G = []
    by = defaultdict(list)
    for p in pubs.values():
        f = p["flags"]
        if p["typ"] == "proto" and "of" in f:
            G.append(dict(kind="protocol-results", gid=p["key"], members=[(p["key"], "protocol"), (f["of"], "results paper")]))
        if p["typ"] == "conf" and "of" in f:
            G.append(dict(kind="conference-article", gid=p["key"],
                          members=[(p["key"], "conference abstract"), (f["of"], "full article")]))
        if p["typ"] == "err" and "on" in f:
            by[("erratum", f["on"])].append(p["key"])
        if p["typ"] == "com" and "on" in f:
            by[("comment", f["on"])].append(p["key"])
        if "pair" in f:
            by[("similar-title", f["pair"])].append(p["key"])
        if "series" in f:
            by[("series", f["series"])].append(p["key"])
        if "rec" in f:
            by[("recurring", f["rec"])].append(p["key"])
    for (kind, k), keys in by.items():
        if kind in ("erratum", "comment", "similar-title"):
            role = {"erratum": "erratum", "comment": "comment/letter", "similar-title": "similar paper"}[kind]
            trole = {"erratum": "corrected article", "comment": "article discussed", "similar-title": "similar paper"}[kind]
            G.append(dict(kind=kind, gid=f"{kind}:{k}", members=[(x, role) for x in keys] + [(k, trole)]))
        elif kind == "series":
            G.append(dict(kind=kind, gid=k, members=[(x, f"part {chr(ord('1') + i)}") for i, x in enumerate(keys)]))
        else:
            G.append(dict(kind=kind, gid=k, members=[(x, "item") for x in keys]))
    return G


def note_for(kind, gid, role, pubs):
    label = {"protocol-results": "protocol vs results", "conference-article": "conference abstract vs full article",
             "erratum": "erratum vs corrected article", "comment": "comment/letter vs article",
             "similar-title": "same team, similar title, same year", "series": "series parts",
             "recurring": "recurring title"}[kind]
    g = gid.split(":", 1)[-1]
    return f"{label} [{g}]: {role} (different publications)"


def render(pubs, groups):
    records = []
    G = hard_groups(pubs)
    cluster_notes = defaultdict(list)
    for g in G:
        for key, role in g["members"]:
            cluster_notes[key].append(note_for(g["kind"], g["gid"], role, pubs))
    preprints = defaultdict(list)
    for p in pubs.values():
        if p["typ"] == "pre":
            preprints[p["flags"]["of"]].append(p)
    for p in pubs.values():
        if p["typ"] == "pre":
            continue
        rng = R(p["key"], "sources")
        pre = preprints.get(p["key"], [])
        pre_srcs = []
        for pp in pre:
            prng = R(pp["key"], "sources")
            k = 1 if prng.random() < 0.55 else 2
            pre_srcs.append((pp, weighted_sample(prng, {"europepmc": 0.6, "openalex": 0.5, "crossref": 0.4}, k)))
        npre = sum(len(s) for _, s in pre_srcs)
        if "srcs" in p["flags"]:
            chosen = p["flags"]["srcs"].split("+")
        else:
            w = eligible(p)
            n = draw_n(rng, p["typ"] if p["typ"] in N_DIST else "art")
            n = max(1, min(n, 5 - npre))
            chosen = weighted_sample(rng, w, n)
            if p["typ"] == "conf" and "embase" not in chosen:
                chosen[0] = "embase"
        # an article-in-press copy from the same database (Scopus/Embase keep both)
        aip_extra = None
        if p.get("epub") and len(chosen) + npre < 5 and rng.random() < 0.3:
            c = [s for s in chosen if s in ("scopus", "embase")]
            if c:
                aip_extra = c[0]
                chosen.append(c[0])
        seen_aip = False
        for i, src in enumerate(chosen):
            rrng = R(p["key"], "rec", i, src)
            notes = list(cluster_notes.get(p["key"], []))
            if p.get("orig"):
                notes.append(f"non-English article ({LANG[p['lang']]['name']}): English, bracketed or original-language title")
            aip = False
            if aip_extra == src and not seen_aip and chosen.count(src) == 2:
                aip = True
                seen_aip = True
                notes.append("article-in-press copy in the same database (no volume/pages, online year)")
            elif p.get("epub") and src in ("pubmed", "embase", "crossref", "openalex", "europepmc") and rrng.random() < 0.12:
                aip = True
            year = p["year"]
            if p.get("epub"):
                if aip or src in ("crossref", "openalex") and rrng.random() < 0.85 or \
                        src == "embase" and rrng.random() < 0.25 or src == "europepmc" and rrng.random() < 0.2:
                    year = p["online_year"]
            doi = doi_str(p, src, rrng)
            if year != p["year"] and not doi:
                notes.append("year off by one (online-first) and no DOI")
            pmid = None
            if p.get("pmid"):
                keep = {"pubmed": 1, "europepmc": 1, "embase": 0.7, "scopus": 0.5, "wos": 0.4, "cinahl": 0.4,
                        "openalex": 0.6, "psycinfo": 0, "crossref": 0}[src]
                if rrng.random() < keep:
                    pmid = p["pmid"]
            rec = dict(
                rid=None, cluster=p["key"], split=None, source=src, type=TYPES[p["typ"]],
                title=title_for(p, src, rrng, notes),
                authors=render_authors(p, src, rrng, notes),
                year=year, journal=journal_str(p, src, rrng),
                volume=None if aip else p.get("volume"),
                issue=issue_str(p, src, rrng, aip),
                pages=pages_str(p, src, rrng, aip),
                doi=doi, pmid=pmid,
                abstract=render_abstract(p, p["sections"], src, rrng, year, notes),
                language=language_str(p, src, rrng),
                accession=accession(p, src, rrng, year),
                hard="; ".join(dict.fromkeys(notes)) or None,
            )
            if p["typ"] == "chap":
                rec["volume"] = None
                rec["issue"] = None
            if src == "pubmed" and rec["accession"] is None:
                rec["accession"] = None
            records.append(rec)
        # preprint records: the same publication (same cluster)
        for pp, srcs in pre_srcs:
            for j, src in enumerate(srcs):
                rrng = R(pp["key"], "rec", j, src)
                notes = [f"preprint vs published [{pp['key']}]: preprint (same publication)"]
                auth = list(p["authors"])
                if len(auth) > 3 and rrng.random() < 0.3:
                    auth = auth[:-1]
                server = PREPRINT[pp["jkey"]]
                drng = R(pp["key"], "doi")
                if server["doi"] == "psyarxiv":
                    doi = "10.31234/osf.io/" + "".join(drng.choice("abcdefghjkmnpqrstuvwxyz23456789") for _ in range(5))
                elif server["doi"] == "medrxiv":
                    doi = f"10.1101/{pp['year']}.{drng.randint(1, 12):02d}.{drng.randint(1, 28):02d}.{drng.randint(20000000, 24999999)}"
                else:
                    doi = f"10.21203/rs.3.rs-{drng.randint(100000, 3999999)}/v1"
                tmp = dict(pp, authors=auth, doi=doi, jkey=pp["jkey"], lang="en", orig=None, typ="pre")
                title = strip_html(pp["title"])
                if src == "crossref" and rrng.random() < 0.3:
                    title = title.upper() if rrng.random() < 0.2 else title
                secs = p["sections"]
                plain = [(None, " ".join(t for _, t in secs))] if secs else []
                if groups[p["team"]]["spell"] == "uk" and rrng.random() < 0.3:
                    plain = [(None, americanize(t)) for _, t in plain]
                abstract = render_abstract(tmp, plain, src if src != "crossref" else "crossref", rrng, pp["year"], notes)
                records.append(dict(
                    rid=None, cluster=p["key"], split=None, source=src, type="preprint",
                    title=title, authors=render_authors(tmp, src, rrng, notes), year=pp["year"],
                    journal=journal_str(tmp, src, rrng), volume=None, issue=None, pages=None,
                    doi=("https://doi.org/" + doi) if src == "openalex" else doi, pmid=None,
                    abstract=abstract, language=language_str(tmp, src, rrng),
                    accession=(f"PPR:PPR{R(pp['key'], 'ppr').randint(100000, 899999)}" if src == "europepmc" else
                               accession(tmp, src, rrng, pp["year"])),
                    hard="; ".join(dict.fromkeys(notes))))
        if pre:
            for rec in records:
                if rec["cluster"] == p["key"] and rec["type"] != "preprint":
                    extra = f"preprint vs published [{','.join(x['key'] for x in pre)}]: published version (same publication)"
                    rec["hard"] = f"{rec['hard']}; {extra}" if rec["hard"] else extra
    return records, G


# ----------------------------------------------------------------------------- splits
def assign_splits(pubs, records, G):
    clusters = sorted({r["cluster"] for r in records})
    parent = {c: c for c in clusters}

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for g in G:
        keys = [k for k, _ in g["members"]]
        for k in keys[1:]:
            a, b = find(keys[0]), find(k)
            if a != b:
                parent[max(a, b)] = min(a, b)
    units = defaultdict(list)
    for c in clusters:
        units[find(c)].append(c)
    kinds = defaultdict(set)
    for g in G:
        kinds[find(g["members"][0][0])].add(g["kind"])
    for r in records:
        if r["type"] == "preprint":
            kinds[find(r["cluster"])].add("preprint")
        if r["hard"] and "non-English" in r["hard"]:
            kinds[find(r["cluster"])].add("non-English")
    nrec = Counter(r["cluster"] for r in records)
    rng = R("splits")
    ulist = sorted(units)
    rng.shuffle(ulist)
    hard_units = [u for u in ulist if kinds[u]]
    plain_units = [u for u in ulist if not kinds[u]]
    kind_count = {"tune": Counter(), "test": Counter()}
    size = {"tune": 0, "test": 0}
    split_of = {}
    # hardest first: units with rarer kinds and more clusters are placed first
    freq = Counter(k for u in hard_units for k in kinds[u])
    hard_units.sort(key=lambda u: (min(freq[k] for k in kinds[u]), -len(units[u])))
    for u in hard_units:
        ks = sorted(kinds[u], key=lambda k: freq[k])
        score = {s: (sum(kind_count[s][k] for k in ks[:1]), sum(kind_count[s][k] for k in ks), size[s], rng.random())
                 for s in ("tune", "test")}
        s = min(score, key=score.get)
        split_of[u] = s
        for k in ks:
            kind_count[s][k] += 1
        size[s] += sum(nrec[c] for c in units[u])
    for u in plain_units:
        s = "tune" if size["tune"] <= size["test"] else "test"
        if rng.random() < 0.15:
            s = "test" if s == "tune" else "tune"
        split_of[u] = s
        size[s] += sum(nrec[c] for c in units[u])
    for r in records:
        r["split"] = split_of[find(r["cluster"])]
    return kind_count


# ----------------------------------------------------------------------------- stats
def stats(records, G):
    by_cluster = defaultdict(list)
    for r in records:
        by_cluster[r["cluster"]].append(r)
    split_of = {c: rs[0]["split"] for c, rs in by_cluster.items()}
    S = {}
    for sp in ("all", "tune", "test"):
        cl = [c for c in by_cluster if sp == "all" or split_of[c] == sp]
        recs = sum(len(by_cluster[c]) for c in cl)
        dup_pairs = sum(len(by_cluster[c]) * (len(by_cluster[c]) - 1) // 2 for c in cl)
        sizes = Counter(len(by_cluster[c]) for c in cl)
        src = Counter(r["source"] for c in cl for r in by_cluster[c])
        typ = Counter(r["type"] for c in cl for r in by_cluster[c])
        hard_kind = {}
        involved = set()
        for kind in KIND_NAMES:
            rec_pairs = cl_pairs = groups_n = 0
            for g in G:
                if g["kind"] != kind:
                    continue
                keys = list(dict.fromkeys(k for k, _ in g["members"]))
                if sp != "all" and split_of[keys[0]] != sp:
                    continue
                groups_n += 1
                for a, b in combinations(keys, 2):
                    cl_pairs += 1
                    rec_pairs += len(by_cluster[a]) * len(by_cluster[b])
                for k in keys:
                    involved.update(r["rid"] for r in by_cluster[k])
            hard_kind[kind] = dict(groups=groups_n, cluster_pairs=cl_pairs, record_pairs=rec_pairs)
        pre_cl = [c for c in cl if any(r["type"] == "preprint" for r in by_cluster[c])]
        pre_pairs = sum(sum(1 for r in by_cluster[c] if r["type"] == "preprint") *
                        sum(1 for r in by_cluster[c] if r["type"] != "preprint") for c in pre_cl)
        hard_pos = sum(1 for c in cl for r in by_cluster[c]
                       if r["hard"] and any("different publications" not in x for x in r["hard"].split("; ")))
        S[sp] = dict(records=recs, clusters=len(cl), duplicate_pairs=dup_pairs,
                     singleton_clusters=sizes.get(1, 0), cluster_sizes=dict(sorted(sizes.items())),
                     sources=dict(sorted(src.items())), types=dict(sorted(typ.items())),
                     hard_nonduplicates=hard_kind,
                     records_in_hard_nonduplicate_groups=len(involved),
                     preprint_clusters=len(pre_cl), preprint_published_pairs=pre_pairs,
                     records_with_hard_positive_notes=hard_pos,
                     non_english_clusters=sum(1 for c in cl if any(r["hard"] and "non-English" in r["hard"] for r in by_cluster[c])))
    return S


def counts_markdown(S):
    L = []
    a, t, e = S["all"], S["tune"], S["test"]
    L.append("| | all | tune | test |")
    L.append("|---|---:|---:|---:|")
    for k, lab in [("records", "records"), ("clusters", "clusters (publications)"),
                   ("singleton_clusters", "clusters with one record"),
                   ("duplicate_pairs", "duplicate pairs (same cluster)"),
                   ("preprint_clusters", "clusters with a preprint record"),
                   ("preprint_published_pairs", "preprint-published pairs (duplicates)"),
                   ("non_english_clusters", "non-English clusters"),
                   ("records_with_hard_positive_notes", "records with a hard same-publication note"),
                   ("records_in_hard_nonduplicate_groups", "records in hard non-duplicate groups")]:
        L.append(f"| {lab} | {a[k]} | {t[k]} | {e[k]} |")
    L.append("")
    L.append("Hard non-duplicates by kind: groups / cluster pairs / record pairs (pairs of records in different "
             "clusters of one group).")
    L.append("")
    L.append("| kind | all | tune | test |")
    L.append("|---|---:|---:|---:|")
    tot = {s: [0, 0, 0] for s in ("all", "tune", "test")}
    for kind, desc in KIND_NAMES.items():
        cells = []
        for s in ("all", "tune", "test"):
            h = S[s]["hard_nonduplicates"][kind]
            cells.append(f"{h['groups']} / {h['cluster_pairs']} / {h['record_pairs']}")
            tot[s][0] += h["groups"]
            tot[s][1] += h["cluster_pairs"]
            tot[s][2] += h["record_pairs"]
        L.append(f"| {kind}: {desc} | " + " | ".join(cells) + " |")
    L.append("| **total** | " + " | ".join(f"{v[0]} / {v[1]} / {v[2]}" for v in tot.values()) + " |")
    L.append("")
    L.append("Records per database: " + ", ".join(f"{k} {v}" for k, v in a["sources"].items()) + ".")
    L.append("")
    L.append("Records per type: " + ", ".join(f"{k} {v}" for k, v in a["types"].items()) + ".")
    L.append("")
    L.append("Cluster sizes (records per publication: clusters): " +
             ", ".join(f"{k}: {v}" for k, v in a["cluster_sizes"].items()) + ".")
    return "\n".join(L)


# ----------------------------------------------------------------------------- validation
REQUIRED = ["rid", "cluster", "split", "source", "type", "title", "authors", "year", "journal", "volume",
            "issue", "pages", "doi", "pmid", "abstract", "language", "hard"]


def validate(path):
    errs = []
    recs = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            recs.append(json.loads(line))
        except json.JSONDecodeError as e:
            errs.append(f"line {i}: {e}")
    rids = Counter(r["rid"] for r in recs)
    errs += [f"duplicate rid {k}" for k, v in rids.items() if v > 1]
    split = defaultdict(set)
    for r in recs:
        for k in REQUIRED:
            if k not in r:
                errs.append(f"{r.get('rid')}: missing {k}")
        if r["source"] not in SOURCES:
            errs.append(f"{r['rid']}: source {r['source']}")
        if r["type"] not in TYPES.values():
            errs.append(f"{r['rid']}: type {r['type']}")
        if r["split"] not in ("tune", "test"):
            errs.append(f"{r['rid']}: split {r['split']}")
        if not re.fullmatch(r"D\d{5}", r["rid"]) or not re.fullmatch(r"C\d{4}", r["cluster"]):
            errs.append(f"{r['rid']}: id format")
        if not isinstance(r["authors"], list) or not r["title"] or not isinstance(r["year"], int):
            errs.append(f"{r['rid']}: authors/title/year")
        split[r["cluster"]].add(r["split"])
    errs += [f"cluster {c} in both splits" for c, s in split.items() if len(s) > 1]
    if len(recs) < 1100:
        errs.append(f"only {len(recs)} records")
    return recs, errs


# ----------------------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--check", action="store_true", help="only validate benchmark.jsonl")
    args = ap.parse_args()
    out = HERE / "benchmark.jsonl"
    if args.check:
        recs, errs = validate(out)
        print(f"{len(recs)} records, {len({r['cluster'] for r in recs})} clusters; {len(errs)} problems")
        for e in errs[:50]:
            print("  ", e)
        sys.exit(1 if errs else 0)
    pubs, groups = build()
    records, G = render(pubs, groups)
    kind_count = assign_splits(pubs, records, G)
    # shuffle, then number records and clusters in shuffled order (ids carry no information)
    rng = R("order")
    records.sort(key=lambda r: (r["cluster"], r["source"]))
    rng.shuffle(records)
    cmap = {}
    for i, r in enumerate(records, 1):
        r["rid"] = f"D{i:05d}"
        if r["cluster"] not in cmap:
            cmap[r["cluster"]] = f"C{len(cmap) + 1:04d}"
    key_of = {v: k for k, v in cmap.items()}
    for r in records:
        r["cluster"] = cmap[r["cluster"]]
    for g in G:
        g["members"] = [(cmap[k], role) for k, role in g["members"]]
    with out.open("w", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps({k: r[k] for k in REQUIRED[:16] + ["accession", "hard"]}, ensure_ascii=False) + "\n")
    # the key of each cluster in publications.txt, for anyone checking a label by hand
    (HERE / "clusters.tsv").write_text(
        "cluster\tkey\n" + "".join(f"{c}\t{key_of[c]}\n" for c in sorted(key_of)), encoding="utf-8")
    (HERE / "hard_groups.json").write_text(json.dumps(
        [dict(kind=g["kind"], group=g["gid"], clusters=[dict(cluster=c, role=role) for c, role in g["members"]])
         for g in G], indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    S = stats(records, G)
    (HERE / "stats.json").write_text(json.dumps(S, indent=1) + "\n", encoding="utf-8")
    md = counts_markdown(S)
    readme = HERE / "README.md"
    if readme.exists():
        txt = readme.read_text(encoding="utf-8")
        a, b = "<!-- counts:start -->", "<!-- counts:end -->"
        if a in txt and b in txt:
            txt = txt[:txt.index(a) + len(a)] + "\n" + md + "\n" + txt[txt.index(b):]
            readme.write_text(txt, encoding="utf-8")
    recs, errs = validate(out)
    print(md)
    print(f"\nvalidation: {len(recs)} records, {len(errs)} problems")
    for e in errs[:50]:
        print("  ", e)
    if errs:
        sys.exit(1)


if __name__ == "__main__":
    main()
