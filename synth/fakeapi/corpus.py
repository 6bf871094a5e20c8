"""Corpus side of the fake API server: loading the bundled sample, generating
synthetic corpora for scale tests, and the per-source view of a study.

A corpus is a list of dicts, one *study* per dict,
with the `sources` that hold it and per-source `variants` applied over the base
fields when that source renders it.
"""

from __future__ import annotations

import calendar
import hashlib
import json
import random
import re
import warnings
from datetime import date, timedelta
from pathlib import Path

SOURCES = ("pubmed", "europepmc", "openalex", "crossref")
SAMPLE_CORPUS = Path(__file__).resolve().parents[1] / "data" / "sample_corpus.jsonl"

# "LABEL: text" lines of a structured abstract (labels are short and start upper-case).
_LABEL = re.compile(r"^([A-Z][A-Za-z0-9 &/,()'-]{0,48}?):\s+(.+)$")
# Characters XML 1.0 forbids; dropped before rendering.
_XML_BAD = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


# --------------------------------------------------------------------------- loading

def load_sample_corpus(path: str | Path | None = None) -> list[dict]:
    """The bundled sample (synth/data/sample_corpus.jsonl), or `path`."""
    p = Path(path) if path else SAMPLE_CORPUS
    if not p.exists():
        if path:
            raise FileNotFoundError(f"corpus file not found: {p}")
        warnings.warn(f"{p} is missing; serving a generated corpus instead", RuntimeWarning, stacklevel=2)
        return generate_corpus(160, seed=0)
    records = []
    with p.open(encoding="utf-8") as fh:
        for n, line in enumerate(fh, 1):
            if line.strip():
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError as e:
                    raise ValueError(f"{p}:{n}: not a JSON object ({e.msg})") from None
    return records


# --------------------------------------------------------------------------- per-source view

def view(record: dict, source: str) -> dict:
    """The study as `source` holds it: base fields with `variants[source]` applied."""
    out = dict(record)
    out.update((record.get("variants") or {}).get(source) or {})
    return out


def retraction(rec: dict) -> dict | None:
    """The study's retraction, when the corpus gives one (per source through `variants`):

    {"status": "retracted", "date": "2024-03-05", "by": "publisher" | "retraction-watch",
     "notice": {"pmid": ..., "doi": ..., "citation": "J Youth Stud. 2024 Mar 5;12(3):1."}}
    {"status": "notice", "date": ..., "of": {"pmid": ..., "doi": ..., "citation": ...}}
    Crossref only: "style": "self" deposits a retraction as `update-to` on the work's own DOI.
    """
    r = rec.get("retraction")
    return r if isinstance(r, dict) and r.get("status") in ("retracted", "notice") else None


RETRACTED_PT = "Retracted Publication"
NOTICE_PT = "Retraction of Publication"


def pub_types_of(rec: dict, default: list[str] | None = None) -> list[str]:
    """Publication types as PubMed / Europe PMC send them: a retracted study gains
    "Retracted Publication", a notice "Retraction of Publication"."""
    types = list(rec.get("pub_types") or default or [])
    r = retraction(rec)
    extra = {"retracted": RETRACTED_PT, "notice": NOTICE_PT}[r["status"]] if r else None
    if extra and extra not in types:
        types.append(extra)
    return types


def served_by(record: dict, source: str) -> bool:
    return source in (record.get("sources") or ())


def xml_text(value) -> str:
    return _XML_BAD.sub("", str(value)) if value is not None else ""


def abstract_sections(abstract: str | None) -> list[tuple[str | None, str]]:
    """[(label or None, text)] from the corpus convention (one `LABEL: text` section a line).

    An abstract with no labelled line is one unlabelled section (its lines joined)."""
    lines = [ln.strip() for ln in (abstract or "").splitlines() if ln.strip()]
    if not lines:
        return []
    parsed = []
    for ln in lines:
        m = _LABEL.match(ln)
        # a one-line abstract opening "Peer support (PS): ..." is not structured; "AIM: ..." is
        if m and (len(lines) > 1 or m.group(1).isupper()):
            parsed.append((m.group(1), m.group(2)))
        else:
            parsed.append((None, ln))
    if not any(label for label, _ in parsed):
        return [(None, " ".join(lines))]
    return parsed


