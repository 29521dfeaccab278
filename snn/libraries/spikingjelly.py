"""The seed network with SpikingJelly's LIFNode (spikingjelly.activation_based.neuron).

    model = "snn.libraries.spikingjelly:network"
    model_options = {step_mode = "m", align = false}

step_mode "m" (multi-step): each layer's neurons take all T steps in one call; with a built-in
surrogate SpikingJelly runs its `sj_lif` op, a loop over T with a hand-written backward (on CUDA,
its CUDA or Triton kernel, chosen by the library). "s" (single-step, SpikingJelly's default): the
notebook's loop, one step of every layer at a time.
align false: SpikingJelly's surrogate nearest the seed's, SoftSign(α=k), and its default
detach_reset=False. true: the options SpikingJelly exposes set as snn.Leaky has them: snnTorch's
fast-sigmoid function itself as the surrogate (SpikingJelly accepts any callable and then runs its
autograd reference path; the comparison becomes snnTorch's v > θ) and detach_reset=True.
"""

from __future__ import annotations

from torch import nn

from snn.libraries.network import RESET_ORDER, NeuronParams, align_option, build_port, require


def neuron_layer(p: NeuronParams, step_mode: str = "m", aligned: bool = False) -> nn.Module:
    """One layer of LIFNode neurons: (T, B, ...) → (T, B, ...) in "m", (B, ...) per call in "s"."""
    require("spikingjelly")
    from snntorch import surrogate as snntorch_surrogate
    from spikingjelly.activation_based import neuron, surrogate

    spike_fn = snntorch_surrogate.fast_sigmoid(slope=p.slope) if aligned else surrogate.SoftSign(alpha=p.slope)
    # v ← v − v/τ + x (decay_input=False) is v ← β·v + x at τ = 1/(1 − β); v_reset=None: soft reset
    return neuron.LIFNode(tau=1.0 / (1.0 - p.beta), decay_input=False, v_threshold=p.threshold, v_reset=None,
                          surrogate_function=spike_fn, detach_reset=aligned, step_mode=step_mode)


def differences(p: NeuronParams, aligned: bool) -> tuple[str, ...]:
    found = [RESET_ORDER, "decay: v − v/τ at τ = 1/(1−β), equal to β·v in exact arithmetic, rounded differently"]
    if not aligned:
        found += ["threshold: fires at v ≥ θ (snn.Leaky: v > θ)",
                  f"surrogate: SoftSign(α={p.slope:g}) has the fast sigmoid's shape at α/2 = "
                  f"{p.slope / 2:g}x its height",
                  "gradient flows through the reset (detach_reset=False); snn.Leaky detaches its reset"]
    return tuple(found)


def network(context):
    aligned = align_option(context, ("step_mode", "align"))
    step_mode = context.option("step_mode", "m", choices=("m", "s"))
    require("spikingjelly")
    from spikingjelly.activation_based import functional

    return build_port(context, "spikingjelly", lambda p: neuron_layer(p, step_mode, aligned),
                      lambda p: differences(p, aligned), loop="layerwise" if step_mode == "m" else "stepwise",
                      reset=functional.reset_net,
                      line_targets=("spikingjelly._ops.lif.cpu:_forward_impl",
                                    "spikingjelly._ops.lif.cpu:_backward_impl"))
