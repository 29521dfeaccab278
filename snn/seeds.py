"""Independent random streams from one seed, one per consumer of randomness.

Two generators seeded with the same number produce the same stream: seeding torch's global
generator (weight init) and DeepR's generator (its initial mask) with the point's seed made the
keys that chose exact DeepR's active set equal the values that initialised layer 0's weights,
so layer 0 started with its K largest positive weights active. Each consumer therefore draws
from its own stream, derived from the seed with numpy's SeedSequence (whose derived states are
statistically independent), and named here once.
"""

from __future__ import annotations

import numpy as np

# Every named consumer of a seed; the position in this tuple is its stream's key, so adding a
# stream at the end never changes the others.
# Appended only: a stream's index is part of its seed, so existing streams keep their draws.
STREAMS = ("weights", "data", "deepr_mask", "deepr_reactivation", "deepr_noise", "rewiring_rule",
           "model", "dataset")  # the last two: a model or data set plug-in's own draws


def stream_seed(seed: int, stream: str) -> int:
    """A 63-bit seed for one consumer, independent of every other stream of the same seed."""
    if stream not in STREAMS:
        raise ValueError(f"unknown random stream {stream!r}: one of {', '.join(STREAMS)}")
    state = np.random.SeedSequence([seed, STREAMS.index(stream)]).generate_state(1, np.uint64)[0]
    return int(state >> np.uint64(1))  # torch.Generator.manual_seed takes up to 2^63 - 1
