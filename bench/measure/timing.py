"""Stage timing: `snn.train.StageTimer`s that charge each stage only its own device work.

Asynchronous devices (CUDA, MPS) return from a kernel launch long before the kernel ends, so a
clock read without a synchronise charges the work to whichever later stage happens to wait.
Both timers therefore wait for the device before a stage starts; on CUDA the stage is then
measured by CUDA events on the stream (read once per step, after one final synchronise) rather
than by a host clock around a second synchronise.
"""

from __future__ import annotations

import contextlib
import time
from collections import defaultdict
from collections.abc import Callable

import torch

from bench.measure.stages import FLOOR_STAGE, OVERHEAD_STAGE  # noqa: F401  (re-exported for callers)


def elementwise_floor(weights) -> None:
    """The least work any rewiring rule does: read and write every rewired weight once."""
    with torch.no_grad():
        for w in weights:
            w.mul_(1.0)


def device_sync(device: torch.device) -> Callable[[], None]:
    """The call that waits for all queued work on the device (a no-op on the CPU)."""
    if device.type == "cuda":
        return lambda: torch.cuda.synchronize(device)
    if device.type == "mps":
        return torch.mps.synchronize
    return lambda: None


class SyncedStageTimer:
    """One host-clock duration per stage per step, in seconds, the device synced at both ends."""

    def __init__(self, device: torch.device, clock: Callable[[], float] = time.perf_counter):
        self._sync = device_sync(device)
        self._clock = clock
        self.samples: dict[str, list[float]] = defaultdict(list)

    @contextlib.contextmanager
    def stage(self, name: str):
        self._sync()
        start = self._clock()
        try:
            yield
        finally:
            self._sync()
            self.samples[name].append(self._clock() - start)

    def finish_step(self) -> None:
        """Every duration of the step is already in `samples`."""


class CudaEventStageTimer:
    """Stage durations from CUDA events: GPU-side timestamps, not host clocks around syncs.

    `event_factory` makes timing-enabled events (torch.cuda.Event by default); durations of a
    step appear in `samples` after `finish_step()`, which synchronises once.
    """

    def __init__(self, device: torch.device, event_factory: Callable[[], object] | None = None):
        self._sync = device_sync(device)
        self._new_event = event_factory or (lambda: torch.cuda.Event(enable_timing=True))
        self._pending: list[tuple[str, object, object]] = []
        self.samples: dict[str, list[float]] = defaultdict(list)

    @contextlib.contextmanager
    def stage(self, name: str):
        self._sync()  # work queued by earlier stages is not this stage's
        start, end = self._new_event(), self._new_event()
        start.record()
        try:
            yield
        finally:
            end.record()
            self._pending.append((name, start, end))

    def finish_step(self) -> None:
        self._sync()
        for name, start, end in self._pending:
            self.samples[name].append(start.elapsed_time(end) / 1e3)  # ms → s
        self._pending.clear()


def stage_timer(device: torch.device):
    """The timer for a device: CUDA events on CUDA, synced host clocks elsewhere."""
    return CudaEventStageTimer(device) if device.type == "cuda" else SyncedStageTimer(device)
