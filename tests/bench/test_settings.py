import pytest

from bench.settings import normalise, parse_variant, point_config


def test_a_bare_variant_name_resolves_to_its_component():
    assert parse_variant("exact").name == "deepr:exact"
    assert parse_variant("deepr:notebook").of("deepr") == "notebook"


@pytest.mark.parametrize("text", ["fast", "deepr:fast", "forward:exact"])
def test_an_unknown_variant_lists_the_known_ones(text):
    with pytest.raises(ValueError, match="choose from deepr:none, deepr:notebook, deepr:exact"):
        parse_variant(text)


def test_a_dense_point_keeps_every_connection_whatever_connectivity_was_asked():
    assert normalise({"variant": "none", "connectivity": 0.1})["connectivity"] == 1.0
    assert normalise({"variant": "exact", "connectivity": 0.1})["connectivity"] == 0.1


def test_unset_threads_are_resolved_to_a_number_before_anything_runs():
    assert isinstance(normalise({})["threads"], int)


def test_an_unknown_setting_is_refused_by_name():
    with pytest.raises(ValueError, match="unknown setting.*num_worker\\b"):
        normalise({"num_worker": 2})


def test_settings_map_into_the_nested_point_config():
    cfg = point_config({"layer_type": "linear", "num_steps": 12, "batch_size": 4,
                        "num_workers": 2, "variant": "exact", "connectivity": 0.05, "threads": 1})
    assert (cfg.net.layer_type, cfg.net.num_steps, cfg.frames.n_time_bins) == ("linear", 12, 12)
    assert (cfg.loader.batch_size, cfg.loader.num_workers, cfg.loader.persistent_workers) == (4, 2, True)
    assert (cfg.deepr.variant, cfg.deepr.connectivity, cfg.threads) == ("exact", 0.05, 1)
    assert point_config({"num_workers": 0}).loader.persistent_workers is False


def test_a_variant_names_only_the_components_away_from_their_default():
    assert parse_variant("none").name == "deepr:none"
    assert parse_variant("multistep+exact").name == "deepr:exact+forward:multistep"
    assert parse_variant("framing:bincount").name == "deepr:none+framing:bincount"
    with pytest.raises(ValueError, match="names the deepr component twice"):
        parse_variant("exact+notebook")


def test_forward_and_framing_variants_reach_the_nested_configs():
    cfg = point_config({"variant": "multistep+bincount+exact", "connectivity": 0.1})
    assert (cfg.net.forward, cfg.frames.framing, cfg.deepr.variant) == ("multistep", "bincount", "exact")
