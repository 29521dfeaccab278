"""The sweep on a real local Ray cluster (`ray start --head` on 127.0.0.1, 2 CPUs).

Marked `ray`: `make test` leaves them out; `make test-ray` (and .ci/run) installs the extra and
runs them. Nothing but the loopback address is contacted.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import pytest

from bench.config.plan import plan_sweep
from bench.measure.stages import ROW_STAGES
from bench.results.rows import ErrorRow, SkippedRow, StageRow
from bench.results.store import ResultStore
from bench.run.sweep import run_sweep
from tests.bench.processes import start_and_wait_for_first_rows

# Before Ray's first import, which reads them: keep the driver and the cluster on loopback.
os.environ.update(RAY_USAGE_STATS_ENABLED="0", RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER="0")
ray = pytest.importorskip("ray", reason="Ray is not installed: `make test-ray` installs the extra")
pytestmark = pytest.mark.ray

RAY_BIN = Path(sys.executable).with_name("ray")
RAY_ENV = dict(os.environ)
# disturbed_reruns = 0: on this 2-core machine the cluster's own processes and a killed driver's
# tasks compete with a group's threads, so a run may be recorded as disturbed; these tests are of
# the store and the executor, whose resumes must not time such a run again.
TINY = {"num_steps": 8, "batch_size": 8, "threads": 2, "warmup_steps": 1, "measured_steps": 3, "runs": 1,
        "disturbed_reruns": 0}
GRID = {"layer_type": ["conv2d", "linear"], "variant": ["none", "exact"], "connectivity": [0.2]}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def cluster():
    """A head node of 2 CPUs on loopback; its address. One timing group (2 threads) fills it."""
    address = f"127.0.0.1:{_free_port()}"
    subprocess.run([str(RAY_BIN), "start", "--head", "--node-ip-address=127.0.0.1",
                    f"--port={address.split(':')[1]}", "--num-cpus=2", "--num-gpus=0",
                    "--include-dashboard=false", "--disable-usage-stats"],
                   env=RAY_ENV, check=True, capture_output=True, timeout=120)
    try:
        yield address
    finally:
        ray.shutdown()
        subprocess.run([str(RAY_BIN), "stop", "--force"], env=RAY_ENV, capture_output=True, timeout=120)


def _plan(root, grid=GRID):
    return plan_sweep({"name": "t", "settings": {**TINY, "data_root": str(root)}, "grid": grid})


def _stage_rows(out):
    return [r for r in ResultStore(out).rows() if isinstance(r, StageRow)]


def _executor(address, **kwargs):
    from bench.run.ray_executor import RayExecutor

    return RayExecutor(address=address, **kwargs)


def _free_cpus(timeout_s=30.0) -> float:
    """The cluster's CPUs not held by any task, once they stop changing (or at the timeout)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and ray.available_resources().get("CPU", 0) < 2:
        time.sleep(0.2)
    return ray.available_resources().get("CPU", 0)


def test_a_sweep_on_ray_stores_what_the_in_process_executor_stores(cluster, tiny_root, tmp_path):
    on_ray = run_sweep(_plan(tiny_root), tmp_path / "ray", executor=_executor(cluster))
    here = run_sweep(_plan(tiny_root), tmp_path / "here")
    assert (on_ray.timed, on_ray.failed) == (here.timed, here.failed) == (4, 0)
    ray_rows, local_rows = _stage_rows(tmp_path / "ray"), _stage_rows(tmp_path / "here")
    assert Counter((r.point_id, r.stage) for r in ray_rows) == Counter((r.point_id, r.stage) for r in local_rows)
    assert {r.settings for r in ray_rows} == {r.settings for r in local_rows}
    assert all(r.env["ray_node"] and r.env["threads"] == 2 for r in ray_rows)
    assert not any(r.env.get("ray_node") for r in local_rows)


def test_two_groups_never_run_at_once_when_the_cluster_holds_cpus_for_one(cluster, tiny_root, tmp_path):
    run_sweep(_plan(tiny_root), tmp_path, executor=_executor(cluster))
    spans = sorted({(r.env["group_started_unix"], r.env["group_finished_unix"]) for r in _stage_rows(tmp_path)})
    assert len(spans) == 2  # two groups: conv2d and linear
    (_, first_end), (second_start, _) = spans
    assert second_start >= first_end  # each held both CPUs: the second waited


def _kills_linear_groups(points):
    if points[0].settings.layer_type == "linear":
        os._exit(1)  # the worker process dies mid-task, as under the OOM killer
    from bench.run.ray_executor import time_group_on_node

    return time_group_on_node(points)


