"""Where groups of points run. The sweep runner asks an executor four things: which devices it
cannot reach, to make the data ready, to time group runs (yielding each one's outcomes as it
finishes) and to profile a point. `FreshProcessExecutor` (what `snn-bench sweep` uses) times
each group run in a fresh process here, one after another; `InProcessExecutor`
times everything in this process (what a library call and the tests use); the Ray executor
(bench.run.ray_executor) runs each group run as a task on a cluster. The runner and the store are
the same for all, so a sweep started with one resumes with another.
"""

from __future__ import annotations

import dataclasses
import multiprocessing
import os
import signal
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TextIO

from bench.config.devices import device_absence
from bench.measure.group import run_group
from bench.measure.point import PointFailure, PointResult, PointSkipped
from bench.profiling.run import profile_point
from bench.run.data_prep import prepare_data

if TYPE_CHECKING:
    from bench.config.plan import PlannedPoint
    from bench.profiling.options import ProfileOptions
    from bench.results.rows import ProfileSummary

Outcome = PointResult | PointFailure | PointSkipped


class Executor(Protocol):
    def device_absence(self, device: str) -> str | None:
        """Why points on `device` cannot run where this executor runs them, or None."""
        ...

    def prepare(self, points: list[PlannedPoint], stream: TextIO) -> None:
        """Make the points' data ready before timing (or leave it to each group, where it runs)."""
        ...

    def run(self, groups: list[list[PlannedPoint]]) -> Iterator[tuple[int, list[Outcome]]]:
        """Yield (index into `groups`, one outcome per point) as each group completes."""
        ...

    def profile(self, point: PlannedPoint, target: Path, options: ProfileOptions) -> ProfileSummary:
        """Profile one point into the folder `target` on this machine."""
        ...


def timed_group(points: list[PlannedPoint], **environment) -> list[Outcome]:
    """run_group on the points' configs, built where it runs; each outcome's environment gains
    when the group started and finished (its wall time beside the executor's) and `environment`.
    The workload is counted in a point's first run only: it does not change between runs."""
    started = time.time()
    configs = [p.config() if p.run_index == 0 else dataclasses.replace(p.config(), workload_batches=0)
               for p in points]
    outcomes = run_group(configs)
    stamps = {"group_started_unix": started, "group_finished_unix": time.time(), **environment}
    for outcome in outcomes:
        outcome.environment.update(stamps)
    return outcomes


class InProcessExecutor:
    """Groups one after another in this process: nothing else competes for the cores."""

    def device_absence(self, device: str) -> str | None:
        return device_absence(device)

    def prepare(self, points: list[PlannedPoint], stream: TextIO) -> None:
        prepare_data((p.settings for p in points), stream)

    def run(self, groups: list[list[PlannedPoint]]) -> Iterator[tuple[int, list[Outcome]]]:
        for index, points in enumerate(groups):
            yield index, timed_group(points)

    def profile(self, point: PlannedPoint, target: Path, options: ProfileOptions) -> ProfileSummary:
        return profile_point(point.settings, target, options)


class RunProcessDied(RuntimeError):
    """The fresh process timing one group run ended before it sent its outcomes."""


# What the fork server imports once, so that each group run's process starts in milliseconds
# with torch loaded but nothing run: no model built, no loader made, no kernel called.
PRELOAD = ["bench.run.executors"]


@dataclasses.dataclass(frozen=True)
class ParentState:
    """What a forked child must take from the parent as it is now, not as it was when the fork
    server started: the environment (SNN_BENCH_CACHE, SNN_BENCH_DATA), the working directory
    (relative data roots) and sys.path (module plug-ins)."""

    environ: dict
    cwd: str
    path: list

    @classmethod
    def now(cls) -> ParentState:
        return cls(environ=dict(os.environ), cwd=os.getcwd(), path=list(sys.path))

    def apply(self) -> None:
        os.environ.clear()
        os.environ.update(self.environ)
        os.chdir(self.cwd)
        sys.path[:] = self.path


def _time_group_in_child(points: list[PlannedPoint], parent: ParentState, connection) -> None:
    """A fresh process's whole life: time one group run and send its outcomes back (failures
    without their exception object: it may not pickle). Ctrl-C reaches the whole process group:
    this process ignores it and the parent, which says what is kept, ends it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    parent.apply()
    try:
        outcomes = timed_group(points)
        for outcome in outcomes:
            if isinstance(outcome, PointFailure):
                outcome.exception = None
        connection.send(outcomes)
    except BrokenPipeError:  # the parent stopped (Ctrl-C) and closed its end: no one to tell
        pass
    finally:
        connection.close()


def group_start_method() -> str:
    """How a group run's process starts: by spawn where spawn is this process's start method
    (the default on macOS and Windows, or set by multiprocessing.set_start_method, as `make test`
    sets it to run the suite as those platforms do) or where there is no forkserver (Windows);
    else from a forkserver that has imported torch and the harness once (a second or two less a
    run). Either way the process starts from a clean interpreter state, never a fork of this one."""
    if multiprocessing.get_start_method() == "spawn" or "forkserver" not in multiprocessing.get_all_start_methods():
        return "spawn"
    return "forkserver"


class FreshProcessExecutor(InProcessExecutor):
    """Each group run in a fresh process of its own, forked from a server that has imported
    torch and the harness but run nothing, one after another, never two at once.

    Why a process per group run, not one per run of the sweep: on this project's 2-core machine
    the first group a process times ran ~25-35% faster in forward, backward and the optimiser
    than every later group in that process (the same point, weights and batches; no leaked
    thread, object, allocator threshold or denormal explained it; docs/design.md). Timed in one
    process, whichever group came first would get that bonus. A fresh process per group run
    puts every group where a user's own training job starts: at a process's first model.
    A process that dies (killed, out of memory) fails that group run with its exit code; the
    next group run starts afresh."""

    def __init__(self) -> None:
        self._context = multiprocessing.get_context(group_start_method())
        if self._context.get_start_method() == "forkserver":
            self._context.set_forkserver_preload(PRELOAD)

    def run(self, groups: list[list[PlannedPoint]]) -> Iterator[tuple[int, list[Outcome]]]:
        for index, points in enumerate(groups):
            yield index, self._one_group(points)

    def _one_group(self, points: list[PlannedPoint]) -> list[Outcome]:
        receiver, sender = self._context.Pipe(duplex=False)
        # not a daemon: a daemonic process may not start the DataLoader's worker processes
        process = self._context.Process(target=_time_group_in_child, args=(points, ParentState.now(), sender),
                                        name=f"snn-bench group run {points[0].run_index}")
        outcomes = None
        # start() sits inside the try: a Ctrl-C that lands between start() and recv() must
        # also end the child, or it times its whole group for a parent that has stopped
        try:
            process.start()
            sender.close()  # the child holds the only sending end: its exit ends recv() with EOFError
            outcomes = receiver.recv()
        except EOFError:  # it died before sending
            pass
        except BaseException:  # Ctrl-C, or the consumer stopped: no orphan keeps timing
            if process.pid is not None:
                process.terminate()
            raise
        finally:
            if process.pid is not None:
                process.join()
            sender.close()
            receiver.close()
        if outcomes is not None:
            return outcomes
        error = RunProcessDied(f"the process timing run {points[0].run_index} of this group exited with code "
                               f"{process.exitcode} before it finished (killed, or out of memory?); run the "
                               "same command again to time it")
        return [PointFailure(config=p.config(), error=f"RunProcessDied: {error}", traceback="", environment={})
                for p in points]
