"""The seed network with Norse's LIFBoxCell (a leaky integrate-and-fire neuron without synaptic
current), stepped through time: Norse has no multi-step module for it.

    model = "snn.libraries.norse:network"
    model_options = {align = false}

Norse integrates dv = dt·τ⁻¹·(I − v); with dt·τ⁻¹ = 1 − β and the current scaled by 1/(1 − β)
that is v ← β·v + I, the seed's decay. align false: Norse's default reset, to v_reset = 0;
true: its reset_subtract, snn.Leaky's mechanism (Norse exposes no surrogate slope to align:
its SuperSpike backward does not read alpha).
"""

from __future__ import annotations

import torch
from torch import nn

from snn.libraries.network import RESET_ORDER, NeuronParams, align_option, build_port, require

DT = 1e-3  # Norse's default integration step


class LIFBoxLayer(nn.Module):
    """One layer of Norse LIFBoxCell neurons over all T steps: current (T, B, ...) → spikes."""

    def __init__(self, cell: nn.Module, input_scale: float):
        super().__init__()
        self.cell, self.input_scale = cell, input_scale

    def forward(self, current: torch.Tensor) -> torch.Tensor:
        state, out = None, []
        for current_t in (current * self.input_scale).unbind(0):
            spikes, state = self.cell(current_t, state)
            out.append(spikes)
        return torch.stack(out, dim=0)


def neuron_layer(p: NeuronParams, aligned: bool = False) -> nn.Module:
    require("norse")
    from norse.torch import LIFBoxCell, LIFBoxParameters
    from norse.torch.functional.reset import reset_subtract, reset_value

    rate = 1.0 - p.beta  # dt·τ⁻¹
    params = LIFBoxParameters(tau_mem_inv=torch.as_tensor(rate / DT), v_leak=torch.as_tensor(0.0),
                              v_th=torch.as_tensor(p.threshold), v_reset=torch.as_tensor(0.0), method="super",
                              alpha=torch.as_tensor(p.slope), reset_method=reset_subtract if aligned else reset_value)
    return LIFBoxLayer(LIFBoxCell(params, dt=DT), 1.0 / rate)


def differences(p: NeuronParams, aligned: bool) -> tuple[str, ...]:
    reset = RESET_ORDER if aligned else ("reset: to v_reset = 0 at the spike's own step; snn.Leaky subtracts "
                                         "the threshold one step later")
    return (reset, "decay: v + dt·τ⁻¹·(I/(1−β) − v), equal to β·v + I in exact arithmetic, rounded differently",
            f"surrogate: SuperSpike, 1/(|x|+1)²: norse 1.1.0's backward does not read alpha, so the slope is 1, "
            f"not {p.slope:g}",
            "gradient flows through the reset; snn.Leaky detaches its reset")


def network(context):
    aligned = align_option(context)
    return build_port(context, "norse", lambda p: neuron_layer(p, aligned), lambda p: differences(p, aligned),
                      line_targets=("snn.libraries.norse:LIFBoxLayer.forward",
                                    "norse.torch.functional.lif_box:lif_box_feed_forward_step"))
