"""The profiling passes on the tiny synthetic set, with and without DataLoader workers."""

import gzip
import json

import pandas as pd
import pytest

from bench.config.settings import normalise
from bench.errors import SettingError
from bench.profiling.options import TraceSchedule
from bench.profiling.run import ProfileOptions, profile_point
from bench.results.rows import ProfileSummary
from snn.names import STAGES

OPTIONS = ProfileOptions(line_steps=2, plain_steps=2, trace=TraceSchedule(wait=0, warmup=1, active=2))


@pytest.fixture(scope="module", params=[0, 2], ids=["main-process", "two-workers"])
def profiled(request, tiny_root, tmp_path_factory):
    out = tmp_path_factory.mktemp(f"profile-{request.param}")
    settings = normalise({"data_root": str(tiny_root), "num_steps": 8, "batch_size": 8, "threads": 1,
                          "warmup_steps": 1, "num_workers": request.param, "variant": "exact",
                          "connectivity": 0.2})
    return request.param, out, profile_point(settings, out, OPTIONS)


def test_data_loading_lines_hold_hits_from_where_loading_ran(profiled):
    workers, out, summary = profiled
    assert summary.worker_stats_merged == workers
    table = pd.read_csv(out / "lines.csv")
    data = table[table["area"] == "data"]
    getitem = data[data["function"] == "CheckedDVSGesture.__getitem__"]
    # every step loads a batch of 8: warm-up, profiled steps and worker prefetch all count
    assert getitem["hits"].max() >= 8 * OPTIONS.line_steps
    assert set(table["area"]) >= {"forward", "rewiring", "data"}


def test_line_percentages_sum_to_100_per_function(profiled):
    _, out, _ = profiled
    table = pd.read_csv(out / "lines.csv")
    sums = table[table["total_s"] > 0].groupby(["file", "function"])["percent"].sum()
    assert ((sums - 100).abs() < 0.01).all(), sums


def test_line_text_is_the_familiar_report(profiled):
    _, out, _ = profiled
    text = (out / "lines.txt").read_text()
    for header in ("Line #", "Hits", "Time", "Per Hit", "% Time", "Line Contents"):
        assert header in text
    assert "Timer unit: 1e-06 s" in text and "forward_reference" in text


def test_the_trace_is_gzipped_json_with_every_stage_label(profiled):
    _, out, _ = profiled
    with gzip.open(out / "trace.json.gz", "rt") as handle:
        trace = json.load(handle)
    names = {event.get("name") for event in trace["traceEvents"]}
    assert set(STAGES) <= names


def test_op_tables_and_memory_are_written(profiled):
    _, out, summary = profiled
    by_stage = pd.read_csv(out / "ops_by_stage.csv")
    assert {"forward", "backward", "rewiring"} <= set(by_stage["stage"])
    assert (by_stage.groupby("stage")["percent_of_stage_cpu"].sum().round(6) == 100).all()
    assert "input_shapes" in pd.read_csv(out / "ops_by_shape.csv")
    assert len(pd.read_csv(out / "ops.csv")) > 10
    assert summary.peak_tensor_memory_bytes > 0


def test_profiling_overhead_is_recorded_against_unprofiled_steps(profiled):
    _, out, summary = profiled
    saved = ProfileSummary.from_json((out / "profile.json").read_text(), "profile.json")
    assert {"data_fingerprint", "synthetic_data", "numba_threads", "numba_jit"} <= set(saved.environment)
    assert saved == summary  # written and read back through the same type
    assert len(saved.unprofiled_step_s) == OPTIONS.plain_steps
    assert len(saved.trace_step_s) == OPTIONS.trace.active
    assert saved.line_overhead > 0 and saved.trace_overhead > 0
    assert set(saved.files) >= {"lines.txt", "lines.csv", "trace.json.gz", "ops.csv",
                                   "ops_by_shape.csv", "ops_by_stage.csv", "profile.json"}


def test_a_profile_that_fails_partway_leaves_the_old_one_whole_and_nothing_else(profiled, monkeypatch):
    workers, out, summary = profiled
    if workers:
        pytest.skip("one case is enough")
    before = {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()}
    import bench.profiling.run as run

    def killed(*args, **kwargs):
        raise RuntimeError("killed during the trace pass")

    monkeypatch.setattr(run, "_trace_pass", killed)
    with pytest.raises(RuntimeError, match="killed"):
        profile_point(summary.settings, out, OPTIONS)
    assert {p.name: p.read_bytes() for p in out.iterdir() if p.is_file()} == before
    assert [p.name for p in out.parent.iterdir() if p.name.startswith(f".{out.name}.")] == []


def test_a_profile_never_replaces_a_folder_of_other_files(tmp_path):
    (tmp_path / "notes.txt").write_text("mine")
    with pytest.raises(SettingError, match="pass a new or empty --out"):
        profile_point(normalise({"threads": 1}), tmp_path, OPTIONS)
    assert (tmp_path / "notes.txt").read_text() == "mine"
