"""A small coded review for the table, export, screening and report tests (imported by tests/test_*.py).

Records go in through Store.upsert; sentences, codes, curation and relevance/design are written
straight into the tables the mechanisms coder fills, so no model is needed.
"""

from synth import screening
from synth.mechanisms import curation
from synth.records import Record

EVIL_TITLE = '=HYPERLINK("http://x","y")'
EVIL_SCRIPT = "<script>alert(1)</script>"

# key -> (Record, design, relevance, sentences [(section, text, role)], codes [(idx, kind, code, score)])
CORPUS = {
    "navigator": (
        Record(title="Peer navigators for young adults with first-episode psychosis: a randomised controlled trial",
               abstract="BACKGROUND: Young people often disengage from early intervention.\n"
                        "RESULTS: Navigators accompanied young people to appointments and explained referral letters, and attendance improved.\n"
                        "CONCLUSIONS: Attendance at appointments improved.",
               doi="10.5555/rev.navigator", pmid="39200001", pmcid="PMC9200001", openalex="W4300200001", year=2019,
               journal="Early Intervention in Psychiatry",
               authors=["Walker, Janet S", "Klodnick, Vanessa V", "Okafor, Ada", "Brennan, Sean"],
               pub_types=["Journal Article", "Randomized Controlled Trial"], keywords=["peer navigation"],
               source="pubmed", source_id="39200001"),
        "rct", 0.93,
        [("BACKGROUND", "Young people often disengage from early intervention.", "background"),
         ("RESULTS", "Navigators accompanied young people to appointments and explained referral letters, and attendance improved.", "finding"),
         ("CONCLUSIONS", "Attendance at appointments improved.", "conclusion")],
        [(1, "mechanism", "navigation_advocacy", 0.71), (1, "outcome", "service_engagement", 1.0), (2, "outcome", "service_engagement", 1.0),
         (1, "context", "clinical_service", 1.0),
         (-1, "mechanism", "navigation_advocacy", 0.71), (-1, "outcome", "service_engagement", 1.0),
         (-1, "context", "clinical_service", 1.0)],
    ),
    "forum": (
        Record(title="Young people's experiences of a moderated online peer support forum",
               abstract="Participants felt they belonged once they met others who had been through similar experiences. "
                        "Wellbeing improved over six months.",
               doi="10.5555/rev.forum", pmid="39200002", year=2021, journal="JMIR Mental Health",
               authors=["Lindqvist, Maja", "Nørgaard, Søren"], source="europepmc", source_id="MED/39200002"),
        "qualitative", 0.88,
        [("", "Participants felt they belonged once they met others who had been through similar experiences.", "finding"),
         ("", "Wellbeing improved over six months.", "finding")],
        [(0, "mechanism", "social_connection", 0.66), (1, "outcome", "wellbeing", 1.0),
         (-1, "mechanism", "social_connection", 0.66), (-1, "outcome", "wellbeing", 1.0), (-1, "context", "online", 1.0)],
    ),
    "evil": (
        Record(title=EVIL_TITLE,
               abstract=f"Young people in an online group said peers made them feel less alone {EVIL_SCRIPT} | *really*. "
                        "Wellbeing scores rose.",
               doi="10.5555/rev.evil", pmid="39200003", pmcid="PMC9200003", openalex="W4300200003", year=2022,
               journal="Journal of <b>Youth</b> Studies", authors=["-Dash, Eve", "@At, Sam"],
               source="crossref", source_id="10.5555/rev.evil"),
        "qualitative", 0.8,
        [("", f"Young people in an online group said peers made them feel less alone {EVIL_SCRIPT} | *really*.", "finding"),
         ("", "Wellbeing scores rose.", "finding")],
        [(0, "mechanism", "social_connection", 0.61), (1, "outcome", "wellbeing", 1.0),
         (-1, "mechanism", "social_connection", 0.61), (-1, "outcome", "wellbeing", 1.0), (-1, "context", "online", 1.0)],
    ),
    "excluded": (
        Record(title="Peer mentoring for adult veterans: a pilot study",
               abstract="Veterans felt connected to mentors. Wellbeing improved.",
               doi="10.5555/rev.excluded", year=2020, journal="Military Medicine", authors=["Hale, Tom"],
               source="openalex", source_id="W4300200004", openalex="W4300200004"),
        "cohort", 0.55,
        [("", "Veterans felt connected to mentors.", "finding"), ("", "Wellbeing improved.", "finding")],
        [(0, "mechanism", "social_connection", 0.6), (-1, "mechanism", "social_connection", 0.6),
         (-1, "outcome", "wellbeing", 1.0), (-1, "context", "online", 1.0)],
    ),
    "curated": (
        Record(title="Role models with lived experience in school-based peer support",
               abstract="Seeing a peer who had recovered gave students hope. Hope scores rose.",
               doi="10.5555/rev.curated", year=2023, journal="School Mental Health", authors=["Ito, Ken"],
               source="pubmed", source_id="39200005", pmid="39200005"),
        "mixed_methods", 0.9,
        [("", "Seeing a peer who had recovered gave students hope.", "finding"), ("", "Hope scores rose.", "finding")],
        [(0, "outcome", "hope", 1.0), (1, "outcome", "hope", 1.0), (-1, "outcome", "hope", 1.0), (-1, "context", "school", 1.0)],
    ),
    "review": (
        Record(title="Peer contact and mental health stigma in adolescents: a systematic review",
               abstract="Across 12 trials, contact with peers who disclosed their own experiences reduced stigma, "
                        "but effects on help-seeking were inconsistent.",
               doi="10.5555/rev.review", year=2022, journal="Journal of Adolescence", authors=["Moreau, Lise", "Baptiste, Ana", "Chen, Li"],
               source="crossref", source_id="10.5555/rev.review"),
        "systematic_review", 0.9,
        [("", "Across 12 trials, contact with peers who disclosed their own experiences reduced stigma, "
              "but effects on help-seeking were inconsistent.", "finding")],
        [(0, "mechanism", "stigma_reduction", 0.8), (0, "outcome", "stigma", 1.0), (0, "outcome", "help_seeking", 1.0),
         (-1, "mechanism", "stigma_reduction", 0.8), (-1, "outcome", "stigma", 1.0), (-1, "outcome", "help_seeking", 1.0)],
    ),
    "protocol": (
        Record(title="Peer mentoring for young carers: protocol for a randomised controlled trial",
               abstract="We will randomise 200 young carers to peer mentoring or usual support.",
               doi="10.5555/rev.protocol", year=2024, journal="Trials", authors=["Osei, Kofi"],
               source="crossref", source_id="10.5555/rev.protocol"),
        "protocol", 0.85,
        [("", "We will randomise 200 young carers to peer mentoring or usual support.", "methods")],
        [],
    ),
    "near_miss": (
        Record(title="Peer review of manuscripts in psychiatry journals",
               abstract="Reviewers disagreed about methods.", doi="10.5555/rev.nearmiss", year=2018,
               journal="BMJ Open", authors=["Quill, Pat"], source="crossref", source_id="10.5555/rev.nearmiss"),
        "cross_sectional", 0.05,
        [("", "Reviewers disagreed about methods.", "background")],
        [],
    ),
}


