"""Forward + backward of the network per forward variant × layer type, on fixed random spikes.

The multistep and fused forwards compute the same spikes as the notebook loop
(tests/snn/test_model.py); this measures what they cost. Timed by `make bench-save` /
`make bench-compare`, and with the target below by `make bench-forward`.
"""

from __future__ import annotations

import pytest
import torch

from bench.stats import paired_ratio
from snn.lif import warm_up_kernels
from snn.model import FORWARDS, LAYER_TYPES, NetConfig, build_net
from snn.threads import set_threads
from tests.benchmarks.rounds import interleaved_times
from tests.benchmarks.settings import THREADS

BATCH, TIME_STEPS = 8, 30
# forward:sparse computes with CSR weights: on these dense weights it has nothing to skip, so it
# is measured against dense across connectivity in test_sparse.py instead.
DENSE_FORWARDS = tuple(f for f in FORWARDS if f != "sparse")


def _step(net, frames, targets):
    def step():
        net.zero_grad(set_to_none=True)
        spikes = net(frames)  # (T, B, C)
        torch.nn.functional.cross_entropy(spikes.sum(0), targets).backward()
    return step


@pytest.mark.parametrize("layer_type", LAYER_TYPES)
@pytest.mark.parametrize("forward", DENSE_FORWARDS)
def test_forward_backward(benchmark, record_median, forward, layer_type):
    set_threads(THREADS)  # torch's and numba's, after numba starts (snn.threads)
    warm_up_kernels()  # fused: compiling is never timed
    torch.manual_seed(0)
    net = build_net(NetConfig(layer_type=layer_type, num_steps=TIME_STEPS, forward=forward))
    frames = (torch.rand(BATCH, TIME_STEPS, 2, 32, 32) < 0.1).float()  # (B, T, P, H, W)
    targets = torch.arange(BATCH) % 11
    benchmark.group = f"forward+backward {layer_type}"
    benchmark.extra_info.update(forward=forward, layer_type=layer_type, batch=BATCH,
                                time_steps=TIME_STEPS, threads=THREADS)
    benchmark.pedantic(_step(net, frames, targets), rounds=10, warmup_rounds=2, iterations=1)
    record_median(benchmark, forward, reference="reference")


# Issue 14's target: the best forward+backward at least 1.5x the notebook loop on the user's
# configuration (seed conv2d, batch 16, T = 60, 2 threads), judged on paired ratios.
TARGET_BATCH, TARGET_STEPS, TARGET_THREADS, TARGET_ROUNDS = 16, 60, 2, 12


# Timed by hand in interleaved rounds (pytest-benchmark times one callable at a time); the
# fixture only says whether this is a timed run.
@pytest.mark.filterwarnings("ignore:Benchmark fixture was not used")
def test_forward_backward_against_its_target(benchmark, record_forward_target):
    set_threads(TARGET_THREADS)  # torch's and numba's, after numba starts (snn.threads)
    warm_up_kernels()
    torch.manual_seed(0)
    nets = {forward: build_net(NetConfig(num_steps=TARGET_STEPS, forward=forward)) for forward in DENSE_FORWARDS}
    for net in nets.values():  # the same weights in every variant
        net.load_state_dict(nets["reference"].state_dict())
    frames = (torch.rand(TARGET_BATCH, TARGET_STEPS, 2, 32, 32) < 0.1).float() * 2
    targets = torch.arange(TARGET_BATCH) % 11
    steps = {forward: _step(net, frames, targets) for forward, net in nets.items()}
    rounds = TARGET_ROUNDS if benchmark.enabled else 1  # `make test`: one untimed round
    times = interleaved_times(list(DENSE_FORWARDS), lambda forward: steps[forward](), rounds, warmup=1)
    for forward, net in nets.items():
        assert all(p.grad is not None for p in net.parameters()), forward
    if benchmark.enabled:
        for forward in DENSE_FORWARDS[1:]:
            record_forward_target(forward, paired_ratio(times["reference"], times[forward]))
