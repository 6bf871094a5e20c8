from synth.normalize import normalize_doi, normalize_pmcid, strip_markup


def test_comparisons_in_plain_text_survive():
    assert strip_markup("x<y and p < 0.05 (n<30)") == "x<y and p < 0.05 (n<30)"


def test_jats_mathml_and_entities_are_removed():
    text = '<jats:p>Hope rose (<mml:math><mml:mi>p</mml:mi></mml:math> &lt; .05) in <i>young</i> people &amp; peers</jats:p>'
    assert strip_markup(text) == "Hope rose (p < .05) in young people & peers"


def test_paragraphs_become_lines():
    assert strip_markup("<p>BACKGROUND: a</p><p>METHODS: b</p>") == "BACKGROUND: a\nMETHODS: b"


def test_identifiers():
    assert normalize_doi("https://doi.org/10.1016/J.X.2020.01.002.") == "10.1016/j.x.2020.01.002"
    assert normalize_pmcid("pmc12345") == "PMC12345"
    assert normalize_doi("not a doi") is None


def test_user_errors_are_one_line_even_when_quoting_multiline_data():
    from synth.errors import SynthError

    assert SynthError("no title column (columns: a, \"b\nc\")").message == 'no title column (columns: a, "b c")'
