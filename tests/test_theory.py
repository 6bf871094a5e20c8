"""The programme theory file: defaults, validation, editing, hashing."""

import pytest

from synth.errors import SynthError
from synth.mechanisms.theory import add_mechanism, init_theory, load_theory, parse_theory

CONTRACT = {
    "mechanisms": {"peerness_relationship", "hope_role_modelling", "validation_support", "navigation_advocacy",
                   "skills_psychoeducation", "empowerment_autonomy", "stigma_reduction", "social_connection",
                   "engagement_therapeutic", "peer_worker_benefits"},
    "outcomes": {"hope", "service_engagement", "wellbeing", "resilience", "confidence", "symptoms", "recovery",
                 "self_esteem", "social_functioning", "help_seeking", "stigma"},
    "contexts": {"school", "clinical_service", "community", "online", "inpatient_residential", "adolescents",
                 "young_adults", "children", "lgbtq", "care_experienced", "homeless", "lmic", "students",
                 "one_to_one", "group", "digital", "organisational_support"},
}


def test_default_theory_has_the_contract_ids_and_rich_phrases():
    t = load_theory(None)
    assert {m.id for m in t.mechanisms} == CONTRACT["mechanisms"]
    assert {o.id for o in t.outcomes} == CONTRACT["outcomes"]
    assert {c.id for c in t.contexts} == CONTRACT["contexts"]
    assert all(len(m.phrases) >= 10 and m.description for m in t.mechanisms)
    assert {c.dimension for c in t.contexts} == {"setting", "population", "delivery", "organisational"}


def test_init_show_and_edit_change_the_hash(project):
    default = load_theory(project)
    path = init_theory(project)
    assert load_theory(project).hash == default.hash
    with pytest.raises(SynthError, match="already exists"):
        init_theory(project)
    add_mechanism(project, "creative_expression", "Creative expression", "Expressing experience through art with peers.",
                  ["photovoice", "art"], ["Making art together helped them talk."])
    t = load_theory(project)
    assert t.mechanism("creative_expression").phrases == ("photovoice", "art")
    assert t.hash != default.hash
    text = path.read_text()
    assert text.startswith("# Programme theory")  # the user's comments survive
    assert text.index("creative_expression") < text.index("\noutcomes:")  # inserted in the mechanisms list
    with pytest.raises(SynthError, match="already exists"):
        add_mechanism(project, "creative_expression", "x", "y", [])


@pytest.mark.parametrize("text, msg", [
    ("mechanisms: [", "invalid YAML"),
    ("- just a list", "mapping"),
    ("mechanisms: []", "at least one mechanism"),
    ("mechanisms:\n  - id: Bad\n    description: x", "lower_snake_case"),
    ("mechanisms:\n  - id: a\n", "needs a description"),
    ("mechanisms:\n  - id: a\n    description: x\n  - id: a\n    description: y", "duplicate id"),
    ("mechanisms:\n  - id: a\n    description: x\ncontexts:\n  - id: b\n    dimension: planet", "dimension"),
])
def test_invalid_theories_are_one_clear_error(text, msg):
    with pytest.raises(SynthError, match=msg):
        parse_theory(text, "theory.yaml")


def test_cli_theory_init_show_add(project):
    import json

    from click.testing import CliRunner

    from synth.cli import cli

    def run(*a):
        return CliRunner().invoke(cli, ["--project", str(project.root), *a])

    assert run("theory", "init").exit_code == 0
    r = run("theory", "init")
    assert r.exit_code == 2 and "already exists" in r.output
    assert "peerness_relationship" in run("theory", "show").output
    r = run("theory", "add", "creative_expression", "--name", "Creative expression",
            "--description", "Art with peers", "--phrase", "photovoice")
    assert r.exit_code == 0, r.output
    shown = json.loads(run("theory", "show", "--json").output)
    assert "creative_expression" in [m["id"] for m in shown["mechanisms"]]
