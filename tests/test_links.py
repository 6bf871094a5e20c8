"""Linking a mechanism to an outcome only where a study's text links them (synth.mechanisms.links)."""

from synth.mechanisms.links import LinkSentence, record_links
from synth.mechanisms.outcomes import mentions, outcome_lexicon
from synth.mechanisms.theory import load_theory


def _view(*sentences):
    lex = outcome_lexicon(load_theory(None))
    return [LinkSentence(i, text, role, {m: 0.9 for m in mechs}, mentions(lex, text) if role in ("finding", "conclusion") else {})
            for i, (text, role, mechs) in enumerate(sentences)]


def _pairs(links):
    return {(k.mechanism, k.outcome, k.direction, k.sentences) for k in links}


def test_one_finding_that_says_both_is_a_link_with_its_direction():
    view = _view(("Stigma is common among adolescents.", "background", []),
                 ("Contact with peers with lived experience did not reduce stigma.", "finding", ["stigma_reduction"]))
    assert _pairs(record_links(view)) == {("stigma_reduction", "stigma", "no_change", (1,))}


def test_co_occurrence_in_different_sentences_is_not_a_link():
    view = _view(("Participants felt they belonged to a group of people like them.", "finding", ["social_connection"]),
                 ("Depressive symptoms fell over twelve weeks.", "finding", []))
    assert record_links(view) == []


def test_a_finding_and_its_stated_explanation_are_linked():
    view = _view(("Attendance at appointments improved over the year.", "finding", []),
                 ("Young people attributed this to navigators who went with them and explained the letters.", "finding",
                  ["navigation_advocacy"]))
    assert _pairs(record_links(view)) == {("navigation_advocacy", "service_engagement", "improved", (0, 1))}


def test_background_and_protocol_plans_give_no_links():
    view = _view(("Peer workers may build hope and engagement with services.", "background", ["hope_role_modelling"]))
    assert record_links(view) == []
    view = _view(("We will test whether peer mentors reduce depressive symptoms.", "finding", ["validation_support"]))
    assert record_links(view, protocol=True) == []
