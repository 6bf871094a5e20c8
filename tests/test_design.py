"""Study design classification: one clear example per label, and the precedence rules."""

import pytest

from synth.design import DESIGNS, classify, classify_all
from synth.records import Record

CASES = [
    ("rct", ["Journal Article", "Randomized Controlled Trial"],
     "Peer mentoring for adolescents with depression",
     "BACKGROUND: Peer support may help.\nMETHODS: 120 young people were randomised to peer mentoring or usual care."),
    ("rct", [], "Peer support versus usual care: a cluster randomised trial in secondary schools",
     "Forty schools took part."),
    ("quasi_experimental", [], "Effects of a peer-led wellbeing programme",
     "METHODS: A quasi-experimental design compared two colleges. A non-randomised comparison group received usual support."),
    ("cohort", [], "Trajectories of hope among young people receiving peer support",
     "We followed a prospective cohort of 412 young adults for two years."),
    ("cross_sectional", [], "Attitudes to peer support workers among university students",
     "A cross-sectional online survey of 1,203 students was conducted."),
    ("qualitative", [], "Young people's experiences of peer support in early intervention services",
     "We conducted semi-structured interviews with 18 young people and analysed them with thematic analysis."),
    ("mixed_methods", [], "Implementing youth peer support in a community mental health service",
     "This mixed-methods study combined routine outcome data with focus groups."),
    ("systematic_review", ["Journal Article", "Systematic Review"],
     "Peer support for young people with mental health problems", "We searched five databases."),
    ("systematic_review", [], "Peer-delivered interventions for youth mental health: a meta-analysis",
     "Twenty-three trials were pooled."),
    ("scoping_review", [], "Youth peer support work: a scoping review",
     "We mapped the literature following Arksey and O'Malley."),
    ("realist_review", ["Journal Article", "Review"], "How does peer support work for young people? A realist review",
     "We developed context-mechanism-outcome configurations from 41 documents."),
    ("realist_evaluation", [], "Peer support in a youth mental health service: a realist evaluation",
     "Initial programme theories were tested with realist interviews."),
    ("protocol", ["Clinical Trial Protocol"], "Peer navigators for first-episode psychosis",
     "This trial will test whether peer navigators improve engagement."),
    ("protocol", [], "Peer support for care-experienced young people: protocol for a randomised controlled trial",
     "Participants will be randomised to peer support or usual care."),
    ("other", ["Editorial"], "Why we need peer workers in youth mental health", "Peer workers bring lived experience."),
]


@pytest.mark.parametrize("expected,types,title,abstract", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_clear_examples(expected, types, title, abstract):
    assert classify(types, title, abstract) == expected


def test_every_label_has_an_example():
    assert {c[0] for c in CASES} == set(DESIGNS)


def test_realist_review_beats_systematic_review_pub_type():
    # PubMed indexes realist and scoping reviews as "Systematic Review"; the text is more specific.
    assert classify(["Systematic Review"], "Peer support for youth: a realist synthesis", "") == "realist_review"
    assert classify(["Systematic Review"], "Peer support for youth: a scoping review", "") == "scoping_review"


def test_trial_protocol_is_a_protocol_not_an_rct():
    assert classify(["Randomized Controlled Trial"], "Study protocol for a randomised trial of peer mentoring", "") == "protocol"


def test_background_citations_do_not_decide_the_design():
    abstract = ("BACKGROUND: Randomised controlled trials have shown that peer support reduces symptoms.\n"
                "METHODS: We interviewed 20 peer workers using semi-structured interviews.")
    assert classify([], "Peer workers' views", abstract) == "qualitative"
    # Unstructured: the sentence about *this* study wins over the one citing others.
    unstructured = ("Several RCTs have evaluated peer support. In this study we conducted focus groups "
                    "with young people to understand how it works.")
    assert classify([], "How peer support works", unstructured) == "qualitative"


def test_non_randomised_is_not_rct():
    assert classify([], "A non-randomised controlled trial of peer support", "") == "quasi_experimental"


def test_classify_all_writes_design_column(project):
    store = project.store()
    store.upsert(Record(title="Peer support: a realist review", abstract="", pmid="1", source="pubmed"))
    store.upsert(Record(title="Peer mentoring", abstract="Adolescents were randomly assigned to mentoring.", pmid="2", source="pubmed"))
    counts = classify_all(store)
    assert counts == {"realist_review": 1, "rct": 1}
    got = {r["pmid"]: r["design"] for r in store.iter_records()}
    assert got == {"1": "realist_review", "2": "rct"}
    store.close()


def test_classify_all_is_incremental_and_follows_content_changes(project):
    store = project.store()
    store.upsert(Record(title="Peer mentoring", abstract="Adolescents were randomly assigned to mentoring.", pmid="2", source="pubmed"))
    store.upsert(Record(title="Peer support: a realist review", abstract="", pmid="1", source="pubmed"))
    assert classify_all(store) == {"realist_review": 1, "rct": 1}
    store.conn.execute("UPDATE records SET design='other' WHERE pmid='2'")  # a marker: is it classified again?
    assert classify_all(store) == {"other": 1, "realist_review": 1}  # unchanged records are not re-read
    store.upsert(Record(title="Peer mentoring", abstract="Interviews with 12 young people; thematic analysis.", pmid="2", source="pubmed"))
    assert classify_all(store) == {"qualitative": 1, "realist_review": 1}  # changed content: classified again
    store.set_meta("design.rules", "older rules")
    store.conn.execute("UPDATE records SET design='other' WHERE pmid='1'")
    assert classify_all(store) == {"qualitative": 1, "realist_review": 1}  # new rules: everything again
    store.close()
