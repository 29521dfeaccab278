"""Typed rows: what the store writes is what the report reads, and one flattening for tables."""

import json

import pytest

from bench.results.rows import (
    ENV_FIELDS,
    SCHEMA_VERSION,
    ProfileSummary,
    SchemaVersionError,
    flatten,
    row_from_dict,
)
from tests.bench.make_rows import error_row, ratio_row, settings, skipped_row, stage_row

ROWS = [stage_row(), ratio_row(paired=False), error_row(), skipped_row()]


@pytest.mark.parametrize("row", ROWS, ids=lambda r: r.KIND)
def test_every_row_survives_the_round_trip_through_json(row):
    data = json.loads(json.dumps(row.to_dict()))
    assert data["schema"] == SCHEMA_VERSION and data["kind"] == row.KIND
    assert row_from_dict(data) == row


def test_a_row_of_another_schema_names_both_versions():
    data = {**stage_row().to_dict(), "schema": 1}
    with pytest.raises(SchemaVersionError, match=f"schema version 1, and this snn-bench reads version {SCHEMA_VERSION}"):
        row_from_dict(data, "results.jsonl")


def test_a_row_missing_a_field_is_refused_by_name():
    data = stage_row().to_dict()
    del data["median_s"]
    with pytest.raises(SchemaVersionError, match="a stage row without median_s"):
        row_from_dict(data)


def test_flatten_spreads_settings_and_environment_and_names_the_point():
    flat = flatten(stage_row(env={"host": "h", "cores": 2}))
    assert flat["kind"] == "stage" and flat["layer_type"] == "conv2d" and flat["median_s"] == 0.1
    assert flat["config"] == "conv2d | deepr:none | 0 workers | cpu"
    assert {f"env.{name}" for name in ENV_FIELDS} <= set(flat) and flat["env.cores"] == 2
    assert "settings" not in flat and "env" not in flat
    assert "samples_s" in flat and "samples_s" not in flatten(stage_row(), samples=False)


def test_a_label_distinguishes_points_that_differ_beyond_the_main_axes():
    a = flatten(stage_row(point_settings=settings(seed=1)))["config"]
    b = flatten(stage_row(point_settings=settings(seed=2)))["config"]
    assert a != b and "seed=2" in b


def test_a_profile_summary_is_read_back_as_it_was_written(tmp_path):
    summary = ProfileSummary(point_id="p", settings=settings(), environment={"host": "h"},
                             unprofiled_step_s=[0.1], line_step_s=[0.2], trace_step_s=[0.15],
                             worker_stats_merged=0, timer_unit_s=1e-9, peak_tensor_memory_bytes=10,
                             cuda_max_memory_allocated_bytes=None, line_overhead=2.0,
                             trace_overhead=1.5, files=["profile.json"])
    assert ProfileSummary.from_json(summary.to_json(), "profile.json") == summary
    stale = json.dumps({**json.loads(summary.to_json()), "schema": 1})
    with pytest.raises(SchemaVersionError):
        ProfileSummary.from_json(stale, "profile.json")
