"""Forward + backward of the network per forward variant × layer type, on fixed random spikes.

The multistep forward computes the same spikes as the notebook loop (tests/snn/test_model.py);
this measures what it costs. Timed by `make bench-save` / `make bench-compare`.
"""

from __future__ import annotations

import pytest
import torch

from snn.model import FORWARDS, LAYER_TYPES, NetConfig, build_net
from tests.benchmarks.settings import THREADS

BATCH, TIME_STEPS = 8, 30


@pytest.mark.parametrize("layer_type", LAYER_TYPES)
@pytest.mark.parametrize("forward", FORWARDS)
def test_forward_backward(benchmark, record_median, forward, layer_type):
    torch.set_num_threads(THREADS)
    torch.manual_seed(0)
    net = build_net(NetConfig(layer_type=layer_type, num_steps=TIME_STEPS, forward=forward))
    frames = (torch.rand(BATCH, TIME_STEPS, 2, 32, 32) < 0.1).float()  # (B, T, P, H, W)
    targets = torch.arange(BATCH) % 11

    def step():
        net.zero_grad(set_to_none=True)
        spikes = net(frames)  # (T, B, C)
        torch.nn.functional.cross_entropy(spikes.sum(0), targets).backward()

    benchmark.group = f"forward+backward {layer_type}"
    benchmark.extra_info.update(forward=forward, layer_type=layer_type, batch=BATCH,
                                time_steps=TIME_STEPS, threads=THREADS)
    benchmark.pedantic(step, rounds=10, warmup_rounds=2, iterations=1)
    record_median(benchmark, forward, reference="reference")
