"""The escape hatch: a model that must own its training step (e-prop, truncated BPTT, a local
learning rule) supplies it as `ModelSpec(step=...)` and marks its regions with stage names.

    def step(ctx: StepContext) -> torch.Tensor:          # returns the step's loss
        inputs, targets = ctx.batch
        with ctx.stage("h2d"):
            inputs, targets = inputs.to(ctx.device), targets.to(ctx.device)
        for chunk in inputs.split(10, dim=1):             # a stage may be marked many times
            with ctx.stage("forward"):
                ...
            with ctx.stage("backward"):
                ...
        with ctx.stage("optimiser"):
            ctx.optimiser.step()
        return loss

The harness still takes the batch (`data_wait`: its loader variants apply) and runs the rewiring
rule after the step (`rewiring`: every rule is timed alike). Each stage's marked time is summed
over the step; the time outside every marker is recorded as the stage `unmarked`, so the stages
still sum to the step.
"""

from __future__ import annotations

import contextlib
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch.profiler import record_function

from bench.measure.stages import UNMARKED_STAGE
from bench.measure.timing import device_sync
from bench.plugins.reference import PluginError
from snn.names import STAGES
from snn.train import StepResult, Trainer, train_step

HARNESS_STAGES = ("data_wait", "rewiring")  # the harness runs these around the plug-in's step
MARKABLE = tuple(s for s in STAGES if s not in HARNESS_STAGES)


class StepStages:
    """Marked time per stage within one step, the device synchronised at each marker's ends."""

    def __init__(self, device: torch.device):
        self._sync = device_sync(device)
        self.totals: dict[str, float] = defaultdict(float)

    @contextlib.contextmanager
    def stage(self, name: str):
        if name not in STAGES:
            raise PluginError(f"model step: unknown stage {name!r}; mark regions with {', '.join(MARKABLE)}")
        self._sync()
        start = time.perf_counter()
        try:
            with record_function(name):
                yield
        finally:
            self._sync()
            self.totals[name] += time.perf_counter() - start


@dataclass(frozen=True)
class StepContext:
    """What a plug-in's own step is given."""

    batch: tuple  # (inputs, targets) as the loader gave them, on the host
    net: torch.nn.Module
    optimiser: torch.optim.Optimizer
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    device: torch.device
    stage: Callable[[str], contextlib.AbstractContextManager]  # ctx.stage("forward"): a marked region


def own_step(spec, trainer: Trainer) -> Callable:
    """`step(batches, timer) -> StepResult`: the harness's step (snn.train.train_step), or the
    plug-in's own with its marked stages recorded into `timer` (the caller, who times the whole
    step, records the rest: `record_unmarked`)."""
    if spec.step is None:
        return lambda batches, timer: train_step(trainer, batches, timer)

    def step(batches, timer) -> StepResult:
        trainer.net.train()
        stages = StepStages(trainer.device)
        with stages.stage("data_wait"):
            batch = next(batches)
        loss = spec.step(StepContext(batch=batch, net=trainer.net, optimiser=trainer.optimiser,
                                     loss_fn=trainer.loss_fn, device=trainer.device, stage=stages.stage))
        if not isinstance(loss, torch.Tensor):
            raise PluginError(f"model step returned a {type(loss).__name__}, not the loss tensor")
        with stages.stage("rewiring"), torch.no_grad():
            trainer.rewire()
        samples = getattr(timer, "samples", None)  # None: an untimed step (warm-up)
        if samples is not None:  # the rest of the step, `unmarked`, is the caller's to record
            for name in STAGES:
                samples[name].append(stages.totals.get(name, 0.0))
        return StepResult(loss=loss.detach(), batch_size=int(batch[1].shape[0]))

    return step


def record_unmarked(timer, step_s: float) -> None:
    """The time of a step of the plug-in's own outside every stage it marked, as the stage
    `unmarked`: with it, the stages sum to the step the harness timed."""
    samples = timer.samples
    marked = sum(samples[name][-1] for name in STAGES)
    samples[UNMARKED_STAGE].append(max(0.0, step_s - marked))
