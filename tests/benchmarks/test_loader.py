"""The next batch from a running DataLoader per num_workers, on a synthetic set of realistic
size per sample (30k events), framed as the network reads it."""

from __future__ import annotations

import pytest
import torch

from snn.data.dvsgesture import open_split
from snn.data.loader import LoaderConfig, build_loader
from snn.data.synth import SynthConfig, write_synthetic_dvsgesture
from snn.data.transforms import FrameConfig, build_transform
from tests.benchmarks.settings import THREADS

BENCH_DATA = SynthConfig(train_per_class=10, test_per_class=10, mean_events=30_000, seed=0)
BATCH = 8


@pytest.fixture(scope="module")
def bench_root(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench-dvs")
    write_synthetic_dvsgesture(root, BENCH_DATA)
    return root


@pytest.mark.parametrize("num_workers", [0, 1, 2])
def test_next_batch(benchmark, record_median, bench_root, num_workers):
    torch.set_num_threads(THREADS)
    dataset = open_split(bench_root, train=True, transform=build_transform(FrameConfig()))
    loader = build_loader(dataset, LoaderConfig(batch_size=BATCH, num_workers=num_workers,
                                                endless=True))
    batches = iter(loader)
    for _ in range(2 * max(num_workers, 1)):  # workers started and their queues filled once
        next(batches)
    benchmark.group = "dataloader next batch"
    benchmark.extra_info.update(num_workers=num_workers, batch=BATCH,
                                mean_events=BENCH_DATA.mean_events, threads=THREADS)
    frames, _ = benchmark.pedantic(next, args=(batches,), rounds=15, warmup_rounds=0, iterations=1)
    assert frames.shape == (BATCH, 60, 2, 32, 32)
    record_median(benchmark, f"workers={num_workers}", reference="workers=0")
    del batches  # stop the workers before the next parameter starts its own