def flat_abstract(abstract: str | None) -> str:
    """The abstract on one line, labels inline (how OpenAlex holds structured abstracts)."""
    return " ".join(ln.strip() for ln in (abstract or "").splitlines() if ln.strip())


def nice_label(label: str) -> str:
    """BACKGROUND -> Background (Europe PMC <h4> and JATS <title> use sentence case)."""
    return label.capitalize() if label.isupper() else label


def pub_date(rec: dict) -> tuple[int, int | None, int | None]:
    """(year, month, day) of publication: the entry date when it falls in the publication
    year (an e-pub indexed on release), else only the year is known."""
    entry = rec.get("entry_date") or ""
    year = rec.get("year")
    try:
        y, m, d = (int(x) for x in entry.split("-"))
    except ValueError:
        y = m = d = None
    if year is None:
        year = y
    if year is None:
        return (1900, None, None)
    year = int(year)
    if y == year:
        return (year, m, d)
    return (year, None, None)


def pub_date_iso(rec: dict) -> str:
    y, m, d = pub_date(rec)
    return f"{y:04d}-{m or 1:02d}-{d or 1:02d}"


def parse_bound(text: str, end: bool) -> str | None:
    """A date bound as YYYY-MM-DD from 'YYYY', 'YYYY/MM', 'YYYY-MM-DD', ... ; `end` picks the
    last day of a partial date. None for '*' or ''. Raises ValueError when unreadable."""
    text = (text or "").strip()
    if text in ("", "*"):
        return None
    parts = re.split(r"[/-]", text)
    if not 1 <= len(parts) <= 3 or not all(p.isdigit() for p in parts):
        raise ValueError(f"bad date {text!r}")
    y = int(parts[0])
    m = int(parts[1]) if len(parts) > 1 else (12 if end else 1)
    if len(parts) > 2:
        d = int(parts[2])
    else:
        d = calendar.monthrange(y, m)[1] if end else 1
    return date(y, m, d).isoformat()


def in_window(day: str | None, lo: str | None, hi: str | None) -> bool:
    if lo is None and hi is None:
        return True
    if not day:
        return False
    return (lo is None or day >= lo) and (hi is None or day <= hi)


def initials(given: str | None) -> str:
    return "".join(p[0].upper() for p in re.split(r"[\s.\-]+", given or "") if p)


def stable_int(text: str, digits: int) -> int:
    return int(hashlib.sha1(text.encode()).hexdigest(), 16) % (10**digits)


def openalex_id(rec: dict) -> str:
    """W-id of the study in OpenAlex (derived from the key when the corpus gives none)."""
    oa = rec.get("openalex")
    if oa:
        return str(oa).rsplit("/", 1)[-1]
    return f"W{4300000000 + stable_int(str(rec.get('key')), 8)}"


# --------------------------------------------------------------------------- generation