def test_a_group_whose_worker_dies_becomes_error_rows_and_the_sweep_completes(cluster, tiny_root, tmp_path):
    summary = run_sweep(_plan(tiny_root), tmp_path, executor=_executor(cluster, group_task=_kills_linear_groups))
    assert (summary.timed, summary.failed) == (2, 2)
    errors = [r for r in ResultStore(tmp_path).rows() if isinstance(r, ErrorRow)]
    assert len(errors) == 2 and all(r.settings.layer_type == "linear" for r in errors)
    assert all("the Ray task of this group failed: WorkerCrashedError" in r.error for r in errors)
    assert {r.settings.layer_type for r in _stage_rows(tmp_path)} == {"conv2d"}


def test_a_missing_data_root_names_the_node_and_the_path(cluster, tmp_path):
    summary = run_sweep(_plan(tmp_path / "nowhere", grid={"variant": ["none"]}), tmp_path / "out",
                        executor=_executor(cluster))
    assert summary.failed == 1
    (error,) = [r for r in ResultStore(tmp_path / "out").rows() if isinstance(r, ErrorRow)]
    assert str(tmp_path / "nowhere") in error.error and f"on Ray node {socket.gethostname()}" in error.error


def test_a_profile_runs_as_a_task_and_its_files_come_back_to_the_driver(cluster, tiny_root, tmp_path):
    from bench.results.paths import PROFILE_FILES, PROFILE_SUMMARY, profile_dir
    from bench.results.rows import ProfileSummary

    plan = plan_sweep({"name": "t", "settings": {**TINY, "data_root": str(tiny_root)},
                       "grid": {"variant": ["exact"], "connectivity": [0.2]},
                       "profile": {"match": "all", "line_steps": 1, "plain_steps": 1, "trace_wait": 0,
                                   "trace_warmup": 1, "trace_active": 1}})
    summary = run_sweep(plan, tmp_path, executor=_executor(cluster))
    assert (summary.profiled, summary.profile_failed) == (1, 0)
    folder = profile_dir(tmp_path, plan.points[0].point_id)
    written = ProfileSummary.from_json((folder / PROFILE_SUMMARY).read_text(), str(folder))
    assert sorted(p.name for p in folder.iterdir()) == sorted(written.files)
    assert set(written.files) <= set(PROFILE_FILES) and "trace.json.gz" in written.files
    assert written.environment["ray_node"]  # profiled on the cluster, and the file says where


def test_threads_1_is_what_every_forward_on_ray_runs_with_and_what_the_rows_record(cluster, tmp_path):
    from tests.bench.run.test_threads import EXAMPLE, PLAIN, RECORDING

    folder = tmp_path / "plugin"
    folder.mkdir()
    (folder / "recording.py").write_text(RECORDING.format(example=EXAMPLE))
    plan = plan_sweep({"name": "threads", "settings": {**PLAIN, "threads": 1, "disturbed_reruns": 0,
                                                         "model": f"{folder}/recording.py:records"}})
    assert run_sweep(plan, tmp_path / "out", executor=_executor(cluster)).timed == 1
    seen = (folder / "threads-seen").read_text().split()
    assert len(seen) >= 4 and set(seen) == {"1"}
    assert all(r.env["threads"] == 1 and r.env["numba_threads"] == 1 for r in _stage_rows(tmp_path / "out"))


def test_cuda_points_are_skipped_with_the_reason_when_the_cluster_has_no_gpu(cluster, tiny_root, tmp_path):
    plan = plan_sweep({"name": "t", "settings": {**TINY, "data_root": str(tiny_root)},
                       "grid": {"variant": ["none"], "device": ["cpu", "cuda"]}})
    summary = run_sweep(plan, tmp_path, executor=_executor(cluster))
    assert (summary.timed, summary.skipped) == (1, 1)
    (skipped,) = [r for r in ResultStore(tmp_path).rows() if isinstance(r, SkippedRow)]
    assert "the Ray cluster has no GPU" in skipped.reason


def test_stopping_the_sweep_cancels_the_outstanding_tasks(cluster, tiny_root, tmp_path):
    plan = _plan(tiny_root, grid={"layer_type": ["conv2d", "linear", "conv1d"], "variant": ["none"]})
    running = _executor(cluster).run(plan.groups)
    next(running)  # one group done; the others wait for the CPUs or are running
    assert ray.available_resources().get("CPU", 0) < 2
    running.close()  # what Ctrl-C does to the runner's loop
    assert _free_cpus() == 2  # the outstanding tasks were cancelled, their CPUs freed


