"""The sweep runner end to end on the tiny synthetic set: rows, resume, errors, kill -9."""

import json
import math
import os
import signal
import subprocess
from collections import Counter

import pandas as pd
import pytest
import torch

from bench.config.plan import plan_sweep
from bench.measure.stages import ROW_STAGES
from bench.results.rows import ErrorRow, SkippedRow, StageRow
from bench.results.store import ResultStore
from bench.run.executors import InProcessExecutor
from bench.run.sweep import run_sweep
from tests.bench.processes import start_and_wait_for_first_rows

TINY = {"num_steps": 8, "batch_size": 8, "threads": 1, "warmup_steps": 1, "measured_steps": 3, "runs": 1}


def _plan(root, grid=None, **extra):
    spec = {"name": "t",
            "settings": {**TINY, "data_root": str(root)},
            "grid": grid or {"layer_type": ["conv2d", "linear"], "variant": ["notebook", "exact"],
                             "connectivity": [0.2]}}
    return plan_sweep({**spec, **extra})


def _stage_rows(out):
    return [r for r in ResultStore(out).rows() if isinstance(r, StageRow)]


def test_a_sweep_stores_one_row_per_point_and_stage_with_ratios(tiny_root, tmp_path):
    plan = _plan(tiny_root)
    summary = run_sweep(plan, tmp_path)
    assert (summary.timed, summary.failed, summary.interrupted) == (4, 0, False)
    rows = _stage_rows(tmp_path)
    assert Counter(r.point_id for r in rows) == {p.point_id: len(ROW_STAGES) for p in plan.points}
    step = next(r for r in rows if r.stage == "step")
    assert step.n == 3 and step.samples_per_s > 0
    assert math.isnan(step.ci_low_s)  # 3 steps are too few for a 95% interval: none, not a narrow one
    assert step.env["threads"] == 1 and step.env["git_commit"] and "load_avg_1m_after" in step.env
    frame = pd.read_csv(summary.results_csv)
    # each point's figures across its runs (run_index empty), then each run's
    assert len(frame) == 2 * len(rows) and {"env.cpu_model", "variant", "connectivity"} <= set(frame)
    assert frame["run_index"].isna().sum() == len(rows)
    ratios = pd.read_csv(summary.ratios_csv)
    assert set(ratios["variant"]) == {"deepr:exact"} and set(ratios["reference_variant"]) == {"deepr:notebook"}
    assert set(ratios["component"]) == {"deepr"} and ratios["paired"].all()
    assert len(ratios) == 2 * 2 * 8  # (across runs + run 0) x two exact points x (7 stages + step)


def test_rerunning_a_finished_sweep_times_nothing_and_duplicates_nothing(tiny_root, tmp_path):
    plan = _plan(tiny_root)
    run_sweep(plan, tmp_path)
    before = ResultStore(tmp_path).path.read_bytes()
    summary = run_sweep(plan, tmp_path)
    assert (summary.timed, summary.already_done) == (0, 4)
    assert ResultStore(tmp_path).path.read_bytes() == before


def test_a_grown_sweep_runs_only_the_new_points(tiny_root, tmp_path):
    run_sweep(_plan(tiny_root), tmp_path)
    grown = _plan(tiny_root, grid={"layer_type": ["conv2d", "linear"], "variant": ["notebook", "exact"],
                                   "connectivity": [0.2, 0.5]})
    summary = run_sweep(grown, tmp_path)
    assert (summary.timed, summary.already_done) == (4, 4)
    assert len({r.point_id for r in _stage_rows(tmp_path)}) == 8


def test_a_failing_point_is_an_error_row_and_the_sweep_goes_on(tiny_root, tmp_path):
    # batch 200 > the 110 training samples: that group cannot build its loader; batch 8 can.
    plan = _plan(tiny_root, grid={"batch_size": [200, 8]})
    summary = run_sweep(plan, tmp_path)
    assert (summary.timed, summary.failed) == (1, 1)
    (error,) = [r for r in ResultStore(tmp_path).rows() if isinstance(r, ErrorRow)]
    assert error.settings.batch_size == 200 and "fewer than one batch of 200" in error.error
    assert "Traceback" in error.traceback
    # errors are retried on resume (the cause may be fixed); the good point is not rerun
    assert run_sweep(plan, tmp_path).timed == 0


@pytest.mark.skipif(torch.cuda.is_available(), reason="this machine has CUDA")
def test_points_on_an_absent_device_are_skipped_rows_not_crashes(tiny_root, tmp_path):
    plan = _plan(tiny_root, grid={"device": ["cpu", "cuda"]})
    summary = run_sweep(plan, tmp_path)
    assert (summary.timed, summary.skipped, summary.failed) == (1, 1, 0)
    (skipped,) = [r for r in ResultStore(tmp_path).rows() if isinstance(r, SkippedRow)]
    assert skipped.settings.device == "cuda" and "torch.cuda.is_available() is False" in skipped.reason
    rerun = run_sweep(plan, tmp_path)  # a resume says the same thing once, not again
    assert (rerun.timed, rerun.skipped, rerun.already_done) == (0, 1, 1)
    assert len([r for r in ResultStore(tmp_path).rows() if isinstance(r, SkippedRow)]) == 1


