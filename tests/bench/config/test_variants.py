import pytest

from bench.config.variants import PIPELINES, parse_variant, pipeline_variant
from bench.errors import SettingError


def test_a_bare_variant_name_resolves_to_its_component():
    assert parse_variant("exact").name == "deepr:exact"
    assert parse_variant("deepr:notebook").of("deepr") == "notebook"


@pytest.mark.parametrize("text", ["fast", "deepr:fast", "forward:exact"])
def test_an_unknown_variant_lists_the_known_ones(text):
    with pytest.raises(SettingError, match="choose from deepr:none, deepr:notebook, deepr:exact"):
        parse_variant(text)


def test_a_variant_names_only_the_components_away_from_their_default():
    assert parse_variant("none").name == "deepr:none"
    assert parse_variant("multistep+exact").name == "deepr:exact+forward:multistep"
    assert parse_variant("framing:bincount").name == "deepr:none+framing:bincount"
    with pytest.raises(SettingError, match="names the deepr component twice"):
        parse_variant("exact+notebook")


def test_a_variant_says_which_choices_it_uses():
    variant = parse_variant("exact+multistep")
    assert variant.uses("deepr:exact") and variant.uses("forward:multistep")
    assert not variant.uses("framing:bincount")
    assert variant.with_choice("deepr", "notebook").name == "deepr:notebook+forward:multistep"


def test_a_named_pipeline_is_a_variant_of_every_component():
    from bench.config.variants import PIPELINES, VARIANT_COMPONENTS, pipeline_name

    notebook, fastest = parse_variant("pipeline:notebook"), parse_variant("pipeline:fastest")
    assert dict(notebook.choices) == PIPELINES["notebook"] and set(PIPELINES["fastest"]) == set(VARIANT_COMPONENTS)
    assert notebook.uses("loading:next_iter") and fastest.uses("cache:frames")
    assert pipeline_name(fastest.name) == "pipeline:fastest" and pipeline_name("exact") is None
    with pytest.raises(SettingError, match="variant 'pipeline:quick' is unknown"):
        parse_variant("pipeline:quick")


def test_a_pipeline_joined_with_a_component_says_to_spell_the_pipeline_out():
    with pytest.raises(SettingError, match="joins a named pipeline with other parts") as caught:
        parse_variant("pipeline:fastest+deepr:notebook")
    assert "pipeline:fastest is deepr:exact+forward:fused" in str(caught.value)


def test_approximate_variants_are_named_as_such_and_no_pipeline_is_one():
    assert parse_variant("bf16").name == "deepr:none+approx:bf16"  # a bare name finds its component
    assert parse_variant("deepr:exact+forward:fused+approx:sparseprop").approximate
    assert not parse_variant("deepr:exact+forward:fused").approximate
    assert not any(pipeline_variant(name).approximate for name in PIPELINES)  # fastest stays exact
    with pytest.raises(SettingError, match="both make the layers' products sparse: pick one"):
        parse_variant("forward:sparse+approx:sparseprop")


def test_the_shipped_approximate_sweep_and_study_set_each_variant_beside_its_exact_twin():
    import tomllib
    from pathlib import Path

    from bench.config.plan import load_sweep
    from bench.study.spec import check_study

    configs = Path(__file__).parents[3] / "bench" / "configs"
    plan = load_sweep(configs / "approx.toml")
    study = check_study(tomllib.loads((configs / "study-approx.toml").read_text()))
    for points in (plan.points, study.plan.points):
        variants = {parse_variant(p.settings.variant) for p in points}
        assert {v.of("approx") for v in variants} == {"as_built", "bf16", "sparseprop"}
        assert {v.with_choice("approx", "as_built") for v in variants} == {pipeline_variant("fastest")}
    assert not study.options.claims
