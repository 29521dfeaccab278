"""Rewiring cost per DeepR variant × target weights × connectivity × death rate, beside the
elementwise floor: one in-place pass over a flat buffer holding the same weights.

Each round first simulates an optimiser step (untimed): a fraction `death_rate` of the active
connections crosses zero (0.1%, 1% or 10% per update) and every dormant weight moves a little,
as Adam moves them. Notebook and exact see the same draws, from the same initial weights. The
timed call is one rewiring update over all target weights.

`test_rewiring` times each variant with pytest-benchmark (saved runs, `--benchmark-compare`).
`test_exact_against_its_targets` times the three in interleaved rounds (N E F, then F E N, ...),
each after its own simulated optimiser step, so a busy moment of a shared machine hits all
three alike; the end of a timed run (`make bench-deepr`) prints, per case, the median of the
per-round ratios notebook/exact and exact/floor with 95% CIs against the targets (exact ≥ 5x
faster than the notebook, ≤ 3x the floor).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest
import torch
from torch import nn

from bench.stats import paired_ratio
from snn.deepr import DeepRConfig, build_rewiring
from snn.deepr.flat import flatten_into_buffer
from snn.model import NetConfig, build_net
from snn.threads import set_threads
from tests.benchmarks.rounds import interleaved_times
from tests.benchmarks.settings import THREADS

CONNECTIVITIES = (0.1, 0.01)
DEATH_RATES = (0.001, 0.01, 0.1)
VARIANTS = ("notebook", "exact", "floor")


class LargeLinear(nn.Module):
    def __init__(self):
        super().__init__()
        self.layer = nn.Linear(4096, 512)  # weight 512×4096: 2.1M

    def weight_layers(self):
        return [self.layer]


class EightLayerConv2d(nn.Module):
    """The depth the user trains (8 weight layers), 1.42M weights: the seed network is 0.29M."""

    def __init__(self):
        super().__init__()
        widths = (2, 32, 64, 128, 128, 256, 256)
        kernels = (5, 5, 3, 3, 3, 3)
        self.convs = nn.ModuleList(nn.Conv2d(a, b, k) for a, b, k in zip(widths, widths[1:], kernels))
        self.fcs = nn.ModuleList([nn.Linear(1024, 256), nn.Linear(256, 11)])

    def weight_layers(self):
        return [*self.convs, *self.fcs]


TARGETS = {
    "seed-conv2d": lambda: build_net(NetConfig(layer_type="conv2d")),
    "linear512x4096": LargeLinear,
    "conv2d-8layer": EightLayerConv2d,
}


def _connections(rewiring, weights, floor_mask):
    """(weight, active, sign) per layer, read from the rule's own masks."""
    if rewiring is None:  # the floor rewires nothing: a fixed mask gives its weights the same moves
        return [(w, a, torch.sign(w)) for w, a in zip(weights, floor_mask)]
    if hasattr(rewiring, "weightSignMasks"):  # notebook: the signed mask is both
        return [(w, m != 0, m) for w, m in zip(weights, rewiring.weightSignMasks)]
    return list(zip(weights, rewiring.active, rewiring.sign))


def _optimiser_step(connections, death_rate: float, generator: torch.Generator) -> None:
    with torch.no_grad():
        for w, active, sign in connections:
            u = torch.rand(w.shape, generator=generator)
            dying = active & (u < death_rate)
            moved = torch.where(active, w, (u - 0.5) * 1e-3)  # dormant weights drift
            w.copy_(torch.where(dying, -sign * 1e-3, moved))


CASES = [(c, f) for c in CONNECTIVITIES for f in DEATH_RATES]


@dataclass
class Variant:
    """One variant on a fresh copy of the target's initial weights, ready to time."""

    update: Callable[[], object]  # the timed call
    connections: Callable[[], list]  # (weight, active, sign) per layer, read as they are now
    weights: list[torch.Tensor]
    rewiring: object | None  # None for the floor


def _variant(name: str, target: str, connectivity: float) -> Variant:
    torch.manual_seed(0)  # every variant starts from the same weights
    layers = TARGETS[target]().weight_layers()
    weights = [layer.weight for layer in layers]
    if name == "floor":
        buffer = flatten_into_buffer(weights).buffer
        mask_generator = torch.Generator().manual_seed(2)
        floor_mask = [torch.rand(w.shape, generator=mask_generator) < connectivity for w in weights]
        return Variant(lambda: buffer.mul_(1.0), lambda: _connections(None, weights, floor_mask),
                       weights, None)
    rewiring = build_rewiring(layers, DeepRConfig(variant=name, connectivity=connectivity))
    return Variant(rewiring.step, lambda: _connections(rewiring, weights, None), weights, rewiring)


@pytest.mark.parametrize("target", sorted(TARGETS))
@pytest.mark.parametrize("connectivity, death_rate", CASES, ids=[f"c{c}-deaths{f}" for c, f in CASES])
@pytest.mark.parametrize("variant", VARIANTS)
def test_rewiring(benchmark, record_median, variant, target, connectivity, death_rate):
    set_threads(THREADS)  # torch's and numba's, after numba starts (snn.threads)
    timed = _variant(variant, target, connectivity)
    generator = torch.Generator().manual_seed(1)
    benchmark.group = f"rewiring {target} c={connectivity} deaths={death_rate:.1%}"
    benchmark.extra_info.update(variant=variant, target=target, connectivity=connectivity,
                                threads=THREADS, death_rate=death_rate,
                                numel=sum(w.numel() for w in timed.weights), layers=len(timed.weights))
    benchmark.pedantic(timed.update,
                       setup=lambda: _optimiser_step(timed.connections(), death_rate, generator),
                       rounds=100, warmup_rounds=5, iterations=1)
    record_median(benchmark, variant, reference="notebook")
    if variant == "exact":  # the timed updates kept the invariant
        assert timed.rewiring.active_counts() == [round(connectivity * w.numel()) for w in timed.weights]


TARGET_ROUNDS = 60


# The benchmark fixture only says whether this run times (bench-deepr) or not (make test):
# the interleaved rounds are timed here, so pytest-benchmark has nothing to save.
@pytest.mark.filterwarnings("ignore:Benchmark fixture was not used")
@pytest.mark.parametrize("target", sorted(TARGETS))
@pytest.mark.parametrize("connectivity, death_rate", CASES, ids=[f"c{c}-deaths{f}" for c, f in CASES])
def test_exact_against_its_targets(benchmark, record_deepr_targets, target, connectivity, death_rate):
    set_threads(THREADS)  # torch's and numba's, after numba starts (snn.threads)
    variants = {name: _variant(name, target, connectivity) for name in VARIANTS}
    # The same draws for each: one generator per variant, seeded alike.
    generators = {name: torch.Generator().manual_seed(1) for name in VARIANTS}
    rounds = TARGET_ROUNDS if benchmark.enabled else 1  # `make test`: one untimed round
    measured = interleaved_times(
        list(VARIANTS), lambda name: variants[name].update(), rounds,
        warmup=3,  # the kernels compile on the first
        prepare=lambda name: _optimiser_step(variants[name].connections(), death_rate, generators[name]))
    exact = variants["exact"]
    assert exact.rewiring.active_counts() == [round(connectivity * w.numel()) for w in exact.weights]
    if benchmark.enabled:
        record_deepr_targets(f"{target} c={connectivity} deaths={death_rate:.1%}",
                             paired_ratio(measured["notebook"], measured["exact"]),
                             paired_ratio(measured["exact"], measured["floor"]))
