"""Events → frames per framing variant × event count (tonic's Downsample + ToFrame against the
bincount framing, which computes the same frames: tests/snn/data/test_framing.py)."""

from __future__ import annotations

import numpy as np
import pytest
import tonic

from snn.data.synth import synth_events
from snn.data.transforms import FRAMINGS, FrameConfig, build_transform
from snn.threads import set_threads
from tests.benchmarks.rounds import iterations_for
from tests.benchmarks.settings import THREADS

EVENT_COUNTS = (10_000, 300_000, 1_000_000)  # 300k: a DVS Gesture sample's size


def _recording(n_events: int) -> np.ndarray:
    """A synthetic gesture as tonic's DVSGesture hands it to the transform (t in µs)."""
    raw = synth_events(label=3, n_events=n_events, duration_ms=6000, noise_fraction=0.1,
                       rng=np.random.default_rng(0))
    events = np.zeros(len(raw), dtype=tonic.datasets.DVSGesture.dtype)
    for column, name in enumerate("xypt"):
        events[name] = raw[:, column]
    events["t"] *= 1000
    return events


@pytest.mark.parametrize("n_events", EVENT_COUNTS)
@pytest.mark.parametrize("framing", FRAMINGS)
def test_framing(benchmark, record_median, framing, n_events):
    events = _recording(n_events)
    transform = build_transform(FrameConfig(framing=framing))
    benchmark.group = f"framing {n_events} events"
    benchmark.extra_info.update(framing=framing, n_events=n_events, frame_size=32, n_time_bins=60)
    set_threads(THREADS)  # the compiled framing runs numba's kernels
    iterations = iterations_for(transform, events) if benchmark.enabled else 1
    frames = benchmark.pedantic(transform, args=(events,), rounds=15, warmup_rounds=2, iterations=iterations)
    assert frames.shape == (60, 2, 32, 32)
    record_median(benchmark, framing, reference="tonic")
