"""Interleaved rounds for the target benchmarks: every variant once per round, in turn, the order
reversed each round (A B, B A, ...), so a paired ratio compares steps taken moments apart."""

from __future__ import annotations

import time
from collections.abc import Callable


def interleaved_times(names: list[str], act: Callable[[str], None], rounds: int, warmup: int,
                      prepare: Callable[[str], None] | None = None) -> dict[str, list[float]]:
    """Seconds of `act(name)` per variant over `rounds` measured rounds, after `warmup` rounds
    whose times are dropped; `prepare(name)`, untimed, runs just before each act."""
    times: dict[str, list[float]] = {name: [] for name in names}
    for r in range(warmup + rounds):
        for name in (names if r % 2 == 0 else names[::-1]):
            if prepare is not None:
                prepare(name)
            start = time.perf_counter()
            act(name)
            times[name].append(time.perf_counter() - start)
    return {name: t[warmup:] for name, t in times.items()}
