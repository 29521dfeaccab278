"""snn.Leaky's recurrence over all T time steps as one autograd Function: the fused forward.

The multistep forward still steps the neurons through time op by op: per step, `snn.Leaky`
runs about ten tensor ops (reset, decay, input, threshold, surrogate, copies) and autograd keeps
a node for each; backward replays them. `lif_spikes` takes a layer's whole current (T, B, ...)
and returns its spikes in one call, with a hand-written backward over all T.

Two implementations of the same arithmetic, picked per call:
- float32 CPU tensors: compiled loops (`snn.lif_kernel`, numba), parallel over neurons on as
  many threads as torch's intra-op pool;
- everything else (CUDA, half precision, no numba): the same recurrence as torch ops, one step
  at a time, with no autograd graph (untested on CUDA: no GPU has been available).
Both compute, op for op, what `snn.Leaky` (reset by subtraction, delayed) and the fast-sigmoid
surrogate compute, so spikes and gradients match the reference bit for bit on the CPU.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
import torch

from snn.buffers import BufferPool, empty_like, empty_pooled


@dataclass(frozen=True)
class LIFParams:
    """The constants of one layer's neurons, read once from its `snn.Leaky`."""

    beta: float  # the decay, clamped to [0, 1] as snn.Leaky clamps it; a float32 value
    threshold: float  # a float32 value
    slope: float  # k of the fast-sigmoid surrogate, 1 / (k·|mem − thr| + 1)²

    @classmethod
    def of(cls, neuron, slope: float) -> "LIFParams":
        """Reads a `snn.Leaky`; refuses one whose behaviour the fused recurrence lacks."""
        unsupported = {
            "reset_mechanism": neuron.reset_mechanism != "subtract",
            "reset_delay=False": not neuron.reset_delay,
            "learn_beta / learn_threshold": neuron.beta.requires_grad or neuron.threshold.requires_grad,
            "graded_spikes_factor != 1": float(neuron.graded_spikes_factor) != 1.0,
            "inhibition": bool(neuron.inhibition),
            "state_quant": bool(neuron.state_quant),
        }
        named = [name for name, bad in unsupported.items() if bad]
        if named:
            raise ValueError(f"the fused forward implements snn.Leaky with reset by subtraction, "
                             f"delayed, and fixed constants only; this neuron uses {', '.join(named)}: "
                             "use forward = multistep for it")
        return cls(beta=float(neuron.beta.detach().clamp(0, 1)),
                   threshold=float(neuron.threshold.detach()), slope=float(slope))


def lif_spikes(current: torch.Tensor, params: LIFParams, buffers: BufferPool | None = None) -> torch.Tensor:
    """current (T, B, ...) → spikes (T, B, ...): one layer of neurons over every time step.
    With `buffers`, the spikes and the current's gradient are written into buffers kept from
    earlier steps where nothing holds them (snn.buffers): the same values, no fresh pages."""
    return _LIFScan.apply(current, params, buffers)


def lif_pool_lif_spikes(current: torch.Tensor, params: LIFParams, pooled_params: LIFParams,
                        buffers: BufferPool | None = None) -> torch.Tensor:
    """current (T, B, C, H, W) → (T, B, C, H/2, W/2): one layer's spikes through every time step,
    2×2 average pooling, then the pooled layer's own neurons (`pooled_params`), in one pass that
    writes only their spikes (snn.lif_kernel). The same bits as `lif_spikes`, `nn.AvgPool2d(2)`
    and `lif_spikes` apart; only for a current that `pools_in_one_pass` accepts."""
    return _LIFPoolLIFScan.apply(current, params, pooled_params, buffers)


def pools_in_one_pass(current: torch.Tensor) -> bool:
    """Whether `lif_pool_lif_spikes` takes this current: float32 on the CPU, (T, B, C, H, W) with
    channels-last samples laid out one after the other, even H and W."""
    if current.dim() != 5 or current.shape[-1] % 2 or current.shape[-2] % 2:
        return False
    return compiled_path_for(current) and current.permute(0, 1, 3, 4, 2).is_contiguous()


def compiled_path_for(tensor: torch.Tensor) -> bool:
    """Whether the compiled kernels run this tensor (float32 on the CPU, numba importable)."""
    if tensor.device.type != "cpu" or tensor.dtype != torch.float32:
        return False
    try:
        import snn.lif_kernel  # noqa: F401  (imports numba: about 0.3 s, once)
    except ImportError:  # pragma: no cover - numba is a dependency; kept for builds that lack it
        return False
    return True


def warm_up_kernels() -> float:
    """Compiles the kernels, or loads them from numba's disk cache; returns the seconds it took.
    Run before timing so that no measured step pays for it."""
    start = time.perf_counter()
    current = torch.ones(2, 3, requires_grad=True)
    if compiled_path_for(current):
        lif_spikes(current, LIFParams(beta=0.5, threshold=1.0, slope=25.0)).sum().backward()
    return time.perf_counter() - start


def _memory_order(x: torch.Tensor) -> list[int] | None:
    """The dims of x from outermost to innermost in memory, when x is dense with dim 0
    outermost (contiguous, or channels-last per sample); None otherwise. Each neuron's
    recurrence is independent, so the kernels can walk x's memory as (T, N) in any such
    layout: a channels-last current needs no copy."""
    order = sorted(range(x.dim()), key=lambda d: (-x.stride(d), d))
    if order[0] != 0 and x.shape[0] > 1:
        return None
    return order if x.permute(order).is_contiguous() else None


def _rows(x: torch.Tensor, order: list[int]) -> torch.Tensor:
    """x (T, ...) as the (T, N) view of its memory in `order`, copying only when x is laid out
    otherwise (a gradient can arrive in any layout)."""
    return x.permute(order).contiguous().view(x.shape[0], -1)


