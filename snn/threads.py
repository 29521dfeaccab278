"""The threads a step runs on: torch's intra-op pool and numba's, set so that they stay set.

numba starts its threading layer on its first parallel kernel or its first thread query, and its
OpenMP layer then sets OpenMP's thread count to every core. torch's CPU ops read that same
OpenMP count, so a `torch.set_num_threads(1)` made before numba started is undone by it (1 → 2
on 2 cores), silently. `set_threads` starts numba's layer first and sets both after it;
`threads_in_force` reads both as they are at that moment, which is what a result records.
"""

from __future__ import annotations

import torch

from snn.errors import UserError


class ThreadsNotHonoured(UserError):
    """The threads in force are not those that were set, and setting them again did not hold."""


def _numba():
    import numba  # the compiled kernels' threads (snn.lif_kernel, snn.deepr.kernels)

    numba.get_num_threads()  # starts numba's threading layer, which resets OpenMP's count
    return numba


def threads_in_force() -> dict[str, int]:
    """torch's intra-op threads and numba's threads for kernels launched from this thread, now."""
    numba = _numba()
    return {"threads": torch.get_num_threads(), "numba_threads": numba.get_num_threads()}


def wanted(threads: int) -> dict[str, int]:
    """What `threads_in_force` reads after `set_threads(threads)`: numba cannot go past the
    pool it started with (NUMBA_NUM_THREADS)."""
    numba = _numba()
    return {"threads": threads, "numba_threads": max(1, min(threads, numba.config.NUMBA_NUM_THREADS))}


def set_threads(threads: int) -> dict[str, int]:
    """Set torch's and numba's threads to `threads` (numba's capped by its pool) and check that
    they hold; returns what is in force. Raises ThreadsNotHonoured, naming both counts, when
    they do not hold after a second try."""
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    numba = _numba()
    goal = wanted(threads)
    for _ in range(2):
        torch.set_num_threads(threads)
        numba.set_num_threads(goal["numba_threads"])
        now = threads_in_force()
        if now == goal:
            return now
    raise ThreadsNotHonoured(f"asked for {threads} thread(s), and torch runs {now['threads']} and numba "
                             f"{now['numba_threads']} after setting them twice: OMP_NUM_THREADS, "
                             "MKL_NUM_THREADS or NUMBA_NUM_THREADS in the environment may cap them")
