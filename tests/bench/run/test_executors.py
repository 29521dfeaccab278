"""bench.run.executors: each group run in a fresh process, and what a dying process leaves."""

import multiprocessing.process
import os
import signal
from pathlib import Path

import pytest

from bench.config.plan import plan_sweep
from bench.results.combine import combined_rows
from bench.results.rows import ErrorRow, RatioRow, StageRow
from bench.results.store import ResultStore
from bench.run.executors import FreshProcessExecutor
from bench.run.sweep import run_sweep

EXAMPLE = Path(__file__).parents[3] / "examples" / "plain_lif"
PLAIN = {"model": f"{EXAMPLE}/plugin.py:plain_lif", "dataset": f"{EXAMPLE}/plugin.py:spike_patterns",
         "num_steps": 20, "batch_size": 16, "threads": 1, "warmup_steps": 1, "measured_steps": 3}

# A model plug-in whose process dies (as if killed) the first time it is built: the marker file
# beside it says it already did. The parent only imports the module (bench.plugins' checks).
DYING = '''
import importlib.util
import os
from pathlib import Path

spec = importlib.util.spec_from_file_location("plain_lif_plugin", "{example}/plugin.py")
plugin = importlib.util.module_from_spec(spec)
spec.loader.exec_module(plugin)
MARKER = Path(__file__).with_name("died-once")


def dies_once(context):
    if not MARKER.exists():
        MARKER.write_text("")
        os._exit(9)
    return plugin.plain_lif(context)
'''


def test_every_group_run_is_timed_in_a_fresh_process_of_its_own(tmp_path):
    plan = plan_sweep({"name": "fresh", "settings": {**PLAIN, "runs": 2, "connectivity": 0.2},
                       "grid": {"variant": ["deepr:notebook", "deepr:exact"]}})
    summary = run_sweep(plan, tmp_path, executor=FreshProcessExecutor())
    assert (summary.timed, summary.failed) == (4, 0)  # 2 points x 2 runs
    rows = ResultStore(tmp_path).rows()
    steps = [r for r in rows if isinstance(r, StageRow) and r.stage == "step"]
    assert sorted(r.run_index for r in steps) == [0, 0, 1, 1]
    processes = {r.run_index: r.env["process_id"] for r in steps}  # the group's points share one
    assert len(processes) == 2 and os.getpid() not in processes.values()
    assert len({r.env["process_id"] for r in steps}) == 2
    # the comparison across runs: each run's ratio, and an interval taken across the two runs
    (step_ratio,) = [r for r in combined_rows(ResultStore(tmp_path).current_rows())
                     if isinstance(r, RatioRow) and r.stage == "step"]
    assert step_ratio.run_index is None and len(step_ratio.run_ratios) == 2
    assert step_ratio.interval == "t across 2 runs"


def test_a_group_run_whose_process_dies_is_an_error_and_the_next_one_still_runs(tmp_path):
    folder = tmp_path / "plugin"
    folder.mkdir()
    (folder / "dying.py").write_text(DYING.replace("{example}", str(EXAMPLE)))
    plan = plan_sweep({"name": "dies", "settings": {**PLAIN, "runs": 2, "model": f"{folder}/dying.py:dies_once"}})
    summary = run_sweep(plan, tmp_path / "out", executor=FreshProcessExecutor())
    assert (summary.timed, summary.failed) == (1, 1)
    rows = ResultStore(tmp_path / "out").rows()
    (error,) = [r for r in rows if isinstance(r, ErrorRow)]
    assert error.error.startswith("RunProcessDied:") and "exited with code 9" in error.error
    assert "run the same command again" in error.error
    assert {r.run_index for r in rows if isinstance(r, StageRow)} == {1}  # the other run was timed
    again = run_sweep(plan, tmp_path / "out", executor=FreshProcessExecutor())  # the resume times run 0
    assert (again.timed, again.failed) == (1, 0)
    assert ResultStore(tmp_path / "out").completed_ids() == {plan.points[0].point_id}


# A model plug-in that writes down the environment and working directory its process sees.
RECORDING = '''
import importlib.util
import os
from pathlib import Path

spec = importlib.util.spec_from_file_location("plain_lif_plugin", "{example}/plugin.py")
plugin = importlib.util.module_from_spec(spec)
spec.loader.exec_module(plugin)


def records(context):
    Path(__file__).with_name("seen").write_text(os.environ.get("SNN_TEST_MARK", "") + "|" + os.getcwd())
    return plugin.plain_lif(context)
'''


def test_a_group_runs_process_sees_the_environment_and_directory_of_now_not_of_the_fork_servers_start(
        tmp_path, monkeypatch):
    folder = tmp_path / "plugin"
    folder.mkdir()
    (folder / "recording.py").write_text(RECORDING.replace("{example}", str(EXAMPLE)))
    plan = plan_sweep({"name": "env", "settings": {**PLAIN, "runs": 1, "model": f"{folder}/recording.py:records"}})
    for mark in ("first", "second"):  # the fork server started with the first (or earlier) state
        monkeypatch.setenv("SNN_TEST_MARK", mark)
        (tmp_path / mark).mkdir()
        monkeypatch.chdir(tmp_path / mark)
        assert run_sweep(plan, tmp_path / f"out-{mark}", executor=FreshProcessExecutor()).timed == 1
        assert (folder / "seen").read_text() == f"{mark}|{tmp_path / mark}"


def test_a_ctrl_c_landing_just_after_the_child_started_ends_the_child_too(tmp_path, monkeypatch):
    """The window between start() and recv(): a stopped parent must leave no child timing a group
    whose outcomes no one will read (CI once caught one, its BrokenPipeError in the sweep's stderr)."""
    plan = plan_sweep({"name": "interrupted", "settings": {**PLAIN, "runs": 1}})
    executor = FreshProcessExecutor()
    process_class = executor._context.Process
    started = []

    def start_then_interrupted(process):
        multiprocessing.process.BaseProcess.start(process)
        started.append(process)
        raise KeyboardInterrupt  # what a Ctrl-C raises in the parent at that instant

    monkeypatch.setattr(process_class, "start", start_then_interrupted)
    with pytest.raises(KeyboardInterrupt):
        list(executor.run([plan.points]))
    (child,) = started
    assert not child.is_alive() and child.exitcode == -signal.SIGTERM  # ended, not left to finish