_INTERVENTIONS = [  # 23
    "Peer support", "Peer mentoring", "Peer navigation", "Peer-led group sessions", "Online peer forums",
    "Peer support workers", "Lived-experience mentors", "Peer coaching", "Peer befriending",
    "Youth peer advocates", "Peer-delivered psychoeducation", "Peer recovery coaching",
    "Student peer listeners", "Peer-led text messaging", "Buddy schemes", "Peer facilitators",
    "Peer-run drop-in centres", "Peer counselling", "Peer-assisted learning circles",
    "Digital peer communities", "Peer outreach workers", "Youth peer specialists", "Peer wellbeing champions",
]
_POPULATIONS = [  # 29
    "adolescents", "young adults", "university students", "care leavers", "LGBTQ+ youth",
    "homeless young people", "young refugees", "secondary school pupils", "young mothers",
    "young people with first-episode psychosis", "young people in foster care", "rural adolescents",
    "young carers", "youth in juvenile justice", "Indigenous youth", "young men", "young women",
    "medical students", "apprentices", "transgender youth", "autistic adolescents",
    "young people leaving inpatient care", "migrant youth", "college freshmen",
    "young people with type 1 diabetes", "youth in residential care", "deaf adolescents",
    "young people on waiting lists", "student athletes",
]
_CONDITIONS = [  # 31
    "depression", "anxiety", "self-harm", "psychosis", "eating disorders", "suicidal ideation",
    "post-traumatic stress", "substance use", "bipolar disorder", "ADHD", "loneliness",
    "psychological distress", "emotional problems", "borderline personality disorder",
    "obsessive-compulsive disorder", "social anxiety", "school refusal", "complicated grief",
    "body image concerns", "insomnia", "childhood trauma", "mental health difficulties", "burnout",
    "gambling problems", "cannabis use", "alcohol misuse", "conduct problems", "academic stress",
    "low mood", "emerging mental illness", "panic disorder",
]
_PLACES = [  # 37
    "Melbourne", "rural Scotland", "Nairobi", "Toronto", "São Paulo", "Dublin", "Cape Town",
    "Auckland", "Manchester", "Chicago", "Kampala", "Bergen", "Montréal", "Glasgow", "Brisbane",
    "Lagos", "Mumbai", "Oslo", "Vancouver", "Cardiff", "Helsinki", "Amsterdam", "Accra", "Seattle",
    "Copenhagen", "Bogotá", "Leeds", "Hanoi", "Perth", "Galway", "Denver", "Kathmandu",
    "Wellington", "Belfast", "Utrecht", "Harare", "Zürich",
]
_DESIGNS = [  # 41 (phrase, design id, publication types)
    ("a randomised controlled trial", "rct", ["Randomized Controlled Trial"]),
    ("a cluster randomised trial", "rct", ["Randomized Controlled Trial"]),
    ("a pragmatic randomised trial", "rct", ["Randomized Controlled Trial"]),
    ("a pilot randomised feasibility trial", "rct", ["Randomized Controlled Trial"]),
    ("a stepped-wedge trial", "rct", ["Randomized Controlled Trial"]),
    ("a quasi-experimental study", "quasi_experimental", ["Comparative Study"]),
    ("a controlled before-and-after study", "quasi_experimental", ["Comparative Study"]),
    ("a non-randomised comparison", "quasi_experimental", ["Comparative Study"]),
    ("an interrupted time series", "quasi_experimental", []),
    ("a prospective cohort study", "cohort", ["Observational Study"]),
    ("a retrospective cohort analysis", "cohort", ["Observational Study"]),
    ("a longitudinal follow-up", "cohort", ["Observational Study"]),
    ("a registry-based cohort", "cohort", ["Observational Study"]),
    ("a cross-sectional survey", "cross_sectional", []),
    ("a national online survey", "cross_sectional", []),
    ("a school-based survey", "cross_sectional", []),
    ("a qualitative interview study", "qualitative", []),
    ("a focus group study", "qualitative", []),
    ("an ethnographic study", "qualitative", []),
    ("a photovoice study", "qualitative", []),
    ("an interpretative phenomenological analysis", "qualitative", []),
    ("a mixed-methods evaluation", "mixed_methods", []),
    ("a convergent mixed-methods study", "mixed_methods", []),
    ("a sequential explanatory mixed-methods study", "mixed_methods", []),
    ("a systematic review", "systematic_review", ["Systematic Review", "Review"]),
    ("a systematic review and meta-analysis", "systematic_review", ["Systematic Review", "Meta-Analysis", "Review"]),
    ("a meta-synthesis", "systematic_review", ["Systematic Review", "Review"]),
    ("a scoping review", "scoping_review", ["Review"]),
    ("a rapid scoping review", "scoping_review", ["Review"]),
    ("an evidence map", "scoping_review", ["Review"]),
    ("a realist review", "realist_review", ["Review"]),
    ("a realist synthesis", "realist_review", ["Review"]),
    ("a rapid realist review", "realist_review", ["Review"]),
    ("a realist evaluation", "realist_evaluation", []),
    ("a realist process evaluation", "realist_evaluation", []),
    ("a realist-informed case study", "realist_evaluation", []),
    ("a study protocol", "protocol", ["Clinical Trial Protocol"]),
    ("protocol for a randomised trial", "protocol", ["Clinical Trial Protocol"]),
    ("a process evaluation", "other", []),
    ("a programme description", "other", []),
    ("a Delphi consensus study", "other", []),
]
_MECHANISMS = [
    "peerness_relationship", "hope_role_modelling", "validation_support", "navigation_advocacy",
    "skills_psychoeducation", "empowerment_autonomy", "stigma_reduction", "social_connection",
    "engagement_therapeutic", "peer_worker_benefits",
]
_MECH_SENTENCES = {
    "peerness_relationship": "Participants trusted mentors who had been through similar experiences & felt understood.",
    "hope_role_modelling": "Seeing peers who had recovered gave young people hope that things could improve.",
    "validation_support": "Young people described feeling listened to and emotionally supported by their peer.",
    "navigation_advocacy": "Peer workers helped young people navigate referral pathways and advocated for them in appointments.",
    "skills_psychoeducation": "Peers shared practical coping skills and explained treatment in everyday language.",
    "empowerment_autonomy": "Participants reported greater control over decisions about their own care.",
    "stigma_reduction": "Open disclosure by peers reduced self-stigma and made help-seeking feel normal.",
    "social_connection": "Group sessions built friendships and a sense of belonging among members.",
    "engagement_therapeutic": "Attendance at clinical appointments rose after a peer was introduced (p < .05).",
    "peer_worker_benefits": "Peer workers valued supervision and training, although role clarity was often lacking.",
}
_OUTCOMES = ["hope", "service_engagement", "wellbeing", "resilience", "confidence", "symptoms", "recovery",
             "self_esteem", "social_functioning", "help_seeking", "stigma"]
