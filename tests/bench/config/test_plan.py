from pathlib import Path

import pytest
import torch

from bench.config.plan import SweepConfigError, load_sweep, plan_sweep

GRID = {"settings": {"threads": 1},
        "grid": {"num_workers": [0, 2], "layer_type": ["conv2d", "linear"],
                 "connectivity": [0.1, 0.01], "variant": ["none", "notebook", "exact"]}}


def test_a_grid_is_the_full_product_with_dense_points_counted_once():
    plan = plan_sweep(GRID)
    # 2 workers x 2 layer types x (1 dense + 2 variants x 2 connectivities)
    assert len(plan.points) == 2 * 2 * 5 and plan.duplicates == 2 * 2 * 1
    assert len({p.point_id for p in plan.points}) == len(plan.points)


def test_points_differing_only_in_variant_and_connectivity_share_a_group():
    plan = plan_sweep(GRID)
    assert len(plan.groups) == 4
    for group in plan.groups:
        fixed = {(p.settings.num_workers, p.settings.layer_type) for p in group}
        assert len(fixed) == 1 and len(group) == 5


def test_explicit_points_inherit_the_fixed_settings():
    plan = plan_sweep({"settings": {"batch_size": 4, "threads": 1},
                       "points": [{"layer_type": "linear"}, {"num_workers": 1}]})
    assert [p.settings.batch_size for p in plan.points] == [4, 4]
    assert plan.points[0].settings.layer_type == "linear"


def test_the_point_id_is_stable_across_plans():
    assert [p.point_id for p in plan_sweep(GRID).points] == [p.point_id for p in plan_sweep(GRID).points]


@pytest.mark.parametrize("spec, message", [
    ({"grid": {"num_wrokers": [0]}}, "unknown axis 'num_wrokers'"),
    ({"grid": {"device": ["tpu"]}}, "device value unknown device 'tpu': use cpu, cuda, cuda:N or mps"),
    ({"grid": {"variant": ["turbo"]}}, "'turbo' is unknown: choose from deepr:none"),
    ({"grid": {"connectivity": [1.5]}}, "connectivity value must lie in (0, 1]"),
    ({"grid": {"connectivity": [0]}}, "connectivity value must lie in (0, 1]"),
    ({"grid": {"num_workers": [-1]}}, "num_workers value must be 0 or more, got -1"),
    ({"grid": {"num_workers": 2}}, "[grid].num_workers must be a non-empty list"),
    ({"grid": {"layer_type": ["conv3d"]}}, "unknown 'conv3d': choose one of conv2d, conv1d, linear"),
    ({"settings": {"batch_size": 0}}, "[settings].batch_size must be 1 or more"),
    ({"settings": {"frame_size": 30}}, "must divide the sensor's 128 pixels"),
    ({"points": [{"threads": 1.5}]}, "[[points]] #1.threads must be a whole number"),
    ({"sweeps": {}}, "unknown top-level key 'sweeps'"),
    ({"references": {"deepr": "best"}}, "[references].deepr: unknown variant 'best'"),
    ({"references": {"backward": "x"}}, "[references]: unknown component 'backward'"),
])
def test_invalid_sweeps_name_the_key_and_the_fix(spec, message):
    with pytest.raises(SweepConfigError) as caught:
        plan_sweep(spec)
    assert message in str(caught.value)


def test_every_problem_is_reported_at_once():
    with pytest.raises(SweepConfigError, match="3 problem") as caught:
        plan_sweep({"grid": {"num_workers": [-1], "device": ["tpu"], "bogus": [1]}})
    assert str(caught.value).count("\n  - ") == 3


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_points_on_an_absent_device_are_planned_as_skipped_with_the_reason():
    plan = plan_sweep({"grid": {"device": ["cpu", "cuda"]}})
    cpu, cuda = plan.points
    assert cpu.skip_reason is None
    assert "torch.cuda.is_available() is False" in cuda.skip_reason