def build(project, exclude=("excluded",)) -> dict[str, str]:
    """Write the corpus into PROJECT's store; returns key -> record id."""

    store = project.store()
    ids = {}
    try:
        for key, (rec, design, relevance, sentences, codes) in CORPUS.items():
            _, rid = store.upsert(rec)
            ids[key] = rid
            with store.transaction() as c:
                if key == "evil":  # the store strips tags on the way in; an entity-escaped source can still
                    c.execute("UPDATE records SET abstract=? WHERE id=?", (rec.abstract, rid))  # deliver them literally
                c.execute("UPDATE records SET design=?, relevance=? WHERE id=?", (design, relevance, rid))
                for i, (section, text, role) in enumerate(sentences):
                    c.execute("INSERT INTO sentences(record_id, idx, section, text, role) VALUES (?,?,?,?,?)",
                              (rid, i, section, text, role))
                for idx, kind, code, score in codes:
                    c.execute("INSERT INTO codes(record_id, idx, kind, code, score) VALUES (?,?,?,?,?)",
                              (rid, idx, kind, code, score))
        # A human accepted hope_role_modelling for the school record, citing its first sentence.
        curation.curate(store, ids["curated"], "hope_role_modelling", "accept", sentence=0)
        for key in exclude:
            screening.decide(store, ids[key], "exclude", "adult sample")
    finally:
        store.close()
    return ids
