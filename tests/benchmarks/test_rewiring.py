"""Rewiring cost per DeepR variant × target weights × connectivity, beside the elementwise floor.

Each round first simulates an optimiser step (untimed): 2% of active connections cross zero and
every dormant weight moves. The timed call is one rewiring update over all target weights.
Timed with `make bench-save` / `make bench-compare` (all suites) or `make bench-deepr` (this one);
speed-ups over the notebook variant are printed at the end of a timed run.
"""

from __future__ import annotations

import pytest
import torch
from torch import nn

from bench.timing import elementwise_floor
from snn.deepr import DeepRConfig, build_rewiring
from snn.model import LAYER_TYPES, NetConfig, build_net
from tests.benchmarks.settings import THREADS

CONNECTIVITIES = (1.0, 0.5, 0.1, 0.01)
DEATH_FRACTION = 0.02


class LargeLinear(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(4096, 512)  # weight 512×4096

    def weight_layers(self):
        return [self.layer]


def _target(name: str) -> list[nn.Module]:
    torch.manual_seed(0)
    net = LargeLinear() if name == "linear512x4096" else build_net(NetConfig(layer_type=name))
    return net.weight_layers()


def _optimiser_step(weights: list[torch.Tensor], generator: torch.Generator) -> None:
    with torch.no_grad():
        for w in weights:
            u = torch.rand(w.shape, generator=generator)
            crossing = (u < DEATH_FRACTION) & (w != 0)
            w.copy_(torch.where(crossing, -w, w + (u - 0.5) * 1e-3))


# Exact DeepR skips a layer it keeps whole (tested in tests/snn/deepr); timing that 2 µs no-op
# would only gate bench-compare on timer noise (it moved 38% between identical runs).
CASES = [(variant, c) for variant in ("notebook", "exact", "floor") for c in CONNECTIVITIES
         if not (variant == "exact" and c == 1.0)]


@pytest.mark.parametrize("target", LAYER_TYPES + ("linear512x4096",))
@pytest.mark.parametrize("variant, connectivity", CASES, ids=[f"{v}-c{c}" for v, c in CASES])
def test_rewiring(benchmark, record_median, variant, target, connectivity):
    torch.set_num_threads(THREADS)
    layers = _target(target)
    weights = [layer.weight for layer in layers]
    if variant == "floor":  # one in-place elementwise pass over the same weights
        def update():
            elementwise_floor(weights)
    else:
        rewiring = build_rewiring(layers, DeepRConfig(variant=variant, connectivity=connectivity))
        update = rewiring.step
    generator = torch.Generator().manual_seed(1)
    group = f"rewiring {target} c={connectivity}"
    benchmark.group = group
    benchmark.extra_info.update(variant=variant, target=target, connectivity=connectivity,
                                threads=THREADS, death_fraction=DEATH_FRACTION,
                                numel=sum(w.numel() for w in weights))
    benchmark.pedantic(update, setup=lambda: _optimiser_step(weights, generator),
                       rounds=30, warmup_rounds=3, iterations=1)
    record_median(benchmark, variant, reference="notebook")
    if variant == "exact":  # the timed updates kept the invariant
        k = [w.numel() if connectivity == 1.0 else round(connectivity * w.numel()) for w in weights]
        assert rewiring.active_counts() == k