def test_the_data_override_applies_to_every_point(tmp_path):
    plan = plan_sweep({"settings": {"data_root": "synthetic"}, "grid": {"num_workers": [0, 1]}},
                      data_override=str(tmp_path))
    assert {p.settings.data_root for p in plan.points} == {str(tmp_path)}


def test_sweep_files_are_read_as_toml(tmp_path):
    path = tmp_path / "s.toml"
    path.write_text('name = "mine"\n[references]\ndeepr = "exact"\n[grid]\nvariant = ["notebook", "exact"]\nconnectivity = [0.1]\n')
    plan = load_sweep(path)
    assert plan.name == "mine" and plan.references == {"deepr": "exact", "forward": "reference", "framing": "tonic",
                                                     "loading": "next_iter", "cache": "off", "approx": "as_built"} and len(plan.points) == 2
    path.write_text("[grid\n")
    with pytest.raises(SweepConfigError, match="is not valid TOML"):
        load_sweep(path)
    with pytest.raises(SweepConfigError, match="does not exist"):
        load_sweep(tmp_path / "missing.toml")


def test_the_shipped_default_sweep_covers_the_four_axes():
    plan = load_sweep(Path(__file__).parents[3] / "bench" / "configs" / "default.toml")
    for axis in ("num_workers", "device", "connectivity", "layer_type"):
        assert len({getattr(p.settings, axis) for p in plan.points}) > 1, axis


def test_framing_variants_need_their_own_loader_so_their_own_group():
    plan = plan_sweep({"grid": {"variant": ["none", "multistep", "framing:bincount"]}})
    assert sorted(len(g) for g in plan.groups) == [1, 2]
    (alone,) = [g for g in plan.groups if len(g) == 1]
    assert alone[0].settings.variant == "deepr:none+framing:bincount"


def test_a_profile_table_selects_points_by_their_settings():
    plan = plan_sweep({"grid": {"variant": ["none", "exact"], "num_workers": [0, 2], "connectivity": [0.1]},
                       "profile": {"match": [{"variant": "exact", "num_workers": 2}], "line_steps": 2}})
    chosen = [p.settings for p in plan.points if plan.profile.selects(p.settings)]
    assert [(s.variant, s.num_workers) for s in chosen] == [("deepr:exact", 2)]
    assert plan.profile.options.line_steps == 2
    assert plan_sweep({"profile": {"match": "all"}}).profile.match is None
    assert plan_sweep({}).profile is None


@pytest.mark.parametrize("profile, message", [
    ({"match": [{"num_wrokers": 2}]}, "[profile].match #1: unknown setting 'num_wrokers'"),
    ({"match": "some"}, '[profile].match must be "all" or a list of settings tables'),
    ({"trace_active": 0}, "[profile].trace_active must be 1 or more, got 0"),
    ({"trace_wait": -1, "plain_steps": 1.5}, "[profile].trace_wait must be 0 or more, got -1"),
    ({"line_step": 2}, "[profile]: unknown key 'line_step'"),
])
def test_invalid_profile_tables_name_the_problem(profile, message):
    with pytest.raises(SweepConfigError) as caught:
        plan_sweep({"profile": profile})
    assert message in str(caught.value)


def test_a_deepr_point_without_a_connectivity_is_refused_with_the_fix():
    with pytest.raises(SweepConfigError) as caught:
        plan_sweep({"points": [{"variant": "deepr:exact"}]})
    assert "variant deepr:exact needs a connectivity" in str(caught.value)
    assert "connectivity = 0.1" in str(caught.value)


def test_a_deepr_point_at_full_connectivity_is_planned_as_sign_constrained_deepr():
    plan = plan_sweep({"grid": {"variant": ["notebook", "exact"], "connectivity": [1.0]}})
    assert {p.settings.connectivity for p in plan.points} == {1.0} and len(plan.points) == 2


def test_old_key_spellings_are_the_same_setting_and_the_same_point(tmp_path):
    old = plan_sweep({"settings": {"data": str(tmp_path), "time_steps": 12, "threads": 1}})
    new = plan_sweep({"settings": {"data_root": str(tmp_path), "num_steps": 12, "threads": 1}})
    assert [p.point_id for p in old.points] == [p.point_id for p in new.points]
    with pytest.raises(SweepConfigError, match="num_steps is given twice"):
        plan_sweep({"settings": {"num_steps": 12, "time_steps": 12}})


