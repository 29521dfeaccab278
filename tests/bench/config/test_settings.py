"""The settings table: one definition per setting, read by sweep files, flags, configs and docs."""

import json
from pathlib import Path

import pytest

from bench.cli import build_parser, settings_from_args
from bench.config.plan import plan_sweep
from bench.config.point_config import point_config
from bench.config.settings import (
    BY_NAME,
    DEFAULTS,
    SETTING_NAMES,
    SETTINGS,
    markdown_table,
    normalise,
    point_label,
)
from bench.errors import SettingError

ROOT = Path(__file__).parents[3]
# A point every setting matters to, and for each setting another valid value than the default.
BASE = {"variant": "deepr:exact", "connectivity": 0.1, "num_workers": 2, "endless_sampler": False}
OTHER = {"data_root": "/elsewhere", "bad_samples": "skip", "layer_type": "linear", "num_steps": 12, "frame_size": 16,
         "batch_size": 4, "num_workers": 1, "pin_memory": True, "endless_sampler": True,
         "persistent_workers": False, "variant": "deepr:notebook", "connectivity": 0.05,
         "l1": 1e-4, "temperature": 1e-6, "sparse_init": "masked", "device": "cuda", "threads": 3, "flush_denormal": True,
         "lr": 0.5, "lr_rule": "fixed", "optimiser": "sgd", "seed": 7, "warmup_steps": 0, "measured_steps": 3, "runs": 2, "disturbed_reruns": 0,
         "workload_batches": 2, "rewiring_rule": "examples/rewiring/rules.py:RigL",
         "rewiring_options": {"drop_fraction": 0.05}, "model": "examples/plain_lif/plugin.py:plain_lif",
         "model_options": {"hidden": 64}, "dataset": "examples/plain_lif/plugin.py:spike_patterns",
         "dataset_options": {"samples": 32}}
# The point the deepr:custom settings matter to (exact DeepR's l1 and temperature do not).
BASE_CUSTOM = {**BASE, "variant": "deepr:custom", "rewiring_rule": "examples/rewiring/rules.py:SET"}


def _base(name: str) -> dict:
    return BASE_CUSTOM if BY_NAME[name].only_with == ("deepr:custom",) else BASE


def test_every_setting_has_an_alternative_here_so_a_new_one_cannot_skip_these_tests():
    assert set(OTHER) == set(SETTING_NAMES)


@pytest.mark.parametrize("name", SETTING_NAMES)
def test_every_setting_reaches_the_nested_point_config(name):
    assert point_config({**_base(name), name: OTHER[name]}) != point_config(_base(name))


@pytest.mark.parametrize("name", SETTING_NAMES)
def test_every_setting_is_a_sweep_key_and_a_flag_of_the_same_name(name, tmp_path):
    setting = next(s for s in SETTINGS if s.name == name)
    value = OTHER[name]
    plan = plan_sweep({"settings": {**_base(name), name: value}}, data_override=None)
    (point,) = plan.points
    assert getattr(point.settings, name) == getattr(normalise({**_base(name), name: value}), name)
    if setting.kind is bool:
        argv = [setting.flag if value else "--no-" + setting.flag[2:]]
    else:
        argv = [setting.flag, json.dumps(value) if setting.kind is dict else str(value)]
    args = build_parser().parse_args(["run", *argv])
    assert settings_from_args(args) == {name: value}


def test_old_flag_spellings_stay_as_aliases():
    args = build_parser().parse_args(["run", "--time-steps", "7", "--steps", "3", "--warmup", "1",
                                      "--data", "synthetic"])
    assert settings_from_args(args) == {"num_steps": 7, "measured_steps": 3, "warmup_steps": 1,
                                        "data_root": "synthetic"}
    with pytest.raises(SettingError, match="num_steps is given twice"):
        normalise({"num_steps": 5, "time_steps": 5})


def test_a_flag_not_given_leaves_the_tables_default():
    assert settings_from_args(build_parser().parse_args(["run"])) == {}
    assert normalise({}).measured_steps == DEFAULTS["measured_steps"]


def test_the_variant_shorthand_flags_compose_a_variant():
    args = build_parser().parse_args(["run", "--deepr", "exact", "--forward", "multistep"])
    assert settings_from_args(args) == {"variant": "deepr:exact+forward:multistep"}
    with pytest.raises(SettingError, match="use one or the other"):
        settings_from_args(build_parser().parse_args(["run", "--deepr", "exact", "--variant", "none"]))


def test_a_deepr_point_without_a_connectivity_is_refused_with_the_fix():
    with pytest.raises(SettingError, match="deepr:exact needs a connectivity.*connectivity = 0.1"):
        normalise({"variant": "deepr:exact"})


@pytest.mark.parametrize("variant", ["deepr:exact", "deepr:notebook"])
def test_a_deepr_point_at_full_connectivity_is_a_real_configuration(variant):
    assert normalise({"variant": variant, "connectivity": 1.0}).connectivity == 1.0


def test_a_dense_point_keeps_every_connection_whatever_connectivity_was_asked():
    assert normalise({"variant": "none", "connectivity": 0.1}).connectivity == 1.0
    assert normalise({"variant": "none"}).connectivity == 1.0
    assert normalise({"variant": "exact", "connectivity": 0.1}).connectivity == 0.1


def test_l1_and_temperature_reach_exact_deepr_and_are_neutral_elsewhere():
    exact = point_config({"variant": "exact", "connectivity": 0.1, "l1": 1e-4, "temperature": 1e-5})
    assert (exact.deepr.l1, exact.deepr.temperature) == (1e-4, 1e-5)
    notebook = normalise({"variant": "notebook", "connectivity": 0.1, "l1": 1e-4, "temperature": 1e-5})
    assert (notebook.l1, notebook.temperature) == (0.0, 0.0)


