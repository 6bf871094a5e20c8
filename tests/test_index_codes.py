"""The pipeline as a user runs it: `synth index` codes what it indexes, so an export right after it
carries mechanisms; until then, commands that show mechanisms say so in one line on stderr."""

import json

import pytest

from click.testing import CliRunner

from synth.cli import cli

# End-to-end with the real model (and Chroma): the full suite runs it, `make test-fast` does not.
pytestmark = pytest.mark.slow

NBIB = """PMID- 39200001
TI  - Peer mentoring and hope among adolescents receiving mental health care: a mixed-methods study.
AB  - BACKGROUND: Young people often disengage from mental health services. METHODS: We paired 64
      adolescents with trained peer mentors who had lived experience of mental illness. RESULTS: Hope
      scores rose over 12 weeks. Participants said that seeing a mentor who had recovered showed them
      that recovery was possible for them too, and they attended more appointments. CONCLUSIONS: Peer
      mentoring may foster hope through role modelling.
FAU - Okafor, Adaeze
DP  - 2024
TA  - J Adolesc Health

PMID- 39200002
TI  - A peer-led group for university students with anxiety: a pilot randomised trial.
AB  - Students with anxiety were randomised to a peer-led group or waitlist. Those in the group felt less
      alone because others shared their experiences, and anxiety symptoms decreased at eight weeks.
FAU - Lindqvist, Maja
DP  - 2023
TA  - BMC Psychiatry
"""


def run(project, *args):
    return CliRunner().invoke(cli, ["--project", str(project.root), *args], catch_exceptions=False)


def test_index_codes_new_records_and_the_uncoded_note_goes_away(project, tmp_path):
    path = tmp_path / "pubmed.nbib"
    path.write_text(NBIB, encoding="utf-8")
    assert run(project, "import", str(path)).exit_code == 0

    before = run(project, "export", "--format", "jsonl")
    assert before.exit_code == 0
    assert "2 record(s) not coded for mechanisms yet; `synth index` codes them" in before.stderr
    assert [json.loads(line)["mechanisms"] for line in before.stdout.splitlines()] == [[], []]  # stdout stays JSONL

    indexed = run(project, "index", "--json")
    assert indexed.exit_code == 0, indexed.output
    summary = json.loads(indexed.stdout)
    assert summary["embedded"] == 2 and summary["coding"]["coded"] == 2

    after = run(project, "export", "--format", "jsonl")
    assert "not coded" not in after.stderr
    coded = {json.loads(line)["pmid"]: json.loads(line)["mechanisms"] for line in after.stdout.splitlines()}
    assert coded["39200001"], "the hope / role-modelling study carries mechanisms straight after `synth index`"

    again = json.loads(run(project, "index", "--json").stdout)  # incremental: nothing new to embed or code
    assert again["embedded"] == 0 and again["coding"]["coded"] == 0
