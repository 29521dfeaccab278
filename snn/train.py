"""One labelled training step, and evaluation.

    data_wait → h2d → forward → loss → backward → optimiser → rewiring

Each stage runs inside `torch.profiler.record_function(<stage>)` (so traces show it) and inside
`timer.stage(<stage>)`, a pluggable timer: `snn` only defines the protocol; the harness supplies
one that synchronises the device before reading the clock. The notebook's `test_pass` rewired
before the loss and never called backward; this step does the stages in training order.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import ContextManager, Protocol

import snntorch.functional as SF
import torch
from torch import nn
from torch.profiler import record_function


class StageTimer(Protocol):
    def stage(self, name: str) -> ContextManager[None]: ...


class NullTimer:
    """Times nothing: the default when the caller only wants the step done."""

    def stage(self, name: str) -> ContextManager[None]:
        return contextlib.nullcontext()


@contextlib.contextmanager
def _stage(timer: StageTimer, name: str):
    with record_function(name), timer.stage(name):
        yield


def autocast(device: torch.device, dtype: torch.dtype | None) -> ContextManager[None]:
    """torch.autocast to `dtype` on `device`, or nothing when dtype is None."""
    return contextlib.nullcontext() if dtype is None else torch.autocast(device.type, dtype=dtype)


def no_rewiring() -> None:
    """The rewiring hook of a dense network."""


@dataclass
class Trainer:
    """What a training step needs besides the batch; `rewire` runs after the optimiser step."""

    net: nn.Module
    optimiser: torch.optim.Optimizer
    device: torch.device
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] = field(default_factory=SF.ce_rate_loss)
    rewire: Callable[[], None] = no_rewiring
    reset: Callable[[nn.Module], None] | None = None  # a stateful network's reset before each batch
    # The forward under torch.autocast to this dtype (an approximate variant, snn.approx); None: as built.
    autocast: torch.dtype | None = None


@dataclass(frozen=True)
class StepResult:
    loss: torch.Tensor  # 0-d, on the device: reading it is a host sync, so callers choose when
    batch_size: int


def train_step(trainer: Trainer, batches: Iterator, timer: StageTimer = NullTimer()) -> StepResult:
    """One step on the next batch of `batches` (an iterator kept across steps, not re-created)."""
    trainer.net.train()
    with _stage(timer, "data_wait"):
        frames, targets = next(batches)  # (B, T, P, H, W) float32, (B,) int64
    with _stage(timer, "h2d"):
        frames = frames.to(trainer.device, non_blocking=True)
        if not frames.is_floating_point():  # the frame cache's int16: 2 bytes a value across
            frames = frames.float()
        targets = targets.to(trainer.device, non_blocking=True)
    with _stage(timer, "forward"), autocast(trainer.device, trainer.autocast):
        if trainer.reset is not None:
            trainer.reset(trainer.net)
        spikes = trainer.net(frames)  # (T, B, C)
    with _stage(timer, "loss"):
        loss = trainer.loss_fn(spikes, targets)
    with _stage(timer, "backward"):
        trainer.optimiser.zero_grad(set_to_none=True)
        loss.backward()
    with _stage(timer, "optimiser"):
        trainer.optimiser.step()
    with _stage(timer, "rewiring"), torch.no_grad():
        trainer.rewire()
    return StepResult(loss=loss.detach(), batch_size=int(targets.shape[0]))


def most_spikes(spikes: torch.Tensor) -> torch.Tensor:
    """(T, B, C) output spikes → (B,) the class that fired most."""
    return spikes.sum(0).argmax(-1)


@torch.no_grad()
def evaluate(net: nn.Module, loader, device: torch.device,
             predict: Callable[[torch.Tensor], torch.Tensor] = most_spikes,
             reset: Callable[[nn.Module], None] | None = None,
             autocast_dtype: torch.dtype | None = None) -> float:
    """Accuracy over the loader: by default the class with the most output spikes wins; the
    forward under autocast to `autocast_dtype` when one is given, as the training step's."""
    net.eval()
    correct = total = 0
    for frames, targets in loader:
        if reset is not None:
            reset(net)
        with autocast(device, autocast_dtype):
            output = net(frames.to(device).float())  # (T, B, C) for the seed net; the frame cache's int16 too
        predicted = predict(output).cpu()
        correct += int((predicted == targets).sum())
        total += int(targets.numel())
    if total == 0:
        raise ValueError("evaluate() got an empty loader: there is nothing to score")
    return correct / total
