"""snn.approx: approximate variants run as intended, or are refused naming the fix; never judged by equality."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from snn import approx
from snn.approx import (
    ApproximationUnavailable,
    SparsepropLinear,
    bf16_unavailable,
    check_approximation,
    sparseprop_choices,
    sparseprop_linear,
    use_sparseprop,
)
from snn.config import NetConfig
from snn.model import SeedNet
from snn.train import autocast


def _sparseprop_or_skip():
    try:
        import sparseprop.modules.functions  # noqa: F401
    except ImportError as error:
        pytest.skip(f"sparseprop is not installed ({error}): make setup-libraries installs it")


def _sparse_weight(out_features=24, in_features=40, keep=0.1, seed=0):
    generator = torch.Generator().manual_seed(seed)
    weight = torch.randn(out_features, in_features, generator=generator)
    return weight * (torch.rand(out_features, in_features, generator=generator) < keep)


def test_bf16_runs_the_synapses_in_bfloat16_and_the_neurons_in_float32():
    if bf16_unavailable(torch.device("cpu")) is not None:
        pytest.skip(bf16_unavailable(torch.device("cpu")))
    torch.manual_seed(0)
    net = SeedNet(NetConfig(layer_type="conv2d", num_steps=4, forward="fused"))
    x = torch.poisson(torch.full((2, 4, 2, 32, 32), 0.5))
    currents = []
    net.layers[0].register_forward_hook(lambda module, args, out: currents.append(out.dtype))
    exact = net(x)
    with autocast(torch.device("cpu"), torch.bfloat16):
        approximate = net(x)
    assert currents == [torch.float32, torch.bfloat16]  # the synapses multiplied in bf16
    assert approximate.dtype == torch.float32 and set(approximate.unique().tolist()) <= {0.0, 1.0}
    # not equal by design, but the same network: most output spikes agree
    assert (approximate == exact).float().mean() > 0.8


def test_bf16_is_refused_where_it_would_be_emulated(monkeypatch):
    for probe in ("_is_avx512_bf16_supported", "_is_amx_tile_supported"):
        monkeypatch.setattr(torch.cpu, probe, lambda: False, raising=False)
    with pytest.raises(ApproximationUnavailable, match="neither AVX-512 BF16 nor AMX.*Drop approx:bf16"):
        check_approximation("bf16", torch.device("cpu"))


def test_sparseprop_is_refused_off_the_cpu_and_when_absent(monkeypatch):
    with pytest.raises(ApproximationUnavailable, match="CPU only.*device = cpu"):
        check_approximation("sparseprop", torch.device("cuda"))
    monkeypatch.setitem(__import__("sys").modules, "sparseprop.modules.functions", None)  # import fails
    with pytest.raises(ApproximationUnavailable, match="sparseprop.*make setup-libraries"):
        check_approximation("sparseprop", torch.device("cpu"))


def test_sparseprop_linear_is_the_dense_product_with_a_gradient_for_active_weights_only():
    _sparseprop_or_skip()
    weight = _sparse_weight().requires_grad_()
    bias = torch.randn(24, requires_grad=True)
    x = torch.rand(32, 40, requires_grad=True)
    out = sparseprop_linear(x, weight, bias)
    expected = F.linear(x, weight, bias)
    assert torch.allclose(out, expected, atol=1e-5)
    grad = torch.randn_like(out)
    sparse_grads = torch.autograd.grad(out, (x, weight, bias), grad)
    dense_grads = torch.autograd.grad(expected, (x, weight, bias), grad)
    active = weight.detach() != 0
    assert torch.allclose(sparse_grads[0], dense_grads[0], atol=1e-5)
    assert torch.allclose(sparse_grads[1][active], dense_grads[1][active], atol=1e-5)
    assert (sparse_grads[1][~active] == 0).all() and (dense_grads[1][~active] != 0).any()
    assert torch.allclose(sparse_grads[2], dense_grads[2], atol=1e-5)


def test_use_sparseprop_swaps_linear_layers_only_and_each_chooses_its_kernel_once(monkeypatch):
    _sparseprop_or_skip()
    net = nn.Sequential(nn.Conv1d(2, 4, 3), nn.Flatten(), nn.Linear(4 * 38, 24), nn.Linear(24, 5))
    parameters = list(net.parameters())
    assert use_sparseprop(list(net)) == 2
    assert [type(m) for m in net] == [nn.Conv1d, nn.Flatten, SparsepropLinear, SparsepropLinear]
    assert list(net.parameters()) == parameters  # the same module and parameters: only the class changed
    assert sparseprop_choices(net) == {"2": None, "3": None}
    calls = []
    monkeypatch.setattr(approx, "_sparse_is_faster", lambda x, w, b: calls.append(w.shape) or True)
    with torch.no_grad():
        net[2].weight.mul_(torch.rand_like(net[2].weight) < 0.1)
    x = torch.rand(8, 2, 40)
    dense = F.linear(F.linear(net[1](net[0](x)), net[2].weight, net[2].bias), net[3].weight, net[3].bias)
    assert torch.allclose(net(x), dense, atol=1e-5) and torch.allclose(net(x), dense, atol=1e-5)
    assert len(calls) == 2 and sparseprop_choices(net) == {"2": True, "3": True}


def test_the_kernel_choice_times_both_kernels_and_leaves_the_weight_gradient_alone():
    _sparseprop_or_skip()
    weight = _sparse_weight().requires_grad_()
    assert isinstance(approx._sparse_is_faster(torch.rand(64, 40), weight, None), bool)
    assert weight.grad is None


def test_sparseprop_refuses_input_its_kernel_cannot_take():
    _sparseprop_or_skip()
    layer = nn.Linear(4, 3)
    use_sparseprop([layer])
    with pytest.raises(ApproximationUnavailable, match="float32 CPU input"):
        layer(torch.rand(2, 4, dtype=torch.float64))


def test_an_unknown_approximation_and_a_doubly_sparse_one_are_refused():
    with pytest.raises(ValueError, match="unknown approximation 'fp8'"):
        NetConfig(approximation="fp8")
    with pytest.raises(ValueError, match="pick one"):
        NetConfig(forward="sparse", approximation="sparseprop")