def test_lr_and_seed_are_set_once_and_reach_every_consumer():
    from snn.seeds import stream_seed

    cfg = point_config({"variant": "exact", "connectivity": 0.1, "lr": 0.5, "seed": 3})
    assert cfg.lr == cfg.deepr.lr == pytest.approx(5.0)  # lr_rule per_connectivity: lr / c
    assert point_config({"variant": "exact", "connectivity": 0.1, "lr": 0.5, "lr_rule": "fixed"}).deepr.lr == 0.5
    assert cfg.seed == cfg.deepr.seed == 3  # the weights' and DeepR's streams derive from it
    assert cfg.loader.seed == stream_seed(3, "data")  # data order: its own stream


def test_whole_numbers_of_float_settings_are_one_point_not_two():
    assert normalise({"lr": 1}) == normalise({"lr": 1.0})


def test_every_problem_is_named_at_once():
    with pytest.raises(SettingError) as error:
        normalise({"num_worker": 2, "batch_size": 0})
    assert "unknown setting 'num_worker'" in str(error.value)


def test_unset_threads_are_resolved_to_a_number_before_anything_runs():
    assert isinstance(normalise({}).threads, int)


def test_a_label_names_every_setting_away_from_its_default():
    base = normalise({"variant": "exact", "connectivity": 0.1, "threads": 1})
    assert point_label(base) == "conv2d | deepr:exact c=0.1 | 0 workers | cpu"
    other = normalise({"variant": "exact", "connectivity": 0.1, "seed": 1, "lr": 0.05, "threads": 1})
    assert point_label(other) == "conv2d | deepr:exact c=0.1 | 0 workers | cpu | lr=0.05 seed=1"


def test_the_settings_page_is_exactly_what_snn_bench_settings_prints():
    from bench.cli import options_reference

    page = (ROOT / "docs" / "settings.md").read_text()
    assert markdown_table() in page and page.rstrip().endswith(options_reference().rstrip()), (
        "docs/settings.md is out of date: regenerate its tables with `snn-bench settings`")


def test_one_data_folder_spelled_three_ways_is_one_point(tmp_path, monkeypatch):
    (tmp_path / "data").mkdir()
    monkeypatch.chdir(tmp_path)
    spellings = ["data", "./data/", str(tmp_path / "data" / ".." / "data")]
    ids = {plan_sweep({"settings": {"data_root": s, "threads": 1}}).points[0].point_id for s in spellings}
    assert len(ids) == 1
    assert normalise({"data_root": "data/"}).data_root == str(tmp_path / "data")


def test_the_synthetic_set_lives_in_one_per_user_cache_folder(monkeypatch, tmp_path):
    from bench.config.settings import data_path, synthetic_root

    monkeypatch.delenv("SNN_BENCH_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert synthetic_root() == tmp_path / "xdg" / "snn-bench" / "synthetic"
    monkeypatch.setenv("SNN_BENCH_CACHE", str(tmp_path / "mine"))
    assert data_path("synthetic") == str(tmp_path / "mine" / "synthetic")
    assert normalise({"data_root": "synthetic"}).data_root == "synthetic"  # the id names the set


def test_the_per_connectivity_rule_divides_lr_by_connectivity_for_deepr_only():
    deepr = point_config({"variant": "exact", "connectivity": 0.1, "lr": 5e-3, "lr_rule": "per_connectivity"})
    assert deepr.lr == deepr.deepr.lr == pytest.approx(5e-2)
    dense = normalise({"variant": "none", "lr_rule": "per_connectivity"})
    assert dense.lr_rule == "fixed"  # a dense point has nothing to divide by


def test_the_optimiser_is_a_setting_the_session_builds(tiny_root):
    import torch

    from bench.measure.point import PointSession

    session = PointSession(point_config({"optimiser": "sgd", "threads": 1, "data_root": str(tiny_root)}),
                           torch.device("cpu"))
    assert isinstance(session.trainer.optimiser, torch.optim.SGD)


def test_the_settings_type_has_exactly_the_table_s_fields_in_order_and_types():
    import dataclasses
    import typing

    from bench.config.settings import Settings

    fields = dataclasses.fields(Settings)
    assert [f.name for f in fields] == list(SETTING_NAMES)
    hints = typing.get_type_hints(Settings)
    for setting in SETTINGS:
        # a setting whose default is None is resolved by normalise (threads, data_root may stay None)
        assert setting.kind in typing.get_args(hints[setting.name]) or hints[setting.name] is setting.kind
        assert all(f.default is dataclasses.MISSING for f in fields)  # defaults live in the table only


def test_normalised_settings_are_read_as_attributes_and_stored_as_the_same_dict():
    from bench.config.settings import Settings

    s = normalise({"variant": "exact", "connectivity": 0.1, "threads": 1})
    assert isinstance(s, Settings) and s.connectivity == 0.1 and s.threads == 1
    assert Settings.from_dict(s.as_dict()) == s and normalise(s) == s
    assert s.changed(seed=3).seed == 3 and s.changed(seed=3).id != s.id


def test_layer_type_shapes_the_seed_network_and_its_library_ports_only():
    from bench.config.settings import network_name

    port = normalise({"model": "snn.libraries.norse:network", "layer_type": "linear"})
    assert port.layer_type == "linear" and network_name(port.model, port.layer_type) == "linear norse"
    other = normalise({"model": "examples/plain_lif/plugin.py:plain_lif", "layer_type": "linear"})
    assert other.layer_type is None and network_name(other.model, other.layer_type) == "plain_lif"
    assert network_name(normalise({}).model, "conv2d") == "conv2d"
