import re

import torch

from bench.measure.environment import busy_warning, capture_environment, git_state
from bench.results.ids import config_hash


def test_config_hash_ignores_key_order_and_sees_every_value():
    assert config_hash({"a": 1, "b": [2, 3]}) == config_hash({"b": [2, 3], "a": 1})
    assert config_hash({"a": 1}) != config_hash({"a": 2})
    assert re.fullmatch(r"[0-9a-f]{16}", config_hash({}))


def test_a_machine_loaded_beyond_half_its_cores_is_reported_busy():
    assert busy_warning(load=0.9, cores=2) is None
    warning = busy_warning(load=1.5, cores=2)
    assert "busy" in warning and "1.50 on 2 core(s)" in warning


def test_git_state_names_this_checkouts_commit():
    state = git_state()
    assert re.fullmatch(r"[0-9a-f]{40}", state["git_commit"]) and isinstance(state["git_dirty"], bool)


def test_git_state_outside_a_repository_is_unknown_not_an_error(tmp_path):
    assert git_state(tmp_path) == {"git_commit": None, "git_dirty": None}


def test_environment_records_what_a_comparison_needs(tmp_path):
    torch.set_num_threads(1)
    env = capture_environment(torch.device("cpu"), flush_denormal=True, data=None)
    for key in ("host", "cpu_model", "cores", "gpu", "gpu_driver", "python", "torch", "snntorch",
                "tonic", "numpy", "load_avg_1m", "git_commit", "git_dirty"):
        assert key in env
    assert env["threads"] == 1 and env["flush_denormal"] is True and env["gpu"] is None


def test_the_environment_a_group_records_is_exactly_the_one_list_of_fields():
    from bench.results.rows import ENV_FIELDS

    env = capture_environment(torch.device("cpu"), flush_denormal=False, data=None)
    group_only = {"load_avg_1m_before", "load_avg_1m_after", "skipped_samples", "frame_cache_build_s", "forward_compile_s",  # set by run_group
                  "group_started_unix", "group_finished_unix",  # set by the executor
                  "ray_node",  # set on Ray
                  "pipeline_resolved",  # set per point by run_group under pipeline:fastest
                  "interference", "disturbed",  # set by run_group after the timed steps
                  "disturbed_attempts"}  # set by the sweep when it ran a disturbed group run again
    assert set(env) | group_only == set(ENV_FIELDS)
