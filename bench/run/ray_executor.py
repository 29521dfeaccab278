"""The sweep on a Ray cluster: each timing group one Ray task, alone on the CPUs (and GPU) it holds.

A group is the unit because its points interleave on one DataLoader. A task reserves its
`threads + num_workers` CPUs, and one whole GPU for CUDA points, so the groups Ray places on a
node never hold more CPUs than the node has, nor share a GPU; inside the task torch runs exactly
`threads` threads (set and recorded as `env.threads`, as in-process). A group wider than the
largest node is given that whole node, so it still runs alone, oversubscribed as it would be
in-process (the sweep warns about it).

The driver stays the store's only writer: outcomes come back as each task finishes and the
runner appends them, so a sweep resumes across executors (in-process then Ray, or the reverse)
and Ctrl-C cancels the tasks still outstanding. A task whose worker dies (killed, out of memory,
its node gone) becomes an error row per point with Ray's reason. Data is made ready on the node
the task runs on: the synthetic set is written there if asked for, and a missing data root is an
error row naming the node and the path. Profiles run as tasks too; their files come back to the
driver's profiles/ folder.
"""

from __future__ import annotations

import os
import shutil
import socket
import sys
import tempfile
import traceback as tb
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from bench.config.devices import parse_device
from bench.config.plan import PlannedPoint
from bench.errors import SettingError
from bench.measure.point import PointFailure
from bench.profiling.options import ProfileOptions
from bench.profiling.run import install_profile, profile_point
from bench.results.paths import PROFILE_SUMMARY
from bench.results.rows import ProfileSummary
from bench.run.data_prep import prepare_data
from bench.run.executors import Outcome, timed_group

