from synth.records import Record
from synth.store import Outcome, Store


def rec(**kw):
    base = dict(title="Peer mentoring for young people with depression: a randomised trial", abstract="Young people met peers.", year=2021, source="pubmed", source_id="1")
    base.update(kw)
    return Record(**base)


def test_new_then_unchanged_is_idempotent(tmp_path):
    s = Store(tmp_path / "s.db")
    out, rid = s.upsert(rec(pmid="1"))
    assert out == Outcome.NEW
    assert s.upsert(rec(pmid="1")) == (Outcome.UNCHANGED, rid)
    assert s.count() == 1


def test_cross_source_duplicate_by_doi_keeps_both_provenances(tmp_path):
    s = Store(tmp_path / "s.db")
    _, rid = s.upsert(rec(pmid="1", doi="https://doi.org/10.1000/ABC"))
    out, rid2 = s.upsert(rec(source="crossref", source_id="10.1000/abc", doi="10.1000/abc", abstract="<jats:p>Longer text</jats:p>"))
    assert (out, rid2) == (Outcome.MERGED, rid)
    assert {p["source"] for p in s.provenance(rid)} == {"pubmed", "crossref"}
    # PubMed's abstract wins over Crossref's by source priority.
    assert s.get(rid)["abstract"] == "Young people met peers."


def test_fuzzy_match_merges_on_title_and_authors_but_conflicting_doi_does_not(tmp_path):
    s = Store(tmp_path / "s.db")
    authors = ["Okafor, Amara", "Lindqvist, Erik"]
    _, rid = s.upsert(rec(pmid="1", doi="10.1000/a", authors=authors))
    out, rid2 = s.upsert(rec(source="openalex", source_id="W9", openalex="W9", authors=["Amara Okafor", "Erik Lindqvist"],
                             title="Peer mentoring for young people with depression - a randomised trial."))
    assert (out, rid2) == (Outcome.MERGED, rid)
    out, rid3 = s.upsert(rec(source="crossref", source_id="10.1000/protocol", doi="10.1000/protocol", authors=authors))
    assert out == Outcome.NEW and rid3 != rid


def test_a_title_alone_does_not_merge_it_is_listed_for_a_person(tmp_path):
    from synth import duplicates

    s = Store(tmp_path / "s.db")
    _, rid = s.upsert(rec(pmid="1", doi="10.1000/a"))
    out, rid2 = s.upsert(rec(source="openalex", source_id="W9", openalex="W9", title="Peer mentoring for young people with depression - a randomised trial."))
    assert out == Outcome.NEW and rid2 != rid and s.count() == 2
    assert [{p["a"]["id"], p["b"]["id"]} for p in duplicates.undecided(s)] == [{rid, rid2}]


def test_record_bridging_two_records_merges_them(tmp_path):
    s = Store(tmp_path / "s.db")
    _, a = s.upsert(rec(pmid="5", title="A study of peer workers in youth mental health services one"))
    _, b = s.upsert(rec(source="crossref", source_id="10.9999/x", doi="10.9999/x", title="Completely different wording of the same paper two"))
    out, c = s.upsert(rec(source="europepmc", source_id="MED/5", pmid="5", doi="10.9999/x", title="A study of peer workers in youth mental health services one"))
    assert out == Outcome.MERGED and c == a
    assert s.count() == 1
    assert s.get(b)["id"] == a  # the merged-away id still resolves


def test_lookup_by_identifier(tmp_path):
    s = Store(tmp_path / "s.db")
    _, rid = s.upsert(rec(pmid="77", doi="10.5555/z"))
    assert s.get("10.5555/Z")["id"] == rid
    assert s.get("77")["id"] == rid
    assert s.get("nope") is None


def test_every_identifier_of_merged_records_still_names_the_study(tmp_path):
    """After a person merges two records the stored record shows one DOI, but the other DOI, both
    PMIDs, the absorbed synth id and the OpenAlex URL all still find it."""
    s = Store(tmp_path / "s.db")
    _, a = s.upsert(rec(title="Peer mentoring and hope in care leavers", doi="10.5555/own", source="import", source_id="x1",
                        openalex="W123"))
    _, b = s.upsert(rec(title="A different title entirely", doi="10.5555/other", pmid="4242", source="pubmed", source_id="4242"))
    assert a != b
    assert s.merge_records([a, b]) == a
    shown = s.get(a)
    assert shown["doi"] == "10.5555/other"  # PubMed's DOI wins the merged record's field ...
    for ref in ("10.5555/own", "https://doi.org/10.5555/OWN", "10.5555/other", "4242", b, a.upper(),
                "https://openalex.org/W123"):
        assert s.get(ref)["id"] == a, ref  # ... and every identifier still resolves
    assert s.get("10.5555/none") is None


def test_screening_and_curation_follow_a_merge(tmp_path):
    s = Store(tmp_path / "s.db")
    _, a = s.upsert(rec(pmid="5", title="A study of peer workers in youth mental health services one"))
    _, b = s.upsert(rec(source="crossref", source_id="10.9999/x", doi="10.9999/x", title="Completely different wording of the same paper two"))
    from synth import screening
    from synth.mechanisms import curation

    screening.decide(s, b, "exclude", "adult sample")
    curation.curate(s, b, "hope_role_modelling", "accept")
    s.upsert(rec(source="europepmc", source_id="MED/5", pmid="5", doi="10.9999/x", title="A study of peer workers in youth mental health services one"))
    assert [(d["record_id"], d["decision"]) for d in screening.list_decisions(s)] == [(a, "exclude")]
    assert [(rid, code) for rid, _, code, _ in curation.decisions(s)] == [(a, "hope_role_modelling")]
