"""snn.libraries: each port starts from the seed network's weights, and its neurons compute the
leaky integrate-and-fire its docstring declares (reset at the spike's own step), exactly, on
currents whose arithmetic is exact (β = 0.5, multiples of 1/8)."""

from __future__ import annotations

import pytest
import torch

from bench.config.settings import normalise
from bench.plugins.model import ModelContext, build_model
from bench.plugins.reference import NotApplicable, PluginError
from snn.libraries.network import NeuronParams

PORTS = ["spikingjelly", "norse", "sinabs", "compiled"]
IMPORTS = {"compiled": "torch"}  # the module each port needs
EXACT = NeuronParams(beta=0.5, threshold=1.0, slope=25.0)


def _needs(library: str):
    module = IMPORTS.get(library, library)
    return pytest.importorskip(module, reason=f"{module} is not installed: make setup-libraries")


def _context(model: str, layer_type: str = "conv2d", **options) -> ModelContext:
    return ModelContext(settings=normalise({"model": model, "layer_type": layer_type}), options=options,
                        device=torch.device("cpu"), seed=3, num_steps=4, batch_size=2, forward="reference",
                        sample_shape=(4, 2, 16, 16), num_classes=11)


@pytest.mark.parametrize("library", PORTS)
@pytest.mark.parametrize("layer_type", ["conv2d", "linear"])
def test_every_port_starts_from_the_seed_networks_weights(library, layer_type):
    _needs(library)
    seed = build_model("snn.plugin:seed_network", _context("snn.plugin:seed_network", layer_type)).module
    port = build_model(f"snn.libraries.{library}:network",
                       _context(f"snn.libraries.{library}:network", layer_type)).module
    ours = {k: v for k, v in seed.state_dict().items() if k.startswith("layers.")}
    theirs = {k: v for k, v in port.state_dict().items() if k.startswith("layers.")}
    assert ours.keys() == theirs.keys() and all(torch.equal(ours[k], theirs[k]) for k in ours)
    assert [type(n).__module__.split(".")[0] for n in port.neurons] != ["snntorch"] * len(port.neurons)


def _lif(current: torch.Tensor, fires, reset: str) -> torch.Tensor:
    """The spec: v ← β·v + I; s = fires(v); v ← v − s·θ (subtract) or v·(1 − s) (zero)."""
    v, out = torch.zeros_like(current[0]), []
    for current_t in current:
        v = EXACT.beta * v + current_t
        s = fires(v).float()
        v = v - s * EXACT.threshold if reset == "subtract" else v * (1 - s)
        out.append(s)
    return torch.stack(out)


def _currents() -> torch.Tensor:
    g = torch.Generator().manual_seed(0)
    current = torch.randint(-4, 13, (30, 3, 5), generator=g).float() / 8  # exact in float32
    current[:3, 0, 0] = torch.tensor([0.5, 0.75, 0.0])  # v = 0.5, then exactly θ: a tie
    return current


def _sj(aligned):
    from snn.libraries.spikingjelly import neuron_layer
    return neuron_layer(EXACT, "m", aligned)


def _norse(aligned):
    from snn.libraries.norse import neuron_layer
    return neuron_layer(EXACT, aligned)


def _sinabs(aligned):
    from snn.libraries.sinabs import neuron_layer
    return neuron_layer(EXACT, aligned=True)  # α = β exactly; the default's exp(log β) is not


# (library, layer, aligned, the comparison it declares, its reset)
DECLARED = [("spikingjelly", _sj, False, "ge", "subtract"), ("spikingjelly", _sj, True, "gt", "subtract"),
            ("norse", _norse, False, "gt", "zero"), ("norse", _norse, True, "gt", "subtract"),
            ("sinabs", _sinabs, True, "ge", "subtract")]


