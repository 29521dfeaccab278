"""The next batch from a running DataLoader per num_workers, on a synthetic set of realistic
size per sample (30k events), framed as the network reads it."""

from __future__ import annotations

import pytest
import torch

from snn.data.dvsgesture import open_split
from snn.data.loader import LoaderConfig, build_loader
from snn.data.synth import SynthConfig, write_synthetic_dvsgesture
from snn.data.transforms import FrameConfig, build_transform
from snn.threads import set_threads
from tests.benchmarks.settings import THREADS

BENCH_DATA = SynthConfig(train_per_class=10, test_per_class=10, mean_events=30_000, seed=0)
BATCH = 8
ROUND_BATCHES = 4  # batches a timed round reads: their mean is a batch's time


@pytest.fixture(scope="module")
def bench_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench-dvs")
    write_synthetic_dvsgesture(root, BENCH_DATA)
    return root


@pytest.mark.parametrize("num_workers", [0, 1, 2])
def test_next_batch(benchmark, record_median, bench_root, num_workers):
    set_threads(THREADS)  # torch's and numba's, after numba starts (snn.threads)
    dataset = open_split(bench_root, train=True, transform=build_transform(FrameConfig()))
    loader = build_loader(dataset, LoaderConfig(batch_size=BATCH, num_workers=num_workers,
                                                endless=True))
    batches = iter(loader)
    for _ in range(2 * max(num_workers, 1)):  # workers started and their queues filled once
        next(batches)
    benchmark.group = "dataloader next batch"
    benchmark.extra_info.update(num_workers=num_workers, batch=BATCH,
                                mean_events=BENCH_DATA.mean_events, threads=THREADS)
    # A round reads ROUND_BATCHES batches: one `next` from a running loader returns at once when
    # a worker's batch is waiting and takes a whole batch when none is, so timed alone its median
    # flipped between the two (0.1 ms and 20 ms with 2 workers) from one run to the next.
    frames, _ = benchmark.pedantic(next, args=(batches,), rounds=15, warmup_rounds=2,
                                   iterations=ROUND_BATCHES if benchmark.enabled else 1)
    assert frames.shape == (BATCH, 60, 2, 32, 32)
    record_median(benchmark, f"workers={num_workers}", reference="workers=0")
    del batches  # stop the workers before the next parameter starts its own