def test_kill_9_of_the_driver_then_a_resume_on_ray_stores_every_point_once(cluster, tiny_root, tmp_path):
    grid = {"layer_type": ["conv2d", "linear", "conv1d"], "seed": [0, 1], "variant": ["none"]}
    sweep_file, out = tmp_path / "sweep.toml", tmp_path / "out"
    settings = "\n".join(f"{k} = {json.dumps(v)}" for k, v in {**TINY, "data_root": str(tiny_root)}.items())
    grid_toml = "\n".join(f"{k} = {json.dumps(v)}" for k, v in grid.items())
    sweep_file.write_text(f'name = "t"\n[settings]\n{settings}\n[grid]\n{grid_toml}\n')
    process = start_and_wait_for_first_rows(
        ["sweep", str(sweep_file), "--out", str(out), "--executor", "ray", "--address", cluster], out,
        timeout_s=180, env=RAY_ENV, start_new_session=True, stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL)
    os.killpg(process.pid, signal.SIGKILL)  # the driver; its tasks die with its Ray job
    process.wait()
    done_before = {r.point_id for r in _stage_rows(out)}
    assert done_before, "no group finished before the kill; the test needs a slower sweep"
    plan = plan_sweep({"name": "t", "settings": {**TINY, "data_root": str(tiny_root)}, "grid": grid})
    summary = run_sweep(plan, out, executor=_executor(cluster))
    assert summary.already_done == len(done_before) and summary.timed == 6 - len(done_before)
    per_point_stage = Counter((r.point_id, r.stage) for r in _stage_rows(out))
    assert set(per_point_stage.values()) == {1}, "a point was stored twice"
    assert {pid for pid, _ in per_point_stage} == {p.point_id for p in plan.points}
    assert len(per_point_stage) == 6 * len(ROW_STAGES)



@pytest.fixture
def two_nodes():
    """A head and a second node of 2 CPUs each, both on 127.0.0.1 (Ray's own cluster_utils:
    `ray start` refuses a second node while the cluster is kept on loopback), for a test that
    takes a node away. The module's cluster is left for it and rejoined by the next test."""
    from ray.cluster_utils import Cluster

    ray.shutdown()
    nodes = Cluster(initialize_head=True, head_node_args={"num_cpus": 2, "num_gpus": 0, "redis_port": _free_port(),
                                                          "include_dashboard": False})
    doomed = nodes.add_node(num_cpus=2, num_gpus=0)
    nodes.wait_for_nodes()
    try:
        yield nodes, doomed
    finally:
        ray.shutdown()
        nodes.shutdown()


def test_a_node_that_leaves_mid_sweep_costs_only_its_group_and_a_rerun_resumes_it(two_nodes, tiny_root,
                                                                                  tmp_path):
    nodes, doomed = two_nodes
    doomed_id, running = doomed.node_id, tmp_path / "doomed-node-running"

    def hangs_on_the_doomed_node(points):  # travels by value (cloudpickle), with the two names above
        import ray as worker_ray

        if worker_ray.get_runtime_context().get_node_id() == doomed_id:
            running.write_text("")
            time.sleep(600)  # until the node is taken away under it
        from bench.run.ray_executor import time_group_on_node

        return time_group_on_node(points)

    def take_the_node_away_once_its_group_runs():
        deadline = time.monotonic() + 120
        while not running.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        nodes.remove_node(doomed, allow_graceful=False)  # its raylet and workers killed

    # three groups of 2 CPUs on two nodes of 2: one lands on the doomed node; the others run on
    # the head, the third waiting for the head's CPUs (the doomed node's never free)
    plan = _plan(tiny_root, grid={"layer_type": ["conv2d", "linear", "conv1d"], "variant": ["none"]})
    remover = threading.Thread(target=take_the_node_away_once_its_group_runs, daemon=True)
    remover.start()
    summary = run_sweep(plan, tmp_path / "out",
                        executor=_executor(nodes.address, group_task=hangs_on_the_doomed_node))
    remover.join(timeout=5)
    assert running.exists() and (summary.timed, summary.failed) == (2, 1)
    (error,) = [r for r in ResultStore(tmp_path / "out").rows() if isinstance(r, ErrorRow)]
    assert "the Ray task of this group failed" in error.error
    rerun = run_sweep(plan, tmp_path / "out", executor=_executor(nodes.address))
    assert (rerun.already_done, rerun.timed, rerun.failed) == (2, 1, 0)
    assert Counter(r.point_id for r in _stage_rows(tmp_path / "out")) == \
        {p.point_id: len(ROW_STAGES) for p in plan.points}  # every point stored once
