"""Sentence splitting of scientific abstracts (pysbd) with structured-abstract sections."""

from synth.sentences import Sentence, split_abstract


def texts(abstract):
    return [s.text for s in split_abstract(abstract)]


def test_scientific_abbreviations_do_not_split():
    got = texts("Walker et al. (2019) described peer support, e.g. mentoring, vs. usual care. It helped.")
    assert got == ["Walker et al. (2019) described peer support, e.g. mentoring, vs. usual care.", "It helped."]


def test_numbers_decimals_and_p_values_do_not_split():
    got = texts("We recruited N = 8 peer workers aged 24.5 years. Hope improved (p < .05) by 12.5% vs. 4.1%. Mean score was 3.2 (SD 1.1).")
    assert got == ["We recruited N = 8 peer workers aged 24.5 years.", "Hope improved (p < .05) by 12.5% vs. 4.1%.",
                   "Mean score was 3.2 (SD 1.1)."]


def test_structured_abstract_sections_upper_cased_and_numbered_in_order():
    abstract = ("BACKGROUND: Peer support is common. Evidence is thin.\n"
                "Methods: A pilot trial with 40 students.\n"
                "RESULTS: Engagement rose (i.e. attendance doubled).\n"
                "CONCLUSIONS: Peer workers need supervision.")
    got = split_abstract(abstract)
    assert got == [
        Sentence(0, "BACKGROUND", "Peer support is common."),
        Sentence(1, "BACKGROUND", "Evidence is thin."),
        Sentence(2, "METHODS", "A pilot trial with 40 students."),
        Sentence(3, "RESULTS", "Engagement rose (i.e. attendance doubled)."),
        Sentence(4, "CONCLUSIONS", "Peer workers need supervision."),
    ]


def test_unstructured_abstract_has_empty_section_and_colons_inside_sentences_are_text():
    got = split_abstract("Two themes emerged: trust and hope. Young people valued peers.")
    assert [s.section for s in got] == ["", ""]
    assert got[0].text == "Two themes emerged: trust and hope."


def test_multi_word_labels_and_blank_input():
    got = split_abstract("MAIN OUTCOME MEASURES: Hope and wellbeing scales.\n\nTRIAL REGISTRATION: NCT01234567.")
    assert [(s.section, s.text) for s in got] == [("MAIN OUTCOME MEASURES", "Hope and wellbeing scales."),
                                                    ("TRIAL REGISTRATION", "NCT01234567.")]
    assert split_abstract("") == [] and split_abstract("   \n ") == []


def test_inline_labels_in_one_paragraph_become_sections():
    # how RIS, CSV and Crossref exports often carry a structured abstract
    got = split_abstract("Background: Methods: 236 young people aged 16-25 were randomised. Results: Hope rose "
                         "(p < .05). Conclusions: Peer support may help. Trial registration: ISRCTN123.")
    assert [(s.section, s.text) for s in got] == [
        ("METHODS", "236 young people aged 16-25 were randomised."), ("RESULTS", "Hope rose (p < .05)."),
        ("CONCLUSIONS", "Peer support may help."), ("TRIAL REGISTRATION", "ISRCTN123.")]


def test_only_known_labels_split_inside_a_paragraph():
    got = split_abstract("Participants said: the mentor got it. Note: one site closed early.")
    assert {s.section for s in got} == {""}


def test_journal_labels_map_to_nlm_categories():
    from synth.sentences import section_category

    cases = {"DESIGN, SETTING AND PARTICIPANTS": "methods", "MAIN OUTCOME MEASURES": "methods", "AIMS/OBJECTIVES": "objective",
             "INTRODUCTION": "background", "FINDINGS": "results", "INTERPRETATION": "conclusions",
             "METHODS AND ANALYSIS": "methods", "TRIAL REGISTRATION": "other", "": ""}
    assert {k: section_category(k) for k in cases} == cases
    got = split_abstract("Design, setting and participants: A cluster trial in 12 schools.\nInterpretation: It may help.")
    assert [section_category(s.section) for s in got] == ["methods", "conclusions"]


def test_pubmed_nlm_category_used_when_a_section_has_no_label():
    from lxml import etree

    from spiders.parsers.pubmed import abstract_text

    xml = ('<Abstract><AbstractText NlmCategory="OBJECTIVE">To test peers.</AbstractText>'
           '<AbstractText Label="FINDINGS" NlmCategory="RESULTS">Hope rose.</AbstractText>'
           '<AbstractText NlmCategory="UNASSIGNED">Plain.</AbstractText></Abstract>')
    assert abstract_text(etree.fromstring(xml)) == "OBJECTIVE: To test peers.\nFINDINGS: Hope rose.\nPlain."