_CONTEXTS = ["school", "clinical_service", "community", "online", "inpatient_residential", "adolescents",
             "young_adults", "students", "lgbtq", "care_experienced", "homeless", "lmic", "one_to_one", "group",
             "digital", "organisational_support"]
_FAMILIES = ["Walker", "Nguyen", "O'Brien", "Okafor", "Müller", "García", "Smith", "Kowalski", "Tanaka",
             "Ahmed", "Johansson", "Dubois", "Mensah", "Patel", "Rossi", "Kim", "Fitzgerald", "Novak",
             "Hernández", "Andersen", "Chen", "Murphy", "Silva", "Larsen", "Brown", "Ibrahim", "Cohen"]
_GIVENS = ["Janet S", "Ahmed", "Siobhan", "Kwame", "Lena", "María José", "Tom", "Agnieszka", "Yuki", "Farah",
           "Erik", "Camille", "Ama", "Priya", "Giulia", "Min-jun", "Ciarán", "Petra", "Luis", "Ingrid", "Wei",
           "Aoife", "Thiago", "Sofie", "Daniel J", "Fatima", "Noa"]
_JOURNALS = ["Early Intervention in Psychiatry", "Journal of Adolescent Health", "BMC Psychiatry",
             "Child and Adolescent Mental Health", "Psychiatric Rehabilitation Journal", "JMIR Mental Health",
             "Journal of Youth Studies", "Health Expectations", "BMJ Open", "Community Mental Health Journal",
             "Journal of Mental Health", "Frontiers in Psychiatry"]
_KEYWORDS = ["peer support", "youth mental health", "lived experience", "adolescence", "mentoring",
             "recovery", "help-seeking", "stigma", "co-production", "realist evaluation"]
_MESH = ["Adolescent", "Young Adult", "Humans", "Peer Group", "Mental Health", "Social Support", "Female", "Male",
         "Mental Disorders/therapy", "Mentors", "Counseling/methods"]


def _pick(values: list, i: int, mult: int) -> str:
    # slot k = (i * mult) mod len(values) with prime lengths: two studies share a slot only
    # when their index difference is a multiple of that prime, so titles stay distinct
    # (>= 3 of 5 slots differ below 20,000 records) and never fuzzily merge.
    return values[(i * mult + 7) % len(values)]