class _LIFScan(torch.autograd.Function):
    @staticmethod
    def forward(ctx, current: torch.Tensor, params: LIFParams, buffers: BufferPool | None) -> torch.Tensor:
        current = current.detach()
        order = _memory_order(current)
        if order is None:  # neither contiguous nor channels-last: one copy, then the fast path
            current, order = current.contiguous(), list(range(current.dim()))
        flat = _rows(current, order)  # (T, N), the current's own memory
        spikes = empty_like(current, buffers)  # the current's layout
        if compiled_path_for(flat):
            _forward_compiled(flat, params, _rows(spikes, order))
        else:
            _rows(spikes, order).copy_(_membranes_torch(flat, params) > 0)
        # The current, not the membranes: backward recomputes them (snn.lif_kernel says why).
        ctx.save_for_backward(current)
        ctx.params, ctx.order, ctx.buffers = params, order, buffers
        return spikes

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_spikes: torch.Tensor):
        (current,) = ctx.saved_tensors
        flat, flat_grad = _rows(current, ctx.order), _rows(grad_spikes, ctx.order)  # (T, N)
        grad = empty_like(current, ctx.buffers)
        if compiled_path_for(flat):
            _backward_compiled(flat, flat_grad, ctx.params, _rows(grad, ctx.order))
        else:
            _rows(grad, ctx.order).copy_(_backward_torch(flat, flat_grad, ctx.params))
        return grad, None, None


class _LIFPoolLIFScan(torch.autograd.Function):
    @staticmethod
    def forward(ctx, current: torch.Tensor, params: LIFParams, pooled_params: LIFParams,
                buffers: BufferPool | None) -> torch.Tensor:
        from snn.lif_kernel import lif_pool_lif_forward

        current = current.detach()
        width, channels = current.shape[-1], current.shape[-3]
        spikes = empty_pooled(current, buffers)
        use_torch_threads()
        lif_pool_lif_forward(_nhwc_rows(current), np.float32(params.beta), np.float32(params.threshold),
                             np.float32(pooled_params.beta), np.float32(pooled_params.threshold),
                             _nhwc_rows(spikes), width, channels)
        ctx.save_for_backward(current)
        ctx.params, ctx.buffers = (params, pooled_params), buffers
        return spikes

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_spikes: torch.Tensor):
        from snn.lif_kernel import lif_pool_lif_backward

        (current,) = ctx.saved_tensors
        (p, q), width, channels = ctx.params, current.shape[-1], current.shape[-3]
        grad = empty_like(current, ctx.buffers)
        use_torch_threads()
        lif_pool_lif_backward(_nhwc_rows(current), _nhwc_rows(grad_spikes), np.float32(p.beta),
                              np.float32(p.threshold), np.float32(p.slope), np.float32(q.beta),
                              np.float32(q.threshold), np.float32(q.slope), _nhwc_rows(grad), width, channels)
        return grad, None, None, None


def _nhwc_rows(x: torch.Tensor) -> np.ndarray:
    """(T, B, C, H, W) → the (T, B·H·W·C) numpy view of its channels-last memory (a gradient
    that arrives in another layout is copied into it first)."""
    return x.permute(0, 1, 3, 4, 2).contiguous().view(x.shape[0], -1).numpy()


def use_torch_threads() -> None:
    """numba's kernels on as many threads as torch's pool (snn.threads: numba's layer started
    first, so starting it does not reset torch's count)."""
    import numba

    from snn.threads import wanted

    numba.set_num_threads(wanted(torch.get_num_threads())["numba_threads"])


def _forward_compiled(current: torch.Tensor, p: LIFParams, spikes: torch.Tensor) -> None:
    from snn.lif_kernel import lif_forward

    use_torch_threads()
    lif_forward(current.numpy(), np.float32(p.beta), np.float32(p.threshold), spikes.numpy())


def _backward_compiled(current: torch.Tensor, grad_spikes: torch.Tensor, p: LIFParams,
                       grad: torch.Tensor) -> None:
    from snn.lif_kernel import lif_backward

    use_torch_threads()
    lif_backward(current.numpy(), grad_spikes.numpy(), np.float32(p.beta), np.float32(p.threshold),
                 np.float32(p.slope), grad.numpy())


def _constants(p: LIFParams, like: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    # 0-d float32 tensors, as snn.Leaky holds beta and the threshold: the same type promotion.
    return (torch.tensor(p.beta, dtype=torch.float32, device=like.device),
            torch.tensor(p.threshold, dtype=torch.float32, device=like.device))


def _membranes_torch(current: torch.Tensor, p: LIFParams) -> torch.Tensor:
    """mem − thr at every step (T, N): the kernels' recurrence as torch ops, in snn.Leaky's order."""
    beta, threshold = _constants(p, current)
    shifted = torch.empty_like(current)
    mem = torch.zeros_like(current[0])
    for t in range(current.shape[0]):
        reset = (mem - threshold > 0).to(current.dtype)
        mem = (beta * mem + current[t]) - reset * threshold
        torch.sub(mem, threshold, out=shifted[t])
    return shifted


def _backward_torch(current: torch.Tensor, grad_spikes: torch.Tensor, p: LIFParams) -> torch.Tensor:
    beta, _ = _constants(p, grad_spikes)
    shifted = _membranes_torch(current, p)
    grad = torch.empty_like(grad_spikes)
    carried = None
    for t in range(grad_spikes.shape[0] - 1, -1, -1):
        g = grad_spikes[t] / (p.slope * torch.abs(shifted[t]) + 1.0) ** 2
        if carried is not None:  # the last step's membrane feeds nothing
            g = g + beta * carried
        grad[t] = g
        carried = g
    return grad
