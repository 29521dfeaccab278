"""The seed network with Sinabs's LIF layer (sinabs.layers.LIF), which loops over time itself.

    model = "snn.libraries.sinabs:network"
    model_options = {align = false}

The port uses SingleSpike (one spike per step at most, as snn.Leaky fires) and MembraneSubtract;
Sinabs's own default spike function, MultiSpike, fires ⌊v/θ⌋ spikes a step: another neuron.
Input is not normalised (norm_input=False): v ← α·v + I. align false: α = exp(−1/τ) at
τ = −1/ln β, and Sinabs's default surrogate (SingleExponential). true: α set to β itself (its
train_alphas form, frozen) and the seed's fast-sigmoid surrogate (Sinabs takes any callable).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from snn.libraries.network import RESET_ORDER, NeuronParams, align_option, build_port, require


class FastSigmoid:
    """The seed's surrogate as Sinabs calls one: (v, θ) → 1 / (k·|v − θ| + 1)²."""

    def __init__(self, slope: float):
        self.slope = slope

    def __call__(self, v_mem: torch.Tensor, spike_threshold) -> torch.Tensor:
        return 1.0 / (self.slope * (v_mem - spike_threshold).abs() + 1.0) ** 2


class SinabsLayer(nn.Module):
    """Sinabs reads (B, T, ...); the seed network's currents are time-major (T, B, ...)."""

    def __init__(self, lif: nn.Module):
        super().__init__()
        self.lif = lif

    def forward(self, current: torch.Tensor) -> torch.Tensor:
        return self.lif(current.transpose(0, 1)).transpose(0, 1)

    def reset(self) -> None:
        self.lif.reset_states()  # its state persists across calls


def neuron_layer(p: NeuronParams, aligned: bool = False) -> SinabsLayer:
    require("sinabs")
    from sinabs.activation import MembraneSubtract, SingleExponential, SingleSpike
    from sinabs.layers import LIF

    lif = LIF(tau_mem=-1.0 / math.log(p.beta), spike_threshold=torch.tensor(p.threshold), spike_fn=SingleSpike,
              reset_fn=MembraneSubtract(), norm_input=False, train_alphas=aligned,
              surrogate_grad_fn=FastSigmoid(p.slope) if aligned else SingleExponential())
    if aligned:  # β itself, fixed, as snn.Leaky holds it
        lif.alpha_mem = nn.Parameter(torch.tensor(p.beta), requires_grad=False)
    return SinabsLayer(lif)


def differences(p: NeuronParams, aligned: bool) -> tuple[str, ...]:
    found = [RESET_ORDER, "threshold: fires at v ≥ θ (snn.Leaky: v > θ)",
             "gradient flows through the reset; snn.Leaky detaches its reset"]
    if not aligned:
        found += ["decay: α = exp(−1/τ) at τ = −1/ln β: β rounded through log and exp",
                  "surrogate: SingleExponential, not the fast sigmoid"]
    return tuple(found)


def network(context):
    aligned = align_option(context)
    return build_port(context, "sinabs", lambda p: neuron_layer(p, aligned), lambda p: differences(p, aligned),
                      reset=lambda module: [layer.reset() for layer in module.neurons],
                      line_targets=("snn.libraries.sinabs:SinabsLayer.forward",
                                    "sinabs.layers.functional.lif:lif_forward_single"))
