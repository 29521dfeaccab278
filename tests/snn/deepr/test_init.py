"""build_rewiring's initial weights: one rule for both variants (sparse_init)."""

import math

import pytest
import torch
from torch import nn

from snn.deepr import DeepRConfig, build_rewiring


def _linear(seed=0):
    torch.manual_seed(seed)
    return nn.Linear(2000, 300, bias=False)


@pytest.mark.parametrize("variant", ["notebook", "exact"])
@pytest.mark.parametrize("sparse_init, scale", [("rescaled", 1 / math.sqrt(0.04)), ("masked", 1.0)])
def test_initial_active_weights_are_the_dense_ones_times_the_rule(variant, sparse_init, scale):
    layer = _linear()
    dense = layer.weight.detach().clone()
    build_rewiring([layer], DeepRConfig(variant=variant, connectivity=0.04, sparse_init=sparse_init))
    active = layer.weight != 0
    assert torch.allclose(layer.weight[active], dense[active] * scale, rtol=1e-6, atol=0)


def test_rescaled_init_keeps_the_variance_of_a_neurons_summed_input():
    x = (torch.rand(4000, 2000, generator=torch.Generator().manual_seed(3)) < 0.1).float()
    dense = _linear()
    sparse = _linear()
    build_rewiring([sparse], DeepRConfig(variant="exact", connectivity=0.04))
    ratio = (sparse(x).var() / dense(x).var()).item()
    assert ratio == pytest.approx(1.0, abs=0.1)
    masked = _linear()
    build_rewiring([masked], DeepRConfig(variant="exact", connectivity=0.04, sparse_init="masked"))
    assert (masked(x).var() / dense(x).var()).item() == pytest.approx(0.04, rel=0.2)


def test_an_unknown_sparse_init_is_refused():
    with pytest.raises(ValueError, match="unknown sparse_init 'dense'"):
        DeepRConfig(sparse_init="dense")
