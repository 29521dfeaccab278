"""Time several points side by side: one DataLoader, steps taken in turn (A B, B A, A B, ...).

Points timed one after another in blocks see different minutes of a shared machine; a neighbour's
job starting halfway makes B look slower than A. Taking their steps in turn puts A's i-th step
beside B's, so the paired ratios bootstrap to an honest CI. The order alternates each round so
neither point always runs first.

One DataLoader feeds every point of a group: each session's `data_wait` is then what a training
run would see (its workers had one step's compute to prefetch), and no idle session's workers
refill a queue while another session is being timed. It reads each batch once per point, in a
row (snn.data.loader.RepeatedBatches): in every round each point loads its own copy of the same
samples, so paired points train on identical batches and each still pays its own loading. A
point that fails keeps its turn: its copy is read and dropped, so the others stay aligned.
"""

from __future__ import annotations

import contextlib
import time
import traceback as tb

import torch

from bench.config.point_config import PointConfig, loader_key
from bench.errors import UserError
from bench.measure.data import data_state, open_dataset, open_test_loader
from bench.measure.environment import capture_environment, load_average
from bench.measure.interference import Usage, calibrate, disturbance, evidence
from bench.measure.point import (
    PointFailure,
    PointResult,
    PointSession,
    PointSkipped,
    apply_runtime,
    open_batches,
)
from bench.measure.timing import stage_timer
from bench.measure.workload import first_batches, measure_workload
from bench.plugins.reference import NotApplicable
from snn.lif import warm_up_kernels
from snn.names import FUSED_NEURONS
from snn.threads import set_threads, threads_in_force, wanted

Outcome = PointResult | PointFailure | PointSkipped


class ThreadsChanged(UserError):
    """A point's step left other thread counts in force than the point set: its times are not
    those of the threads its rows would name."""


def threads_problem(goal: dict[str, int], when: str) -> str | None:
    """Why the threads in force now are not `goal` (snn.threads.wanted), naming both; None when
    they are."""
    now = threads_in_force()
    if now == goal:
        return None
    return (f"its {when} step left torch on {now['threads']} and numba on {now['numba_threads']} thread(s) "
            f"where threads = {goal['threads']} was set: its model, data set or rule (or a library they "
            "call: torch.set_num_threads, numba, OpenMP) changes them; remove that call, or set threads "
            f"= {now['threads']} to time what it asks for")


def _failure(cfg: PointConfig, error: BaseException, env: dict) -> PointFailure:
    if isinstance(error, torch.OutOfMemoryError) and torch.cuda.is_available():
        torch.cuda.empty_cache()  # let the next point start from free memory
    return PointFailure(config=cfg, error=f"{type(error).__name__}: {error}",
                        traceback="".join(tb.format_exception(error)), environment=env,
                        exception=error)


