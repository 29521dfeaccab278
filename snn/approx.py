"""Approximate variants: faster arithmetic that does not compute the reference's numbers, so they
are judged by accuracy (time-to-accuracy in a study), never by equality.

    bf16        the forward runs under torch.autocast(bfloat16): convolutions and linear layers
                multiply in bfloat16 (8 bits of mantissa), only where the hardware has it (a CPU
                with AVX-512 BF16 or AMX, a CUDA device that supports it; elsewhere it would be
                emulated, slower than float32). The seed network's neurons still integrate in
                float32: snn.model casts each current back before the LIF scan.
    sparseprop  each Linear layer whose sparse kernel (sparseprop, IST-DASLab; CPU, float32)
                measures faster than the dense product, forward and backward on the layer's first
                real input, runs on it; the others stay dense (the library's own rule).

sparseprop's modules keep the weight in their own sparse format, but DeepR changes the active set
at every step, so `SparsepropLinear` keeps the dense weight and each call gathers its nonzeros
(row-major: CSR order). The gather's backward scatters their gradients into a dense gradient that
is zero for every dormant weight, where the dense layer gives dormant weights their full gradient:
exact DeepR updates active weights only, so this changes optimiser moments of dormant weights, not
their values. An active weight that is exactly 0 counts as dormant here.
"""

from __future__ import annotations

import statistics
import time

import torch
import torch.nn.functional as F
from torch import nn

from snn.errors import UserError
from snn.names import APPROXIMATIONS

__all__ = ["APPROXIMATIONS", "ApproximationUnavailable", "SparsepropLinear", "autocast_dtype",
           "check_approximation", "sparseprop_choices", "use_sparseprop"]

# Interleaved fwd+bwd calls of each kernel when a layer chooses: a few, on its real input shape.
_CHOICE_REPEATS = 5


class ApproximationUnavailable(UserError):
    """An approximate variant this machine cannot run as intended."""


def bf16_unavailable(device: torch.device) -> str | None:
    """Why bfloat16 autocast would not run natively on `device`; None when it would."""
    if device.type == "cuda":
        return None if torch.cuda.is_bf16_supported() else "this CUDA device does not support bfloat16"
    if device.type == "cpu":
        # private probes, so read defensively: a torch without them counts as no support
        probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
        if any(getattr(torch.cpu, probe, lambda: False)() for probe in probes):
            return None
        return "this CPU has neither AVX-512 BF16 nor AMX, so bfloat16 would be emulated, slower than float32"
    return f"bf16 autocast is not set up for {device.type} devices"


def _import_sparseprop():
    try:
        from sparseprop.modules.functions import SparseLinearFunction
    except ImportError as error:
        from snn.libraries.status import missing_reason
        raise ApproximationUnavailable(missing_reason("sparseprop", error)) from error
    return SparseLinearFunction


def check_approximation(name: str, device: torch.device) -> None:
    """ApproximationUnavailable, naming the problem and the fix, when `name` cannot run on `device`."""
    if name == "bf16" and (reason := bf16_unavailable(device)) is not None:
        raise ApproximationUnavailable(f"approx:bf16 needs native bfloat16 arithmetic: {reason}. "
                                       "Drop approx:bf16 from the variant on this machine")
    if name == "sparseprop":
        if device.type != "cpu":
            raise ApproximationUnavailable(f"approx:sparseprop's kernels run on the CPU only, not on {device}: "
                                           "use device = cpu for it, or drop it from the variant")
        _import_sparseprop()


def autocast_dtype(name: str) -> torch.dtype | None:
    """The dtype a training step's forward autocasts to under approximation `name`; None: no autocast."""
    return torch.bfloat16 if name == "bf16" else None


def sparseprop_linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    """x (..., I) @ weight (O, I)ᵀ + bias with the weight's nonzeros only (sparseprop's kernel)."""
    kernel = _import_sparseprop()
    out_features, in_features = weight.shape
    nonzero = weight.detach().flatten().nonzero().squeeze(1)  # row-major: CSR order
    rows = torch.div(nonzero, in_features, rounding_mode="floor")
    row_starts = torch.zeros(out_features + 1, dtype=torch.int32)
    row_starts[1:] = torch.bincount(rows, minlength=out_features).cumsum(0)
    columns = (nonzero - rows * in_features).int()
    values = weight.flatten()[nonzero]  # a gather: its backward is the dense, dormant-zero gradient
    return kernel.apply(x.contiguous(), values, (row_starts, columns), bias, out_features)


def _seconds(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def _sparse_is_faster(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> bool:
    """Forward and backward of each kernel on copies (the real weight's gradient is untouched),
    interleaved after one warm-up call each: whether the sparse one's median is the smaller. The
    input needs a gradient only where the real one does: the dense layer then skips grad_input
    (a first layer's), which sparseprop's backward always computes."""
    x = x.detach().requires_grad_(x.requires_grad)
    weight, bias = weight.detach().requires_grad_(), None if bias is None else bias.detach().requires_grad_()

    def dense():
        F.linear(x, weight, bias).sum().backward()

    def sparse():
        sparseprop_linear(x, weight, bias).sum().backward()

    with torch.enable_grad():
        dense(), sparse()
        timed = {dense: [], sparse: []}
        for _ in range(_CHOICE_REPEATS):
            for call in timed:
                timed[call].append(_seconds(call))
    return statistics.median(timed[sparse]) < statistics.median(timed[dense])


class SparsepropLinear(nn.Linear):
    """An nn.Linear (same parameters, hooks and init) that, on its first call, times sparseprop's
    kernel against the dense product on that input and from then on uses the faster one."""

    sparse: bool | None = None  # None until the first call has chosen

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.device.type != "cpu" or x.dtype != torch.float32:
            raise ApproximationUnavailable(f"approx:sparseprop's kernel takes float32 CPU input, got "
                                           f"{x.dtype} on {x.device}: run it on the CPU, without bf16")
        if self.sparse is None:
            self.sparse = _sparse_is_faster(x, self.weight, self.bias)
        if self.sparse:
            return sparseprop_linear(x, self.weight, self.bias)
        return F.linear(x, self.weight, self.bias)


def use_sparseprop(modules: list[nn.Module]) -> int:
    """Every nn.Linear among `modules` becomes a SparsepropLinear (its class only: the same module,
    parameters and hooks); how many did."""
    _import_sparseprop()
    linear = [m for m in modules if type(m) is nn.Linear]
    for module in linear:
        module.__class__ = SparsepropLinear
    return len(linear)


def sparseprop_choices(module: nn.Module) -> dict[str, bool | None]:
    """Each SparsepropLinear in `module` by name: True where the sparse kernel won, None before
    its first call."""
    return {name: m.sparse for name, m in module.named_modules() if isinstance(m, SparsepropLinear)}
