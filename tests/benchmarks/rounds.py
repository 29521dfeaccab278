"""Rounds that hold still. Interleaved rounds for the target benchmarks: every variant once per
round, in turn, the order reversed each round (A B, B A, ...), so a paired ratio compares steps
taken moments apart. And rounds long enough to time: a call of tens of microseconds timed alone
is at the mercy of one interrupt or cache miss (a save and a compare of the same commit once
differed by 112% on a 25-us framing), so a short call is repeated within each round."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

ROUND_S = 0.002  # a round's least duration: far above the clock's resolution and a tick's jitter


def iterations_for(act: Callable, *args, round_s: float = ROUND_S) -> int:
    """How many calls of `act(*args)` make a round of at least `round_s` (the first, untimed
    call warms it; the second is timed)."""
    act(*args)
    start = time.perf_counter()
    act(*args)
    once = time.perf_counter() - start
    return max(1, math.ceil(round_s / max(once, 1e-9)))


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
