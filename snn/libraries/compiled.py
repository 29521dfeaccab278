"""The seed network with its neurons written in plain torch and compiled by torch.compile: what
PyTorch's own compiler makes of snn.Leaky's recurrence, beside our hand-written fused kernel.

    model = "snn.libraries.compiled:network"
    model_options = {mode = "compiled"}

The recurrence is snn.Leaky's, op for op: reset from the previous membrane (v > θ), then
v ← β·v + I − reset·θ, spikes v > θ with the fast-sigmoid surrogate 1/(k·|v − θ| + 1)². It claims
snn.Leaky's spikes exactly (it declares no difference), so `snn-bench check` fails it if the
compiler's code rounds otherwise. mode "compiled" (default): one torch.compile'd scan over all T
steps per layer (compiled at the first step of each layer shape: warm-up, never timed);
"eager": the same function uncompiled, to show what compiling buys.
"""

from __future__ import annotations

import torch
from torch import nn

from snn.libraries.network import NeuronParams, build_port


class _Spike(torch.autograd.Function):
    """Heaviside forward; snnTorch's fast-sigmoid derivative backward, written as snnTorch does.
    Not snnTorch's FastSigmoid itself: its backward clones the incoming gradient first, a full
    copy per step that compiled code keeps (see the git history of this file for the run)."""

    @staticmethod
    def forward(ctx, shifted: torch.Tensor, slope: float) -> torch.Tensor:
        ctx.save_for_backward(shifted)
        ctx.slope = slope
        return (shifted > 0).to(shifted.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        (shifted,) = ctx.saved_tensors
        return grad / (ctx.slope * torch.abs(shifted) + 1.0) ** 2, None


def lif_scan(current: torch.Tensor, beta: float, threshold: float, slope: float) -> torch.Tensor:
    """current (T, B, ...) → spikes (T, B, ...), snn.Leaky's delayed subtract reset."""
    mem = torch.zeros_like(current[0])
    out = []
    for current_t in current.unbind(0):
        reset = (mem > threshold).to(mem.dtype)  # from the previous membrane, no gradient (as snn.Leaky detaches it)
        mem = beta * mem + current_t - reset * threshold
        out.append(_Spike.apply(mem - threshold, slope))
    return torch.stack(out)


_compiled_scan = None


def compiled_scan():
    """One compiled scan shared by every layer (torch.compile recompiles per shape, then once
    with dynamic shapes), made on first use so importing this module compiles nothing."""
    global _compiled_scan
    if _compiled_scan is None:
        _compiled_scan = torch.compile(lif_scan)
    return _compiled_scan


class TorchLIF(nn.Module):
    def __init__(self, p: NeuronParams, compiled: bool):
        super().__init__()
        # β and θ as float32 values, as snn.Leaky holds them in float32 buffers
        self.beta, self.threshold = float(torch.tensor(p.beta)), float(torch.tensor(p.threshold))
        self.slope, self.compiled = p.slope, compiled

    def forward(self, current: torch.Tensor) -> torch.Tensor:
        scan = compiled_scan() if self.compiled else lif_scan
        return scan(current, self.beta, self.threshold, self.slope)


def network(context):
    context.refuse_unknown_options(("mode",))
    compiled = context.option("mode", "compiled", choices=("compiled", "eager")) == "compiled"
    return build_port(context, "torch", lambda p: TorchLIF(p, compiled), lambda p: (),
                      line_targets=("snn.libraries.compiled:lif_scan",))
