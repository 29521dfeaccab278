"""forward:sparse computes what the dense layers compute on the same masked weights (to float
rounding: the same sums in another order), forward and backward."""

import pytest
import torch
from torch import nn

from snn.deepr import DeepRConfig, build_rewiring
from snn.model import NetConfig, build_net
from snn.sparse import sparsify

TOLERANCE = {"rtol": 1e-5, "atol": 1e-5}


def _masked(layer: nn.Module, keep: float, seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    with torch.no_grad():
        layer.weight.mul_((torch.rand_like(layer.weight) < keep).float())  # DeepR's dormant weights: 0
    return layer


@pytest.mark.parametrize("make, shape", [
    (lambda: nn.Linear(64, 32), (5, 64)),
    (lambda: nn.Conv1d(4, 8, 5, padding=2, stride=2), (3, 4, 31)),
    (lambda: nn.Conv2d(2, 8, 3, padding=1), (3, 2, 12, 12)),
    (lambda: nn.Conv2d(8, 4, 5, padding=2, stride=2, dilation=1, bias=False), (2, 8, 16, 16)),
])
@pytest.mark.parametrize("keep", [1.0, 0.1, 0.01])
def test_a_sparse_layer_equals_the_dense_layer_on_the_same_masked_weights(make, shape, keep):
    dense = _masked(make(), keep)
    sparse = sparsify(_masked(make(), keep))
    sparse.load_state_dict(dense.state_dict())
    x = (torch.rand(shape) < 0.3).float() * torch.rand(shape)
    x_dense, x_sparse = x.clone().requires_grad_(), x.clone().requires_grad_()
    out_dense, out_sparse = dense(x_dense), sparse(x_sparse)
    torch.testing.assert_close(out_sparse, out_dense, **TOLERANCE)
    grad = torch.randn_like(out_dense)
    out_dense.backward(grad)
    out_sparse.backward(grad)
    torch.testing.assert_close(x_sparse.grad, x_dense.grad, **TOLERANCE)
    torch.testing.assert_close(sparse.weight.grad, dense.weight.grad, **TOLERANCE)  # every weight's
    if dense.bias is not None:
        torch.testing.assert_close(sparse.bias.grad, dense.bias.grad, **TOLERANCE)


def test_a_sparse_layer_keeps_its_parameters_and_hooks():
    layer = nn.Linear(4, 3)
    weight = layer.weight
    seen = []
    layer.register_forward_pre_hook(lambda module, args: seen.append(args[0].shape))
    sparse = sparsify(layer)
    sparse(torch.ones(2, 4))
    assert sparse is layer and sparse.weight is weight and seen == [(2, 4)]
    assert isinstance(sparse, nn.Linear)


@pytest.mark.parametrize("layer_type", ["conv2d", "conv1d", "linear"])
def test_the_sparse_forward_gives_the_fused_forwards_spikes_under_exact_deepr(layer_type):
    nets = {}
    for forward in ("fused", "sparse"):
        torch.manual_seed(0)
        net = build_net(NetConfig(layer_type=layer_type, num_steps=8, forward=forward))
        build_rewiring(net.weight_layers(), DeepRConfig(variant="exact", connectivity=0.05, seed=0))
        nets[forward] = net
    assert all(torch.equal(a, b) for a, b in zip(nets["fused"].state_dict().values(),
                                                  nets["sparse"].state_dict().values()))
    torch.manual_seed(1)
    frames = (torch.rand(4, 8, 2, 32, 32) < 0.2).float()
    spikes = {forward: net(frames) for forward, net in nets.items()}
    mismatched = (spikes["fused"] != spikes["sparse"]).float().mean().item()
    # A current within float rounding of the threshold could fire in one and not the other; none
    # did here, and a rare one would show as a tiny fraction, never as a different network.
    assert mismatched == 0.0
