"""The compiled framing loop (numba), imported only when `framing="compiled"` first runs.

One pass over the events in time order: the window index changes only at window edges, so the
integer division tonic's windows need runs once per window, not once per event; downsampling by
a power of two is a shift. Every increment is bounds-checked against the frame buffer, so
events that break the documented preconditions (unsorted, off the sensor) can at worst land
in a wrong cell, never outside the buffer.
"""

from __future__ import annotations

import numba
import numpy as np

from snn import numba_cache

numba_cache.install()  # a damaged cache entry recompiles instead of failing every run


@numba.njit(cache=True, nogil=True)
def count_events(x, y, p, t, t0, window, n_bins, polarities, size, shift_x, shift_y,
                 out):  # pragma: no cover - compiled
    """Adds each event to out[(bin·P + p)·S² + (y >> shift_y)·S + (x >> shift_x)], int16 wrap."""
    b = 0
    start = t0
    end = t0 + window
    cells = out.shape[0]
    for i in range(t.shape[0]):
        ti = t[i]
        if ti >= end or ti < start:  # another window: sorted input divides once per window
            b = (ti - t0) // window
            start = t0 + b * window
            end = start + window
        if b >= n_bins:  # past t_first + T·window: tonic drops these
            continue
        cell = ((b * polarities + np.int64(p[i])) * size + (np.int64(y[i]) >> shift_y)) * size \
            + (np.int64(x[i]) >> shift_x)
        if 0 <= cell < cells:
            out[cell] += np.int16(1)