@pytest.mark.parametrize("library, layer, aligned, comparison, reset", DECLARED)
def test_each_ports_neurons_compute_the_lif_it_declares(library, layer, aligned, comparison, reset):
    _needs(library)
    current = _currents()
    fires = (lambda v: v >= EXACT.threshold) if comparison == "ge" else (lambda v: v > EXACT.threshold)
    spikes = layer(aligned)(current)
    assert torch.equal(spikes, _lif(current, fires, reset))
    tie = _lif(current[:, :1, :1], lambda v: v >= EXACT.threshold, reset)[1, 0, 0]
    assert spikes[1, 0, 0] == (tie if comparison == "ge" else 0)  # the declared threshold comparison


@pytest.mark.parametrize("mode", ["eager", "compiled"])
def test_the_plain_torch_port_computes_snn_leakys_spikes_and_gradients_exactly(mode):
    from snntorch import surrogate

    from snn.libraries.compiled import TorchLIF

    current = _currents().requires_grad_()
    reference = _leaky(current, spike_grad=surrogate.fast_sigmoid(slope=EXACT.slope))
    weights = torch.arange(reference.numel(), dtype=torch.float32).view_as(reference)  # a loss that sees every spike
    (reference_grad,) = torch.autograd.grad((reference * weights).sum(), current)
    spikes = TorchLIF(EXACT, compiled=mode == "compiled")(current)
    (grad,) = torch.autograd.grad((spikes * weights).sum(), current)
    assert torch.equal(spikes, reference) and torch.equal(grad, reference_grad)


def _leaky(current: torch.Tensor, **options) -> torch.Tensor:
    import snntorch as snn

    leaky, out = snn.Leaky(beta=EXACT.beta, **options), []
    mem = leaky.init_leaky()
    for current_t in current.unbind(0):
        spk, mem = leaky(current_t, mem)
        out.append(spk)
    return torch.stack(out)


def test_the_notebook_neuron_is_not_the_ports_neuron_and_reset_delay_false_is_neither():
    """Why no port can agree with snn.Leaky: it subtracts θ one step late, undecayed. Its
    reset_delay=False is a third neuron: a membrane still above θ after its reset (2.5 → 1.5)
    has the subtraction undone at the next step, where the ports fire (0.75 + 0.5 > θ)."""
    current = _currents()
    immediate = _lif(current, lambda v: v > EXACT.threshold, "subtract")
    assert not torch.equal(_leaky(current), immediate)
    above = torch.tensor([2.5, 0.5, 0.0]).view(3, 1)
    assert _lif(above, lambda v: v > EXACT.threshold, "subtract").flatten().tolist() == [1.0, 1.0, 0.0]
    assert _leaky(above, reset_delay=False).flatten().tolist() == [1.0, 0.0, 0.0]


@pytest.mark.parametrize("library", PORTS)
def test_a_port_refuses_an_unknown_option_and_value(library):
    _needs(library)
    reference = f"snn.libraries.{library}:network"
    with pytest.raises(PluginError, match="hidden is unknown to this model"):
        build_model(reference, _context(reference, hidden=3))
    option, choices = ("mode", "'compiled', 'eager'") if library == "compiled" else ("align", "True, False")
    with pytest.raises(PluginError, match=f"{option} = 'yes' is unknown to this model: choose one of {choices}"):
        build_model(reference, _context(reference, **{option: "yes"}))


def test_a_missing_library_is_skipped_with_the_recorded_reason(monkeypatch, tmp_path):
    import sys

    from snn.libraries import network, status

    monkeypatch.setattr(status, "status_file", lambda: tmp_path / "libraries.json")
    monkeypatch.setitem(sys.modules, "spikingjelly", None)  # import fails as if absent
    with pytest.raises(NotApplicable, match="install it with `make setup-libraries`"):
        network.require("spikingjelly")
    (tmp_path / "libraries.json").write_text('{"spikingjelly": "not installable: needs torch<2"}')
    with pytest.raises(NotApplicable, match="spikingjelly is not installable: needs torch<2"):
        network.require("spikingjelly")
