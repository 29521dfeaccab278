"""Rewired weights as views of one flat buffer (snn.deepr.flat)."""

import pytest
import torch

from snn.deepr import DeepRConfig, ExactDeepR
from snn.deepr.flat import flatten_into_buffer
from snn.model import NetConfig, build_net
from tests.snn.deepr.helpers import Weight


def test_parameters_keep_their_identity_and_values_and_share_one_buffer():
    net = build_net(NetConfig())
    params = [layer.weight for layer in net.weight_layers()]
    values = [p.detach().clone() for p in params]
    flat = flatten_into_buffer(params)
    assert [layer.weight for layer in net.weight_layers()] == params
    for p, v, part in zip(params, values, flat.slices()):
        assert torch.equal(p, v)
        assert p.untyped_storage().data_ptr() == flat.buffer.untyped_storage().data_ptr()
        assert torch.equal(flat.buffer[part].view_as(p), p)


def test_an_optimiser_built_before_rewiring_updates_the_buffer():
    net = build_net(NetConfig(num_steps=3))
    optimiser = torch.optim.Adam(net.parameters(), lr=1e-2)
    rewiring = ExactDeepR(net.weight_layers(), DeepRConfig(connectivity=0.1))
    before = rewiring.flat.buffer.clone()
    net(torch.rand(4, 3, 2, 32, 32)).sum().backward()
    optimiser.step()
    assert not torch.equal(rewiring.flat.buffer, before), "the optimiser's step lands in the buffer"
    rewiring.step()
    assert rewiring.active_counts() == [round(0.1 * l.weight.numel()) for l in net.weight_layers()]
    for layer, active in zip(net.weight_layers(), rewiring.active):
        assert (layer.weight[~active] == 0).all(), "dormant weights of the live parameter are zero"


def test_a_weight_rebound_after_rewiring_was_built_is_reported():
    layer = Weight((6, 6))
    rewiring = ExactDeepR([layer], DeepRConfig(connectivity=0.5))
    layer.weight.data = layer.weight.data.clone()
    with pytest.raises(RuntimeError, match=r"no longer lives in DeepR's flat buffer.*build the rewiring"):
        rewiring.step()


def test_weights_of_mixed_dtypes_are_refused():
    a, b = Weight((3, 3)), Weight((2, 2))
    b.weight.data = b.weight.data.double()
    with pytest.raises(ValueError, match="share one dtype and device"):
        ExactDeepR([a, b], DeepRConfig(connectivity=0.5))