def test_l1_and_temperature_are_sweep_axes_of_exact_deepr():
    plan = plan_sweep({"settings": {"variant": "exact", "connectivity": 0.1},
                       "grid": {"l1": [0.0, 1e-4], "temperature": [0.0, 1e-6]}})
    assert len(plan.points) == 4 and len(plan.groups) == 1  # they differ only in rewiring
    assert {(p.config().deepr.l1, p.config().deepr.temperature) for p in plan.points} == {
        (0.0, 0.0), (1e-4, 0.0), (0.0, 1e-6), (1e-4, 1e-6)}


# (point id, group id) of default.toml's points, on 2 cores with the cache at /pinned/cache:
# a refactor must not change them, or every stored result would be timed again as if new.
# Re-pinned when the `runs` setting joined the point (schema 6) and default.toml's timing became
# 3 runs of 1 + 3 steps: both are part of what a point is.
PINNED_IDS = {
    "conv2d | deepr:none | 0 workers | cpu": ("c2286ef9f03e34ee", "bf57a6901ef92959"),
    "conv2d | deepr:notebook+loading:next_iter c=0.1 | 0 workers | cpu": ("877614e13cc8b590", "e348270c9b243443"),
    "conv2d | deepr:exact+forward:fused+framing:compiled+cache:frames c=0.1 | 0 workers | cpu":
        ("540bc7793887bd66", "4fea0e169e423b45"),
    "conv2d | deepr:exact c=0.1 | 0 workers | cpu": ("eb8c9b046042c5e6", "bf57a6901ef92959"),
    "linear | deepr:none | 2 workers | cpu": ("556a90b5d027810a", "80208d586f7f30e3"),
}


def test_the_default_sweep_keeps_its_point_and_group_ids(monkeypatch):
    monkeypatch.setenv("SNN_BENCH_CACHE", "/pinned/cache")
    monkeypatch.setattr("os.cpu_count", lambda: 2)
    plan = load_sweep(Path(__file__).parents[3] / "bench" / "configs" / "default.toml", data_override="synthetic")
    ids = {" | ".join(p.label.split(" | ")[:4]): (p.point_id, p.group_id) for p in plan.points}
    assert {label: ids[label] for label in PINNED_IDS} == PINNED_IDS


def test_runs_are_timed_run_by_run_each_group_once_per_run():
    plan = plan_sweep({**GRID, "settings": {"threads": 1, "runs": 3}})
    units = plan.pending(set())
    assert len(units) == 3 * len(plan.groups)
    assert [u[0].run_index for u in units] == sorted(u[0].run_index for u in units)  # run 0, then 1, then 2
    for r in range(3):
        mine = [u for u in units if u[0].run_index == r]
        assert sorted(p.point_id for u in mine for p in u) == sorted(p.point_id for p in plan.points)
        assert all(p.run_index == r for u in mine for p in u)


def test_each_run_shuffles_the_order_of_groups_and_of_points_reproducibly():
    plan = plan_sweep({**GRID, "settings": {"threads": 1, "runs": 3}})
    units = plan.pending(set())
    orders = [[p.point_id for u in units if u[0].run_index == r for p in u] for r in range(3)]
    assert len({tuple(order) for order in orders}) == 3  # no two runs in the same order
    assert [[p.point_id for p in u] for u in plan.pending(set())] == [[p.point_id for p in u] for u in units]


def test_a_resume_times_only_the_runs_still_missing_in_the_order_it_had():
    plan = plan_sweep({**GRID, "settings": {"threads": 1, "runs": 2}})
    units = plan.pending(set())
    first = units[0]
    done = {(p.point_id, p.run_index) for p in first[:2]}
    resumed = plan.pending(done)
    assert [p.point_id for p in resumed[0]] == [p.point_id for p in first[2:]]
    assert sum(map(len, resumed)) == sum(map(len, units)) - 2
