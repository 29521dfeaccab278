import pytest
import torch

from snn.model import LAYER_TYPES, NetConfig, build_net, count_parameters

B, T = 3, 6


def _input(cfg: NetConfig) -> torch.Tensor:
    torch.manual_seed(0)
    return (torch.rand(B, cfg.num_steps, *cfg.input_shape) < 0.3).float() * 3


@pytest.mark.parametrize("layer_type", LAYER_TYPES)
def test_output_spikes_have_shape_time_batch_classes(layer_type):
    cfg = NetConfig(layer_type=layer_type, num_steps=T)
    spikes = build_net(cfg)(_input(cfg))
    assert spikes.shape == (T, B, cfg.num_classes)
    assert set(spikes.unique().tolist()) <= {0.0, 1.0}


@pytest.mark.parametrize("layer_type", LAYER_TYPES)
def test_every_preset_has_five_weight_layers(layer_type):
    assert len(build_net(NetConfig(layer_type=layer_type)).weight_layers()) == 5


def test_seed_network_is_eight_layers_each_followed_by_a_leaky_neuron():
    net = build_net(NetConfig())
    kinds = [type(layer).__name__ for layer in net.layers]
    assert kinds == ["Conv2d", "AvgPool2d", "Conv2d", "AvgPool2d", "Conv2d", "AvgPool2d",
                     "Linear", "Linear"]
    assert len(net.neurons) == 8 and net.flatten_at == 6
    assert all(type(n).__name__ == "Leaky" for n in net.neurons)


def test_layer_type_presets_have_comparable_parameter_counts():
    counts = {lt: count_parameters(build_net(NetConfig(layer_type=lt))) for lt in LAYER_TYPES}
    seed = counts["conv2d"]
    assert all(0.75 * seed <= n <= 1.35 * seed for n in counts.values()), counts


@pytest.mark.parametrize("layer_type", LAYER_TYPES)
def test_gradient_reaches_every_weight_layer(layer_type):
    # The init gain exists so that spikes (and surrogate gradients) survive all layers.
    cfg = NetConfig(layer_type=layer_type, num_steps=T)
    net = build_net(cfg)
    net(_input(cfg)).sum().backward()
    for layer in net.weight_layers():
        assert layer.weight.grad is not None and layer.weight.grad.abs().sum() > 0


def test_input_with_the_wrong_number_of_time_bins_is_refused_with_the_fix():
    cfg = NetConfig(num_steps=T)
    with pytest.raises(ValueError, match="n_time_bins=6"):
        build_net(cfg)(torch.zeros(B, T + 1, *cfg.input_shape))


@pytest.mark.parametrize("bad, match", [
    ({"layer_type": "conv3d"}, "unknown layer_type 'conv3d'"),
    ({"surrogate": "relu"}, "unknown surrogate"),
    ({"beta": 1.5}, "beta must lie in"),
    ({"num_steps": 0}, "num_steps must be at least 1"),
    ({"input_shape": (2, 30, 30)}, "divisible by 8"),
    ({"init_gain": 0.0}, "init_gain must be positive"),
    ({"input_gain": -0.1}, "input_gain must be positive"),
])
def test_bad_config_is_refused_by_name(bad, match):
    with pytest.raises(ValueError, match=match):
        NetConfig(**bad)


@pytest.mark.parametrize("layer_type", LAYER_TYPES)
def test_input_gain_scales_the_first_layers_init_only(layer_type):
    torch.manual_seed(0)
    plain = build_net(NetConfig(layer_type=layer_type))
    torch.manual_seed(0)
    gentle = build_net(NetConfig(layer_type=layer_type, input_gain=0.1))
    first, *rest = zip(plain.weight_layers(), gentle.weight_layers())
    torch.testing.assert_close(first[1].weight, first[0].weight * 0.1)
    assert all(torch.equal(a.weight, b.weight) and torch.equal(a.bias, b.bias) for a, b in rest)


LAYERWISE = ("multistep", "fused")  # the forwards that must compute what the notebook loop does


def _twins(layer_type: str, forward: str, num_steps: int = 12):
    torch.manual_seed(0)
    reference = build_net(NetConfig(layer_type=layer_type, num_steps=num_steps))
    other = build_net(NetConfig(layer_type=layer_type, num_steps=num_steps, forward=forward))
    other.load_state_dict(reference.state_dict())
    return reference, other


DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])  # make gpu-check runs the cuda cases


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("forward", LAYERWISE)
@pytest.mark.parametrize("layer_type", LAYER_TYPES)
def test_layerwise_forward_emits_the_same_spikes_as_the_notebook_loop(layer_type, forward, device):
    reference, other = (net.to(device) for net in _twins(layer_type, forward))
    torch.manual_seed(1)
    frames = torch.randint(0, 4, (3, 12, 2, 32, 32)).float() * (torch.rand(3, 12, 2, 32, 32) < 0.2)
    frames = frames.to(device)
    expected = reference(frames)
    assert expected.sum() > 0  # the comparison means something only if neurons fire
    assert torch.equal(other(frames), expected)


def _gradients(net, frames, targets) -> list[torch.Tensor]:
    torch.nn.functional.cross_entropy(net(frames).sum(0), targets).backward()
    return [p.grad for p in net.parameters()]


@pytest.mark.parametrize("forward", LAYERWISE)
@pytest.mark.parametrize("layer_type", LAYER_TYPES)
def test_layerwise_forward_gives_the_same_gradients(layer_type, forward):
    # Close, not equal: one convolution over T·B inputs sums its weight gradient in another
    # order than T convolutions over B. 1e-4 relative is float32 summation noise over ~10⁵
    # terms; a wrong recurrence (a missing β, a reset that passes gradient) is off by far more.
    reference, other = _twins(layer_type, forward)
    frames = torch.randint(0, 4, (3, 12, 2, 32, 32)).float()
    targets = torch.tensor([0, 5, 10])
    expected = _gradients(reference, frames, targets)
    for (name, _), a, b in zip(reference.named_parameters(), expected, _gradients(other, frames, targets)):
        torch.testing.assert_close(b, a, rtol=1e-4, atol=1e-6, msg=name)


@pytest.mark.parametrize("layer_type", ["conv1d", "linear"])
def test_fused_neurons_give_multisteps_gradients_bit_for_bit(layer_type):
    # multistep and fused run the same layers on the same inputs; only the neurons differ.
    # (Not conv2d: there fused runs its convolutions channels-last, which sum their weight
    # gradients in another order; the test above holds it to the reference's tolerance.)
    _, multistep = _twins(layer_type, "multistep")
    _, fused = _twins(layer_type, "fused")
    frames = torch.randint(0, 4, (3, 12, 2, 32, 32)).float()
    targets = torch.tensor([0, 5, 10])
    for a, b in zip(_gradients(multistep, frames, targets), _gradients(fused, frames, targets)):
        assert torch.equal(a, b)


def test_an_unknown_forward_is_refused():
    with pytest.raises(ValueError, match="unknown forward 'compiled': choose one of reference, multistep"):
        NetConfig(forward="compiled")


def test_fused_forward_with_a_surrogate_it_lacks_is_refused_with_the_fix():
    with pytest.raises(ValueError, match="fast_sigmoid surrogate only.*use forward = multistep"):
        NetConfig(forward="fused", surrogate="atan")


@pytest.mark.parametrize("layer_type", LAYER_TYPES)
def test_the_fused_forwards_kept_buffers_change_nothing_over_several_steps(layer_type):
    # The same net trained three steps with its kept buffers and with fresh ones (buffers=None):
    # the same outputs and gradients bit for bit at every step, and an output
    # the caller keeps from step 1 still holds its values after steps 2 and 3.
    nets = _twins(layer_type, "fused")[1], _twins(layer_type, "fused")[1]
    nets[1].buffers = None  # fresh buffers from torch every step, torch's own pooling
    optimisers = [torch.optim.SGD(net.parameters(), lr=0.5) for net in nets]
    torch.manual_seed(2)
    kept_output = None
    for step in range(3):
        frames = torch.randint(0, 4, (3, 12, 2, 32, 32)).float()
        targets = torch.tensor([0, 5, 10])
        outputs = []
        for net, optimiser in zip(nets, optimisers):
            optimiser.zero_grad()
            out = net(frames)
            torch.nn.functional.cross_entropy(out.sum(0), targets).backward()
            outputs.append(out)
        assert torch.equal(outputs[0], outputs[1])
        for a, b in zip(nets[0].parameters(), nets[1].parameters()):
            assert torch.equal(a.grad, b.grad)
        if step == 0:
            kept_output, kept_copy = outputs[0], outputs[0].clone()
        for optimiser in optimisers:
            optimiser.step()
    assert torch.equal(kept_output, kept_copy)