def generate_corpus(n: int, seed: int = 0, start: int = 0) -> list[dict]:
    """`n` synthetic, well-formed studies for scale tests.

    Deterministic for (n, seed, start). Identifiers depend on `start + i`, so two calls
    with disjoint ranges never collide (add new studies to a corpus with start=len(old)).
    Entry dates spread over 2005-2025; sources overlap (cross-source duplicates)."""
    rng = random.Random(seed)
    first = date(2005, 1, 1)
    span = (date(2025, 12, 31) - first).days
    out = []
    for j in range(n):
        i = start + j
        intervention = _pick(_INTERVENTIONS, i, 1)
        population = _pick(_POPULATIONS, i, 1)
        condition = _pick(_CONDITIONS, i, 1)
        place = _pick(_PLACES, i, 1)
        phrase, design, extra_types = _pick(_DESIGNS, i, 1)
        entry = first + timedelta(days=rng.randrange(span))
        year = entry.year if rng.random() < 0.8 else entry.year - 1
        sources = [s for s, p in zip(SOURCES, (0.7, 0.6, 0.85, 0.6)) if rng.random() < p] or ["openalex"]
        in_pubmed_family = "pubmed" in sources or "europepmc" in sources
        pmid = str(35000000 + i) if in_pubmed_family and ("pubmed" in sources or rng.random() < 0.8) else None
        doi = f"10.9999/synth.gen.{i}" if ("crossref" in sources or rng.random() < 0.8) else None
        mechs = sorted(rng.sample(_MECHANISMS, rng.randint(1, 3)))
        title = f"{intervention} for {population} with {condition} in {place}: {phrase}"
        n_obs = rng.randint(12, 480)
        findings = " ".join(_MECH_SENTENCES[m] for m in mechs)
        if rng.random() < 0.5:
            abstract = "\n".join([
                f"BACKGROUND: {population[0].upper() + population[1:]} with {condition} often wait months for care.",
                f"METHODS: We report {phrase} of {intervention.lower()} in {place} (N = {n_obs}).",
                f"RESULTS: {findings}",
                "CONCLUSIONS: Peer support is acceptable and may improve outcomes; effects were small (d = 0.21).",
            ])
        else:
            abstract = (f"{intervention} is increasingly offered to {population} with {condition}. "
                        f"This is {phrase} in {place} with {n_obs} participants. {findings} "
                        "Implications for services are discussed.")
        authors = [{"family": rng.choice(_FAMILIES), "given": rng.choice(_GIVENS)} for _ in range(rng.randint(1, 6))]
        variants: dict = {}
        if "crossref" in sources and rng.random() < 0.2:
            variants["crossref"] = {"title": title.title()}
        if "openalex" in sources and rng.random() < 0.1:
            variants["openalex"] = {"doi": None}
        out.append({
            "key": f"G{i + 1:06d}",
            "title": title,
            "abstract": abstract,
            "authors": authors,
            "year": year,
            "entry_date": entry.isoformat(),
            "journal": rng.choice(_JOURNALS),
            "volume": str(rng.randint(1, 60)),
            "issue": str(rng.randint(1, 12)),
            "pages": f"{(p := rng.randint(1, 900))}-{p + rng.randint(5, 20)}",
            "doi": doi,
            "pmid": pmid,
            "pmcid": f"PMC{8000000 + i}" if pmid and rng.random() < 0.3 else None,
            "openalex": f"W{5000000000 + i}",
            "pub_types": ["Journal Article", *extra_types],
            "mesh": sorted(rng.sample(_MESH, 4)) if pmid else [],
            "keywords": sorted(rng.sample(_KEYWORDS, 3)),
            "language": "eng",
            "sources": sources,
            "variants": variants,
            "topic": "on_topic",
            "design": design,
            "mechanisms": mechs,
            "outcomes": sorted(rng.sample(_OUTCOMES, 2)),
            "contexts": sorted(rng.sample(_CONTEXTS, 2)),
        })
    return out