# Ray reads these when first imported. Usage reporting stays off unless the user turned it on.
RAY_ENV_DEFAULTS = {"RAY_USAGE_STATS_ENABLED": "0"}
# For a local instance or a cluster on loopback only: keeps the driver's node address 127.0.0.1
# (Ray otherwise "translates" 127.0.0.1 to the machine's outward address, where no local GCS
# listens, and waits). A driver joining a real multi-node cluster must keep its outward address.
LOOPBACK_ENV_DEFAULTS = {"RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


class RayTaskFailed(RuntimeError):
    """A profiling task failed on a Ray node (its message names the node and the cause)."""


def import_ray(address: str | None):
    """Ray, imported after its environment defaults are set; a SettingError when not installed."""
    defaults = dict(RAY_ENV_DEFAULTS)
    if address is None or address.rpartition(":")[0].strip("[]") in LOOPBACK_HOSTS:
        defaults.update(LOOPBACK_ENV_DEFAULTS)
    for key, value in defaults.items():
        os.environ.setdefault(key, value)
    try:
        import ray
    except ImportError as error:
        raise SettingError("--executor ray needs Ray: pip install 'snn-bench[ray]' (`make test-ray` "
                           "installs it into .venv)") from error
    return ray


@dataclass(frozen=True)
class Reservation:
    """What one task holds on its node, for Ray to place it."""

    cpus: int
    gpus: int


def reservation(settings: dict, largest_node_cpus: float) -> Reservation:
    """A group's task holds its torch threads plus DataLoader workers in CPUs (capped at the
    largest node, which it then holds whole) and one GPU for CUDA points."""
    wanted = settings.threads + settings.num_workers
    gpus = 1 if parse_device(settings.device).type == "cuda" else 0
    return Reservation(cpus=max(1, min(wanted, int(largest_node_cpus))), gpus=gpus)


def ray_device_absence(device: str, cluster_gpus: float) -> str | None:
    """Why points on `device` cannot run as tasks on a cluster with `cluster_gpus` GPUs, or None."""
    parsed = parse_device(device)
    if parsed.type == "mps":
        return f"device {device!r}: MPS is not a Ray resource; run mps points with --executor in-process"
    if parsed.type == "cuda" and parsed.index not in (None, 0):
        return (f"device {device!r} names one machine's GPU; a Ray task holds one whole GPU, which "
                'it sees as cuda:0: use device = "cuda"')
    if parsed.type == "cuda" and cluster_gpus < 1:
        return (f"device {device!r} was asked for but the Ray cluster has no GPU "
                "(ray.cluster_resources() lists none); start its nodes with GPUs, or use --device cpu")
    return None


def _node() -> dict:
    """The node a task runs on, as environment fields ("host" as bench.measure.environment records it)."""
    import ray

    return {"ray_node": ray.get_runtime_context().get_node_id(), "host": socket.gethostname()}


def _where(node: dict) -> str:
    return f"on Ray node {node['host']} ({node['ray_node'][:12]})"


def time_group_on_node(points: list[PlannedPoint]) -> list[Outcome]:
    """What a group's task runs: the data made ready on this node, then the group as in-process.
    Each outcome's environment gains the node; each failure's error names it."""
    node = _node()
    try:
        prepare_data((p.settings for p in points), sys.stderr)
        outcomes = timed_group(points, **node)
    except Exception as error:  # the data (or a config) is not usable on this node: all its points
        outcomes = [PointFailure(config=None, error=f"{type(error).__name__}: {error}",
                                 traceback="".join(tb.format_exception(error)), environment=dict(node))
                    for _ in points]
    for outcome in outcomes:
        if isinstance(outcome, PointFailure):
            outcome.error += f" ({_where(node)})"
            outcome.exception = None  # the message and traceback travel back; the object may not pickle
    return outcomes


def profile_on_node(point: PlannedPoint, options: ProfileOptions) -> tuple[ProfileSummary, dict[str, bytes]]:
    """What a profiling task runs: the profile in a scratch folder on this node; its summary and
    files (name → bytes) go back to the driver."""
    node = _node()
    scratch = Path(tempfile.mkdtemp(prefix="snn-bench-profile-"))
    try:
        prepare_data([point.settings], sys.stderr)
        summary = profile_point(point.settings, scratch / "profile", options)
        summary.environment.update(node)
        files = {p.name: p.read_bytes() for p in (scratch / "profile").iterdir() if p.is_file()}
        files[PROFILE_SUMMARY] = summary.to_json().encode()  # with the node it ran on
        return summary, files
    except Exception as error:
        raise RayTaskFailed(f"{type(error).__name__}: {error} ({_where(node)})") from error
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


class RayExecutor:
    """Groups and profiles as Ray tasks on the cluster at `address` (else $RAY_ADDRESS, else a
    local instance started for this sweep, on loopback)."""

    def __init__(self, address: str | None = None, group_task=time_group_on_node):
        self.address = address or os.environ.get("RAY_ADDRESS") or None
        self.group_task = group_task  # what each group's task runs: tests inject faults through it
        self._ray = import_ray(self.address)  # now: a missing extra fails before the sweep starts

    @property
    def ray(self):
        """Ray, connected on first use (a sweep with nothing left to run never connects)."""
        if not self._ray.is_initialized():
            self._ray.init(address=self.address, include_dashboard=False, log_to_driver=False,
                           configure_logging=False)
        return self._ray

    def _largest_node_cpus(self) -> float:
        return max((n["Resources"].get("CPU", 0) for n in self.ray.nodes() if n["Alive"]), default=1)

    def device_absence(self, device: str) -> str | None:
        if parse_device(device).type == "cpu":
            return None  # without connecting: a sweep with nothing to run need not reach the cluster
        return ray_device_absence(device, self.ray.cluster_resources().get("GPU", 0))

    def prepare(self, points: list[PlannedPoint], stream) -> None:
        roots = ", ".join(dict.fromkeys(str(p.settings.data_root) for p in points))
        print(f"data ({roots}) is made ready on each Ray node a group runs on", file=stream)

    def _options(self, settings: dict) -> dict:
        held = reservation(settings, self._largest_node_cpus())
        return {"num_cpus": held.cpus, "num_gpus": held.gpus, "max_retries": 0}

    def run(self, groups: list[list[PlannedPoint]]) -> Iterator[tuple[int, list[Outcome]]]:
        ray = self.ray
        # max_calls=1: a worker process times one group run and exits, so a group's runs are
        # independent processes here too (bench.run.executors.FreshProcessExecutor)
        task = ray.remote(max_calls=1)(self.group_task)
        pending = {task.options(**self._options(points[0].settings)).remote(points): index
                   for index, points in enumerate(groups)}
        try:
            while pending:
                (ref,), _ = ray.wait(list(pending), num_returns=1)
                index = pending.pop(ref)
                yield index, self._outcomes(ref, groups[index])
        finally:  # Ctrl-C, or the runner stopped early: what is still outstanding is cancelled
            for ref in pending:
                ray.cancel(ref, force=True)

    def _outcomes(self, ref, points: list[PlannedPoint]) -> list[Outcome]:
        try:
            return self.ray.get(ref)
        except self.ray.exceptions.RayError as error:  # the worker died, the node left, cancelled
            reason = f"{type(error).__name__}: {str(error).splitlines()[0]}"
            trace = "".join(tb.format_exception(error))
            return [PointFailure(config=None, error=f"the Ray task of this group failed: {reason}",
                                 traceback=trace, environment={}) for _ in points]

    def profile(self, point: PlannedPoint, target: Path, options: ProfileOptions) -> ProfileSummary:
        task = self.ray.remote(profile_on_node).options(**self._options(point.settings))
        try:
            summary, files = self.ray.get(task.remote(point, options))
        except self.ray.exceptions.RayError as error:  # it raised (RayTaskFailed), or its worker died
            cause = getattr(error, "cause", None)
            reason = str(cause) if isinstance(cause, RayTaskFailed) else \
                f"the Ray task failed: {type(error).__name__}: {str(error).splitlines()[0]}"
            raise RayTaskFailed(reason) from None
        install_profile(files, target)
        return summary
