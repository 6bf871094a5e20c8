"""A handful of hand-written records for the search tests (imported by tests/test_search*.py)."""

from synth.records import Record

# key -> Record. Each record is written so one kind of query finds it and not the others.
RECORDS = {
    "navigator": Record(
        title="Peer navigators for young people with first-episode psychosis: a randomised controlled trial",
        abstract=("BACKGROUND: Many young people disengage from early intervention services within a year.\n"
                  "METHODS: We randomised 148 young people aged 16-25 with first-episode psychosis to a peer navigator or usual care.\n"
                  "RESULTS: Young people with a navigator attended more appointments (OR 2.1). "
                  "Navigators accompanied them to first appointments and explained referral letters.\n"
                  "CONCLUSIONS: Peer navigation improved engagement with early intervention services."),
        pmid="39100001", doi="10.5555/test.navigator", year=2019, journal="Early Intervention in Psychiatry",
        authors=["Okafor, Ada"], pub_types=["Journal Article", "Randomized Controlled Trial"], source="pubmed", source_id="39100001"),
    "forum": Record(
        title="Young people's experiences of a moderated online peer support forum",
        abstract=("We interviewed 21 young people aged 14-19 who used a moderated online forum run by trained peer moderators. "
                  "Interviews were analysed with thematic analysis. "
                  "Participants described a sense of belonging and were no longer isolated once they met others who had been through similar experiences. "
                  "Moderators with lived experience were trusted more than professionals."),
        doi="10.5555/test.forum", pmid="39100002", year=2021, journal="Journal of Medical Internet Research",
        authors=["Lindqvist, Maja"], source="europepmc", source_id="MED/39100002"),
    "survey": Record(
        title="Attitudes to peer support workers among university students: a cross-sectional survey",
        abstract=("A cross-sectional online survey of 1,203 university students measured attitudes to peer support workers. "
                  "Most students (71%) would accept help from a trained student peer. "
                  "Students with previous mental health service use held the most positive attitudes."),
        doi="10.5555/test.survey", openalex="W4300000003", year=2015, journal="Journal of American College Health",
        authors=["Brennan, Sean"], source="openalex", source_id="W4300000003"),
    "review": Record(
        title="Peer support for adolescent depression: a systematic review and meta-analysis",
        abstract=("We searched six databases for trials of peer-delivered interventions for adolescents with depression. "
                  "Fourteen trials (2,410 participants) were included. "
                  "Peer support reduced depressive symptoms slightly compared with usual care (SMD -0.21)."),
        doi="10.5555/test.review", year=2022, journal="Journal of Adolescent Health",
        authors=["Haddad, Rana"], pub_types=["Journal Article", "Systematic Review"], source="crossref", source_id="10.5555/test.review"),
    "realist": Record(
        title="How does youth peer support work? A realist review",
        abstract=("We synthesised 38 documents to develop context-mechanism-outcome configurations. "
                  "Seeing a peer who had recovered gave young people hope that their own recovery was possible. "
                  "Role modelling worked when peers were close in age and shared a similar background."),
        doi="10.5555/test.realist", year=2020, journal="BMC Psychiatry",
        authors=["Mensah, Kofi"], source="import", source_id="scopus:1", database="Scopus"),
    "cohort": Record(
        title="Hope and recovery among young adults receiving peer mentoring: a longitudinal cohort study",
        abstract=("We followed 212 young adults receiving peer mentoring for two years. "
                  "Hope scores rose over the first six months and were sustained. "
                  "Young adults who met their mentor weekly reported greater gains in self-esteem."),
        pmid="39100006", doi="10.5555/test.cohort", year=2012, journal="Psychiatric Rehabilitation Journal",
        authors=["Novak, Petra"], source="pubmed", source_id="39100006"),
    "peer_review": Record(
        title="Peer review of manuscripts in psychiatry journals: agreement between reviewers",
        abstract=("We analysed 2,318 manuscripts that received at least two external reviews. "
                  "Inter-reviewer agreement was poor (weighted kappa 0.21). "
                  "Editors followed the more negative recommendation in most discordant cases."),
        pmid="39100007", year=2018, journal="Research Integrity and Peer Review",
        authors=["Fischer, Jonas"], source="pubmed", source_id="39100007"),
    "protocol": Record(
        title="Peer support for care leavers with mental health needs: protocol for a randomised controlled trial",
        abstract=("Young people leaving foster care face fragmented adult services. "
                  "Participants will be randomised to peer support from a care-experienced worker or usual care. "
                  "The primary outcome is wellbeing at 12 months."),
        pmid="39100008", doi="10.5555/test.protocol", year=2023, journal="Trials",
        authors=["Walsh, Aoife"], pub_types=["Journal Article", "Clinical Trial Protocol"], source="pubmed", source_id="39100008"),
}

DESIGNS = {"navigator": "rct", "forum": "qualitative", "survey": "cross_sectional", "review": "systematic_review",
           "realist": "realist_review", "cohort": "cohort", "peer_review": "other", "protocol": "protocol"}


def store_records(project) -> dict[str, str]:
    """Store RECORDS in PROJECT; returns key -> record id."""
    store = project.store()
    try:
        return {key: store.upsert(rec)[1] for key, rec in RECORDS.items()}
    finally:
        store.close()
