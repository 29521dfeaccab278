"""forward:sparse against the dense forward it replaces (fused), on the seed network with exact
DeepR's masks, across connectivity {1, 0.1, 0.01, 0.001}: where, if anywhere, does computing
with CSR weights start to win on this machine?

Both variants start from the same weights and masks and take the same batch. Interleaved rounds
give paired ratios per connectivity, for the forward pass alone (inference) and for forward +
backward (a training step's share). `make bench-sparse` times it and prints the crossover.
"""

from __future__ import annotations

import pytest
import torch

from bench.stats import paired_ratio
from snn.deepr import DeepRConfig, build_rewiring
from snn.lif import warm_up_kernels
from snn.model import NetConfig, build_net
from snn.threads import set_threads
from tests.benchmarks.rounds import interleaved_times

CONNECTIVITIES = (1.0, 0.1, 0.01, 0.001)
BATCH, TIME_STEPS, THREADS, ROUNDS = 16, 30, 2, 10
SPARSE_RESULTS: dict[tuple[str, str, float], object] = {}  # (layer type, pass, c) → Ratio


def _nets(layer_type: str, connectivity: float) -> dict[str, torch.nn.Module]:
    nets = {}
    for forward in ("fused", "sparse"):
        torch.manual_seed(0)  # the same weights and the same masks in both
        net = build_net(NetConfig(layer_type=layer_type, num_steps=TIME_STEPS, forward=forward))
        if connectivity < 1:
            build_rewiring(net.weight_layers(), DeepRConfig(variant="exact", connectivity=connectivity,
                                                            seed=0))
        nets[forward] = net
    return nets


@pytest.mark.filterwarnings("ignore:Benchmark fixture was not used")
@pytest.mark.parametrize("layer_type", ["conv2d", "linear"])
@pytest.mark.parametrize("connectivity", CONNECTIVITIES)
def test_sparse_against_dense_forward(benchmark, layer_type, connectivity):
    set_threads(THREADS)  # torch's and numba's, after numba starts (snn.threads)
    warm_up_kernels()
    nets = _nets(layer_type, connectivity)
    frames = (torch.rand(BATCH, TIME_STEPS, 2, 32, 32) < 0.1).float()
    targets = torch.arange(BATCH) % 11

    def forward_only(name):
        with torch.no_grad():
            nets[name](frames)

    def forward_backward(name):
        nets[name].zero_grad(set_to_none=True)
        torch.nn.functional.cross_entropy(nets[name](frames).sum(0), targets).backward()

    rounds = ROUNDS if benchmark.enabled else 1  # `make test`: one untimed round
    for label, act in (("forward", forward_only), ("forward+backward", forward_backward)):
        times = interleaved_times(["fused", "sparse"], act, rounds, warmup=1)
        if benchmark.enabled:
            SPARSE_RESULTS[(layer_type, label, connectivity)] = paired_ratio(times["sparse"], times["fused"])


def crossover_lines() -> list[str]:
    """sparse/dense per connectivity, and the highest connectivity where sparse is faster."""
    if not SPARSE_RESULTS:
        return []
    lines = ["", f"forward:sparse / forward:fused (dense), paired ratios of interleaved rounds, 95% CI "
             f"(batch {BATCH}, T = {TIME_STEPS}, {THREADS} threads; below 1: sparse is faster)"]
    for layer_type, label in sorted({(k[0], k[1]) for k in SPARSE_RESULTS}):
        cells, wins = [], []
        for c in CONNECTIVITIES:
            r = SPARSE_RESULTS.get((layer_type, label, c))
            if r is not None:
                cells.append(f"c={c:g}: {r.median:.2f} ({r.ci_low:.2f}-{r.ci_high:.2f})")
                if r.ci_high < 1:
                    wins.append(c)
        crossover = (f"sparse wins from c = {max(wins):g} down" if wins
                     else "no crossover: sparse never faster")
        lines.append(f"{layer_type:<8}{label:<18}" + "  ".join(cells) + f"  -> {crossover}")
    return lines
