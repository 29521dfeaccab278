"""snn.lif: the fused recurrence computes what snn.Leaky stepped through time computes."""

import pytest
import snntorch as snn
import torch
from snntorch import surrogate

import snn.lif as lif
from snn.lif import LIFParams, lif_spikes
from snn.lif_kernel import BLOCK

SLOPE = 25.0


def _leaky(**kwargs) -> snn.Leaky:
    return snn.Leaky(beta=0.9, spike_grad=surrogate.fast_sigmoid(slope=SLOPE), **kwargs)


def _stepped(neuron: snn.Leaky, current: torch.Tensor) -> torch.Tensor:
    """The notebook's way: one snn.Leaky call per time step."""
    mem = neuron.init_leaky()
    out = []
    for current_t in current.unbind(0):
        spk, mem = neuron(current_t, mem)
        out.append(spk)
    return torch.stack(out)


def _current(shape, dtype=torch.float32) -> torch.Tensor:
    torch.manual_seed(0)
    return (torch.randn(shape) * 0.6 + 0.35).to(dtype)  # about a quarter of the neurons fire


def _both(current: torch.Tensor, neuron: snn.Leaky):
    """(spikes, d loss / d current) from the reference and from lif_spikes, on one upstream gradient."""
    torch.manual_seed(1)
    upstream = torch.randn(current.shape, dtype=current.dtype)
    results = []
    for run in (lambda c: _stepped(neuron, c), lambda c: lif_spikes(c, LIFParams.of(neuron, SLOPE))):
        x = current.clone().requires_grad_(True)
        spikes = run(x)
        spikes.backward(upstream)
        results.append((spikes.detach(), x.grad))
    return results


# (T, B, ...) shapes: a conv layer's, one that ends mid-block, a single step, one neuron.
SHAPES = [(12, 3, 12, 8, 8), (7, 2, BLOCK + 5), (1, 4, 10), (9, 1, 1)]


@pytest.mark.parametrize("shape", SHAPES)
def test_compiled_recurrence_gives_leakys_spikes_and_gradients_bit_for_bit(shape):
    current = _current(shape)
    assert lif.compiled_path_for(current)
    (ref_spikes, ref_grad), (spikes, grad) = _both(current, _leaky())
    assert 0 < ref_spikes.mean() < 1  # both spiking and silent neurons, so resets happen
    assert torch.equal(spikes, ref_spikes)
    assert torch.equal(grad, ref_grad)


def test_torch_recurrence_gives_leakys_spikes_and_gradients_bit_for_bit(monkeypatch):
    # The path CUDA and half precision take, run here on float32. (Not float64: snn.Leaky's
    # spikes are float32 whatever the input, so its own gradients round through float32.)
    monkeypatch.setattr(lif, "compiled_path_for", lambda tensor: False)
    (ref_spikes, ref_grad), (spikes, grad) = _both(_current(SHAPES[0]), _leaky())
    assert torch.equal(spikes, ref_spikes)
    assert torch.equal(grad, ref_grad)


def test_the_reset_carries_no_gradient_and_the_membrane_carries_beta():
    # One neuron, two steps, a spike at the first: d loss/d I_0 = s_0 + β·s_1, where
    # s_t = grad_t / (k·|mem_t − thr| + 1)², whether or not the neuron reset in between.
    current = torch.tensor([[1.5], [0.2]], requires_grad=True)
    p = LIFParams(beta=0.5, threshold=1.0, slope=SLOPE)
    lif_spikes(current, p).backward(torch.tensor([[1.0], [1.0]]))
    mem0, mem1 = 1.5, 0.5 * 1.5 + 0.2 - 1.0  # the reset subtracts thr at the second step
    s0, s1 = 1 / (SLOPE * abs(mem0 - 1) + 1) ** 2, 1 / (SLOPE * abs(mem1 - 1) + 1) ** 2
    torch.testing.assert_close(current.grad, torch.tensor([[s0 + 0.5 * s1], [s1]]))


@pytest.mark.parametrize("kwargs, named", [
    ({"reset_mechanism": "zero"}, "reset_mechanism"),
    ({"reset_delay": False}, "reset_delay=False"),
    ({"learn_beta": True}, "learn_beta"),
    ({"graded_spikes_factor": 2.0}, "graded_spikes_factor"),
])
def test_a_neuron_the_recurrence_does_not_implement_is_refused_by_name(kwargs, named):
    with pytest.raises(ValueError, match=f"{named}.*use forward = multistep"):
        LIFParams.of(_leaky(**kwargs), SLOPE)


def test_kernels_warm_up_before_timing_and_report_how_long_it_took():
    assert lif.warm_up_kernels() >= 0.0


def _channels_last_current(t, b, c, h, w) -> torch.Tensor:
    """(T, B, C, H, W) laid out as (T, B, H, W, C): what the fused conv2d forward's layers emit."""
    return _current((t, b, h, w, c)).permute(0, 1, 4, 2, 3)


@pytest.mark.parametrize("shape", [(12, 3, 5, 8, 6), (1, 2, 12, 4, 4), (6, 1, 1, 2, 2)])
def test_neurons_pooling_and_neurons_in_one_pass_give_the_three_apart_bits(shape):
    # The same spikes and the same current gradient, bit for bit, as lif_spikes, nn.AvgPool2d(2)
    # and lif_spikes (the pooled layer's neurons, with constants of their own) one after the other.
    params = LIFParams.of(_leaky(), SLOPE)
    pooled_params = LIFParams.of(snn.Leaky(beta=0.8, threshold=0.3, spike_grad=surrogate.fast_sigmoid(slope=SLOPE)),
                                 SLOPE)
    current = _channels_last_current(*shape)
    assert lif.pools_in_one_pass(current)
    torch.manual_seed(1)
    t, b, c, h, w = shape
    upstream = torch.randn(t, b, c, h // 2, w // 2)
    upstream[0, 0, 0, 0, 0] = -0.0

    def apart(x):
        pooled = torch.nn.functional.avg_pool2d(lif_spikes(x, params).flatten(0, 1), 2).unflatten(0, (t, b))
        return lif_spikes(pooled, pooled_params)

    results = []
    for run in (apart, lambda x: lif.lif_pool_lif_spikes(x, params, pooled_params)):
        x = current.clone().requires_grad_(True)
        spikes = run(x)
        spikes.backward(upstream)
        results.append((spikes.detach(), x.grad))
    (expected, expected_grad), (spikes, grad) = results
    assert expected.sum() > 0 and (expected_grad != 0).any()
    assert torch.equal(spikes.contiguous().view(torch.int32), expected.contiguous().view(torch.int32))
    assert torch.equal(grad.contiguous().view(torch.int32), expected_grad.contiguous().view(torch.int32))


def test_one_pass_pooling_takes_only_the_layout_and_sizes_its_loop_reads():
    assert not lif.pools_in_one_pass(_current((4, 2, 3, 8, 8)))  # contiguous (T, B, C, H, W)
    assert not lif.pools_in_one_pass(_channels_last_current(4, 2, 3, 7, 8))  # odd H
    assert not lif.pools_in_one_pass(_channels_last_current(4, 2, 3, 8, 8).double())
    assert not lif.pools_in_one_pass(_current((4, 2, 8)))  # not a conv layer's current