def run_group(configs: list[PointConfig], clock=time.perf_counter) -> list[Outcome]:
    """Warm up and time every config, interleaved; one outcome per config, in order.

    An exception in one point (out of memory, a corrupt event file in its batch) turns that
    point into a PointFailure and the others go on; a variant that does not apply to the model
    or data (NotApplicable) into a PointSkipped. KeyboardInterrupt is not caught.
    """
    if not configs:
        return []
    first = configs[0]
    if any(loader_key(c) != loader_key(first) for c in configs):
        raise ValueError("points timed side by side must differ only in their rewiring and "
                         "forward pass (bench.config.point_config.loader_key)")
    env: dict = {"load_avg_1m_before": load_average()}
    outcomes: dict[int, Outcome] = {}
    try:
        device = apply_runtime(first)
        data = open_dataset(first)
        env.update(capture_environment(device, first.flush_denormal, data_state(data),
                                       [p for c in configs for p in c.plugins()]))
        env["skipped_samples"] = len(data.skipped)  # bad_samples = "skip"
    except NotApplicable as why:  # the data cannot take the group's framing or cache
        return [PointSkipped(c, str(why), env) for c in configs]
    except Exception as error:  # the whole group shares this set-up, so it shares the failure
        return [_failure(c, error, env) for c in configs]

    sessions: dict[int, PointSession] = {}
    for i, cfg in enumerate(configs):
        try:
            sessions[i] = PointSession(cfg, device, data)
        except NotApplicable as why:
            outcomes[i] = PointSkipped(cfg, str(why), env)
        except Exception as error:
            outcomes[i] = _failure(cfg, error, env)
    if not sessions:
        return [outcomes[i] for i in range(len(configs))]
    # The machine's speed now, on the point's threads, before the loader's workers start (their
    # start-up is the group's own load, not another process's): bench.measure.interference.
    calibration_before = calibrate()
    try:
        # one copy of each batch per session that takes turns: the same samples at each one's i-th step
        batches, _ = open_batches(first, data=data, copies=len(sessions))
        env["frame_cache_build_s"] = batches.cache_build_s  # cache:frames; never in a step's time
        # forward:fused: its kernels compile (or load from numba's disk cache) here, never in a
        # warm-up or measured step.
        env["forward_compile_s"] = (warm_up_kernels() if any(c.net.forward in FUSED_NEURONS for c in configs)
                                    else None)
    except NotApplicable as why:  # the data cannot take the group's framing or cache
        return [PointSkipped(c, str(why), env) for c in configs]
    except Exception as error:
        return [outcomes.get(i) or _failure(c, error, env) for i, c in enumerate(configs)]
    turns = list(sessions)  # every session's turn, kept by one that fails: its copy is dropped

    goal = wanted(first.resolved_threads)

    def step_checked(act, when: str):
        """`act`, then the threads it left in force: a step that changed them fails its point,
        and the others go on with the threads set again."""
        def checked(i, session):
            act(i, session)
            if (problem := threads_problem(goal, when)) is not None:
                set_threads(first.resolved_threads)
                raise ThreadsChanged(problem)
        return checked

    def take_turns(rounds: int, act) -> None:
        for r in range(rounds):
            for i in turns if r % 2 == 0 else reversed(turns):
                if i not in sessions:  # failed earlier: read its copy so the others stay aligned
                    with contextlib.suppress(Exception):  # a copy that fails to load fails the next reader too
                        next(batches)
                    continue
                try:
                    act(i, sessions[i])
                except Exception as error:
                    outcomes[i] = _failure(configs[i], error, env)
                    del sessions[i]

    try:
        take_turns(first.warmup_steps, step_checked(lambda i, s: s.warm_up(batches), "warm-up"))
        restarts_before = batches.epoch_restarts
        timers = {i: stage_timer(device) for i in sessions}
        usage_before = Usage.now()
        take_turns(first.measured_steps, step_checked(lambda i, s: s.measure(batches, timers[i], clock), "timed"))
        usage_after = Usage.now()
    finally:  # a Ctrl-C too: stop the workers now rather than at interpreter exit
        batches.close()
    # Whether the machine disturbed the timed steps (bench.measure.interference): the sweep
    # runs a disturbed group run again, and the report keeps one that stays so out of its answers.
    env["interference"] = evidence(usage_before, usage_after, calibration_before, calibrate(),
                                   first.resolved_threads)
    env["disturbed"] = disturbance(env["interference"])
    # The threads every remaining point's steps ran with, read after each of them: what its
    # rows record, never the setting copied (a point whose step changed them has failed above).
    env.update(threads_in_force())
    env["load_avg_1m_after"] = load_average()  # before the workload pass: it is not timing
    for i in list(sessions):  # a rule that broke its invariants while timed: not this connectivity
        try:
            sessions[i].check_rule()
        except Exception as error:
            outcomes[i] = _failure(configs[i], error, env)
            del sessions[i]
    workloads = _workloads(sessions, data, device) if first.workload_batches else {}
    for i, session in sessions.items():
        active, total = session.connections()
        outcomes[i] = PointResult(
            config=configs[i],
            stage_samples=dict(timers[i].samples),
            step_samples=session.step_samples,
            losses=session.losses,
            epoch_restarts=batches.epoch_restarts - restarts_before,
            active_connections=active,
            total_connections=total,
            environment=env if session.resolved_variant is None else
            {**env, "pipeline_resolved": session.resolved_variant},
            traffic=session.traffic.traffic if session.traffic is not None else None,
            workload=workloads.get(i),
        )
    return [outcomes[i] for i in range(len(configs))]


def _workloads(sessions: dict[int, PointSession], data, device) -> dict[int, dict]:
    """Each trained network's workload metrics on the same test batches (bench.measure.workload); a
    point whose counting fails keeps its timing and says why."""
    batches = None
    workloads = {}
    for i, session in sessions.items():
        cfg = session.config
        try:
            if batches is None:  # once per group: its points share the framing and the data
                batches = first_batches(open_test_loader(data, cfg), cfg.workload_batches)
            workloads[i] = measure_workload(session.spec, batches, device)
        except Exception as error:
            workloads[i] = {"error": f"{type(error).__name__}: {error}"}
    return workloads


def run_point(cfg: PointConfig) -> PointResult:
    """One point on its own; its failure is raised, not returned (a skip as NotApplicable)."""
    (outcome,) = run_group([cfg])
    if isinstance(outcome, PointFailure):
        raise outcome.exception
    if isinstance(outcome, PointSkipped):
        raise NotApplicable(outcome.reason)
    return outcome
