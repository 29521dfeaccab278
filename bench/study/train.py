"""One study run: a point's network trained for its iterations (or wall-clock budget), with the
loss of every iteration, the test accuracy every `eval_every` iterations on the held-out users,
and DeepR's active connections and deaths per update.

The run is built exactly as a timing point is (bench.measure.point: same seeds, same weights, same data
order for the same seed), so a study and a sweep describe the same network. Training time
counts the training steps only; evaluations and the untimed bookkeeping (reading the rewiring
masks) are outside it, so time-to-accuracy compares training speed. Each evaluation also records
the evaluation time so far, so time-to-accuracy can be given with evaluation as MLPerf counts it.

Before the first timed iteration, a throwaway copy of the run (same configuration, its own
batches) takes one full step: the backward and DeepR kernels load or compile there, not inside
the run's first iteration, where they would be charged to whichever configuration ran first.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

from bench.config.point_config import PointConfig
from bench.measure.data import data_state, open_test_loader
from bench.measure.environment import capture_environment
from bench.measure.point import PointSession, apply_runtime, open_batches
from bench.measure.traffic import TrafficRecorder
from bench.study.analysis import fell_silent
from bench.study.spec import StudyOptions
from snn.train import NullTimer, evaluate


@dataclass
class RunRecord:
    """What one run recorded (the fields of bench.results.rows.StudyRunRow besides the point's head)."""

    iterations: int = 0
    stopped_by: str = "iterations"
    losses: list[float] = field(default_factory=list)  # one per iteration
    evals: list[list[float]] = field(default_factory=list)  # (iteration, train_s, accuracy)
    active_connections: list[int] = field(default_factory=list)  # at each evaluation
    total_connections: int = 0
    deaths_per_update: list[int] = field(default_factory=list)  # over all rewired layers
    train_s: float = 0.0
    eval_s: float = 0.0
    warmup_s: float = 0.0  # the throwaway step before timing (kernels loaded, compiled)
    env: dict = field(default_factory=dict)


def warm_up(cfg: PointConfig, device, data, clock=time.perf_counter) -> float:
    """One step of a throwaway copy of the run on batches of its own, so that one-off costs
    (kernel loading and compilation, first allocations) fall outside every timed iteration;
    the run's own weights, masks and data order are untouched. Returns its seconds."""
    start = clock()
    batches, _ = open_batches(cfg, data=data)
    try:
        PointSession(cfg, device, data).step(batches, NullTimer()).loss.item()
    finally:
        batches.close()
    return clock() - start


def gave_up(evaluation: list[float], options: StudyOptions) -> bool:
    """Whether a run stops as untrained at this evaluation: `give_up_after` iterations have
    passed and its test accuracy is still below `trained_accuracy` (the rule that says a run
    trained). Off when give_up_after is 0."""
    iteration, accuracy = evaluation[0], evaluation[2]
    return bool(options.give_up_after) and iteration >= options.give_up_after \
        and accuracy < options.trained_accuracy


def train_run(cfg: PointConfig, options: StudyOptions, clock=time.perf_counter) -> RunRecord:
    device = apply_runtime(cfg)
    batches, data = open_batches(cfg)
    session = PointSession(cfg, device, data)
    test = open_test_loader(data, cfg)
    record = RunRecord(total_connections=session.connections()[1])
    record.env = capture_environment(device, cfg.flush_denormal, data_state(data), cfg.plugins())
    record.warmup_s = round(warm_up(cfg, device, data, clock), 6)
    traffic = TrafficRecorder(session.rewiring) if session.rewiring is not None else None

    def evaluate_now(iteration: int) -> None:
        start = clock()
        accuracy = evaluate(session.trainer.net, test, device, session.spec.predict_fn(), session.spec.reset,
                            autocast_dtype=session.trainer.autocast)
        record.eval_s += clock() - start
        record.evals.append([iteration, round(record.train_s, 6), accuracy, round(record.eval_s, 6)])
        record.active_connections.append(session.connections()[0])

    try:
        evaluate_now(0)
        for iteration in range(1, options.iterations + 1):
            start = clock()
            loss = float(session.step(batches, NullTimer()).loss)  # a host sync: the curve is the point
            record.train_s += clock() - start
            record.losses.append(loss)
            record.iterations = iteration
            if traffic is not None:
                traffic.record()
                record.deaths_per_update.append(sum(layer[-1] for layer in traffic.traffic.died if layer))
            if not math.isfinite(loss):
                record.stopped_by = "diverged"
            elif options.stop_silent_after and fell_silent(record.losses, options.stop_silent_after):
                record.stopped_by = "silent"
            elif options.budget_s is not None and record.train_s >= options.budget_s:
                record.stopped_by = "budget"
            if record.stopped_by != "iterations" or iteration % options.eval_every == 0 \
                    or iteration == options.iterations:
                evaluate_now(iteration)
                if record.stopped_by == "iterations" and gave_up(record.evals[-1], options):
                    record.stopped_by = "untrained"
            if record.stopped_by != "iterations":
                break
    finally:
        batches.close()
    record.train_s = round(record.train_s, 6)
    return record

