"""Write spikes.npz, the plain-LIF example's data set: spike trains of T=20 steps on 64 channels,
4 classes, 64 training and 32 test samples, from seed 0 (the file in the repository is this
script's output; a test checks that it still is).

Class k fires a band of 16 channels (k·16 to k·16+15) at 30% per step in the first half of the
sample and a shifted band in the second, over 3% background noise: separable only by when and
where spikes come, as event data are.

    python examples/plain_lif/make_spikes.py [OUT]
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

STEPS, CHANNELS, CLASSES = 20, 64, 4
BAND = CHANNELS // CLASSES


def make(samples: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    labels = np.arange(samples) % CLASSES
    rates = np.full((samples, STEPS, CHANNELS), 0.03)
    for i, k in enumerate(labels):
        rates[i, : STEPS // 2, k * BAND:(k + 1) * BAND] = 0.3
        shifted = (k + 1) % CLASSES
        rates[i, STEPS // 2:, shifted * BAND:(shifted + 1) * BAND] = 0.3
    return rng.random(rates.shape) < rates, labels.astype(np.int64)


def arrays(seed: int = 0) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    train_x, train_y = make(64, rng)
    test_x, test_y = make(32, rng)
    return {"train_x": train_x, "train_y": train_y, "test_x": test_x, "test_y": test_y}


if __name__ == "__main__":
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).with_name("spikes.npz")
    np.savez_compressed(out, **arrays())
    print(f"wrote {out} ({out.stat().st_size} bytes)")
