"""Stage timing: a `snn.train.StageTimer` that reads a host clock only after the device is idle.

Asynchronous devices (CUDA, MPS) return from a kernel launch long before the kernel ends, so a
clock read without a synchronise charges the work to whichever later stage happens to wait.
"""

from __future__ import annotations

import contextlib
import time
from collections import defaultdict
from collections.abc import Callable

import torch


def device_sync(device: torch.device) -> Callable[[], None]:
    """The call that waits for all queued work on the device (a no-op on the CPU)."""
    if device.type == "cuda":
        return lambda: torch.cuda.synchronize(device)
    if device.type == "mps":
        return torch.mps.synchronize
    return lambda: None


class SyncedStageTimer:
    """Collects one duration per stage per step, in seconds."""

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
