"""The seed network's layers with another library's neurons: what every port shares.

A port is built by `SeedNet.__init__` itself (so its convolutions and linear layers are drawn
from torch's generator exactly as the seed network's are, in the same order: the same weights at
the same seed) and then has its snn.Leaky modules replaced by the library's neurons. Only the
neurons differ; the layers, pooling, flattening and loss are the seed network's.

Shapes: B batch, T time steps, C classes; currents and spikes are time-major (T, B, ...).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from snn.config import NetConfig
from snn.model import SeedNet

LOOPS = ("layerwise", "stepwise")


class PortedNet(SeedNet):
    """SeedNet with each layer's neurons made by `make_neuron(i)`.

    loop "layerwise": each layer runs once on all T·B inputs and the neuron module maps the
    layer's current (T, B, ...) to spikes (T, B, ...) (a library's multi-step mode);
    loop "stepwise": time steps outside, layers inside, as the notebook loops, and the neuron
    module maps one step's current (B, ...) to its spikes, keeping its own state (single-step
    mode; `reset` clears it before each batch)."""

    def __init__(self, cfg: NetConfig, make_neuron: Callable[[int], nn.Module], loop: str):
        if loop not in LOOPS:
            raise ValueError(f"unknown loop {loop!r}: choose one of {', '.join(LOOPS)}")
        super().__init__(cfg)  # draws the layers' weights as the seed network does
        self.neurons = nn.ModuleList(make_neuron(i) for i in range(len(self.layers)))
        self.loop = loop

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, T, P, H, W) frames → output spikes (T, B, C)."""
        if self.loop == "layerwise":
            return self.forward_layerwise(x, lambda i, current: self.neurons[i](current))
        out = []
        for step in range(x.shape[1]):
            spikes = self.frame_view(x[:, step])
            for i, layer in enumerate(self.layers):
                if i == self.flatten_at:
                    spikes = torch.flatten(spikes, start_dim=1)
                spikes = self.neurons[i](layer(spikes))
            out.append(spikes)
        return torch.stack(out, dim=0)


def require(library: str):
    """The library's module, or NotApplicable saying why it is not there (the reason
    `make setup-libraries` recorded when it could not install it against the pinned torch)."""
    import importlib

    from bench.plugins.reference import NotApplicable
    from snn.libraries.status import missing_reason

    try:
        return importlib.import_module(library)
    except Exception as error:  # ImportError, or a library that breaks on import
        raise NotApplicable(missing_reason(library, error)) from error


def align_option(context, known: tuple[str, ...] = ("align",)) -> bool:
    """Every port's `align` option (false: the library as shipped; true: every option it exposes
    set as snn.Leaky has it), after refusing options the port does not read."""
    context.refuse_unknown_options(known)
    return context.option("align", False, choices=(True, False))


def build_port(context, library: str, make_neuron: Callable[[NeuronParams], nn.Module],
               differences: Callable[[NeuronParams], tuple[str, ...]], *, loop: str = "layerwise",
               reset=None, line_targets=()):
    """The ModelSpec every port returns: SeedNet at the point's preset with `make_neuron`'s
    neurons, the seed network's output layout, rewirable weights and neuron taps (so DeepR and
    the workload counter see the same network), forward:reference only (the library's own loop is
    its forward), and its declared differences from snn.Leaky."""
    from bench.config.settings import SEED_MODEL
    from bench.plugins.model import Agreement, ModelSpec
    from snn.plugin import seed_config

    require(library)
    cfg = seed_config(context, forward="multistep")
    params = NeuronParams.of(cfg)
    net = PortedNet(cfg, lambda _: make_neuron(params), loop=loop)
    return ModelSpec(module=net, layout="TBC", reset=reset, rewirable=[layer.weight for layer in net.weight_layers()],
                     neurons=net.workload_taps(), forwards=("reference",),
                     agrees_with=Agreement(SEED_MODEL, {}, differences(params)),  # snnTorch as the notebook runs it
                     line_targets=("snn.libraries.network:PortedNet.forward", *line_targets))


@dataclass(frozen=True)
class NeuronParams:
    """The seed neuron's constants, which every port maps onto its library's."""

    beta: float  # decay per step
    threshold: float
    slope: float  # k of the fast-sigmoid surrogate, 1 / (k·|v − θ| + 1)²

    @classmethod
    def of(cls, cfg: NetConfig) -> "NeuronParams":
        return cls(beta=cfg.beta, threshold=1.0, slope=cfg.surrogate_scale)  # snn.Leaky's default threshold


# What no port can align: every other library resets at the spike's own step. (snn.Leaky's
# reset_delay=False is not that either: a membrane still above θ after its reset has the
# subtraction undone at the next step.)
RESET_ORDER = ("reset: the threshold is subtracted at the spike's own step, so the subtraction decays with the "
               "membrane; snn.Leaky subtracts it one step later, undecayed (no library exposes snn.Leaky's order)")