class _InterruptAfterFirstGroup(InProcessExecutor):
    """An executor whose user presses Ctrl-C while the second group is being timed."""

    def run(self, groups):
        for index, outcomes in super().run(groups[:1]):
            yield index, outcomes
        raise KeyboardInterrupt


def test_ctrl_c_keeps_finished_groups_and_the_rerun_completes_the_rest(tiny_root, tmp_path):
    plan = _plan(tiny_root)
    summary = run_sweep(plan, tmp_path, executor=_InterruptAfterFirstGroup())
    assert summary.interrupted and summary.timed == 2 and summary.results_csv.exists()
    assert run_sweep(plan, tmp_path).timed == 2


def _start_sweep_and_wait_for_a_group(tmp_path, root, grid_toml: str, **popen):
    """A sweep in a subprocess, returned once its first group is in the store."""
    sweep_file = tmp_path / "sweep.toml"
    out = tmp_path / "out"
    settings = "\n".join(f"{k} = {json.dumps(v)}" for k, v in {**TINY, "data_root": str(root)}.items())
    sweep_file.write_text(f'name = "sub"\n[settings]\n{settings}\n[grid]\n{grid_toml}\n')
    return start_and_wait_for_first_rows(["sweep", str(sweep_file), "--out", str(out)], out, **popen), out


def test_kill_9_mid_sweep_loses_only_the_group_in_flight(tiny_root, tmp_path):
    grid = {"layer_type": ["conv2d", "linear", "conv1d"], "seed": [0, 1], "variant": ["none", "exact"],
            "connectivity": [0.2]}
    process, out = _start_sweep_and_wait_for_a_group(
        tmp_path, tiny_root, "\n".join(f"{k} = {json.dumps(v)}" for k, v in grid.items()),
        start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    os.killpg(process.pid, signal.SIGKILL)  # the sweep and any worker it started
    process.wait()
    killed_with = {r.point_id for r in _stage_rows(out)}
    assert killed_with, "the sweep finished no group before the kill; the test needs a slower sweep"
    plan = plan_sweep({"name": "sub", "settings": {**TINY, "data_root": str(tiny_root)}, "grid": grid})
    summary = run_sweep(plan, out)
    assert summary.already_done == len(killed_with) and summary.timed == 12 - len(killed_with)
    rows = _stage_rows(out)
    per_point_stage = Counter((r.point_id, r.stage) for r in rows)
    assert set(per_point_stage.values()) == {1}, "a point was stored twice"
    assert {pid for pid, _ in per_point_stage} == {p.point_id for p in plan.points}


def test_each_variant_is_compared_with_the_point_differing_only_in_that_component(tiny_root, tmp_path):
    plan = _plan(tiny_root, grid={"variant": ["none", "multistep", "notebook", "exact", "exact+multistep"],
                                  "connectivity": [0.2]})
    summary = run_sweep(plan, tmp_path)
    ratios = pd.read_csv(summary.ratios_csv)
    pairs = set(zip(ratios["variant"], ratios["component"], ratios["reference_variant"]))
    # notebook+multistep is not in the grid, so exact+multistep has no DeepR reference
    assert pairs == {
        ("deepr:none+forward:multistep", "forward", "deepr:none"),
        ("deepr:exact", "deepr", "deepr:notebook"),
        ("deepr:exact+forward:multistep", "forward", "deepr:exact"),
    }


def test_sigint_stops_the_sweep_cleanly_and_keeps_what_was_done(tiny_root, tmp_path):
    process, out = _start_sweep_and_wait_for_a_group(
        tmp_path, tiny_root, 'layer_type = ["conv2d", "linear", "conv1d"]\nseed = [0, 1, 2]',
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    process.send_signal(signal.SIGINT)  # what Ctrl-C sends
    stdout, stderr = process.communicate(timeout=60)
    assert process.returncode == 130, stderr
    assert "run the same command again to resume" in stderr and "Traceback" not in stderr
    assert (out / "results.csv").exists() and _stage_rows(out)


def test_a_framing_variant_is_compared_with_its_reference_unpaired(tiny_root, tmp_path):
    plan = _plan(tiny_root, grid={"variant": ["notebook", "exact", "exact+bincount"],
                                  "connectivity": [0.2]})
    assert len(plan.groups) == 2  # bincount framing needs a DataLoader of its own
    summary = run_sweep(plan, tmp_path)
    ratios = pd.read_csv(summary.ratios_csv)
    framing = ratios[ratios["component"] == "framing"]
    assert set(framing["variant"]) == {"deepr:exact+framing:bincount"}
    assert set(framing["reference_variant"]) == {"deepr:exact"} and not framing["paired"].any()
    assert {"data_wait", "step"} <= set(framing["stage"])
    assert ratios[ratios["component"] == "deepr"]["paired"].all()
    # a resume that times nothing adds no second copy of the unpaired rows
    run_sweep(plan, tmp_path)
    assert len(pd.read_csv(summary.ratios_csv)) == len(ratios)
