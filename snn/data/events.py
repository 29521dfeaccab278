"""The one validator of an event file's contents: what every reader of events relies on.

An event file is an (N, 4) numeric array of x, y, p, t (t in ms). A file can load and still be
wrong in ways that give silently wrong frames downstream: tonic's ToFrame gives all-zero frames
for unsorted timestamps, bincount framing places an x beyond the sensor in the next row, NaN
timestamps become huge negative integers, and an empty sample breaks collation. Each problem is
named in words, for the error that names the file.
"""

from __future__ import annotations

import numpy as np

from snn.names import BAD_SAMPLE_POLICIES, SENSOR_SIZE

__all__ = ["BAD_SAMPLE_POLICIES", "event_problem"]


def event_problem(events: np.ndarray, sensor_size: tuple[int, int, int] = SENSOR_SIZE) -> str | None:
    """Why an (N, 4) x, y, p, t array cannot be used as a DVS sample, or None when it can.

    Vectorised, so cheap enough for every sample a loader reads (a few ms for 300k events)."""
    if events.ndim != 2 or events.shape[1] != 4:
        return f"its array has shape {events.shape}"
    if not np.issubdtype(events.dtype, np.number):
        return f"its array has dtype {events.dtype}"
    if len(events) == 0:
        return "it holds no events"
    if np.issubdtype(events.dtype, np.floating) and not np.isfinite(events).all():
        return "it holds NaN or infinite values"
    width, height, polarities = sensor_size
    x, y, p, t = (events[:, i] for i in range(4))
    for name, values, size in (("x", x, width), ("y", y, height)):
        low, high = values.min(), values.max()
        if low < 0 or high >= size:
            return f"its {name} coordinates span {low:g}..{high:g}, outside the sensor's 0..{size - 1}"
    if p.min() < 0 or p.max() >= polarities or (np.issubdtype(p.dtype, np.floating) and (p % 1).any()):
        return f"its polarities span {p.min():g}..{p.max():g}; they must be 0 or 1"
    decreasing = np.flatnonzero(np.diff(t) < 0)
    if decreasing.size:
        i = int(decreasing[0])
        return (f"its timestamps are not sorted: event {i + 1} has t = {t[i + 1]:g} ms after "
                f"t = {t[i]:g} ms")
    return None
