"""2×2 average pooling into buffers kept from step to step, its backward without a zero fill.

torch's `avg_pool2d` backward allocates the input's gradient, zero-fills it (`fill_`) and then
adds each output gradient / 4 into its window. For the fused forward's first pooling (batch 16,
T = 60: 47 MB) the fill is where the fresh pages fault in, every step. With windows that tile the
input exactly (kernel 2, stride 2, no padding, even H and W), every input element receives exactly
one term, 0 + g / 4 = g / 4, so writing g / 4 into each window's four places gives the same
bits without the fill, into a buffer kept from step to step (snn.buffers).

On float32 channels-last CPU tensors (the fused conv2d forward's layout) both directions run as
compiled loops (`snn.lif_kernel`); elsewhere the forward is torch's own `avg_pool2d` and the
backward the same write as torch ops (untested on CUDA: no GPU has been available). Same bits.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from snn.buffers import BufferPool, empty_pooled
from snn.lif import compiled_path_for, use_torch_threads


def tiles_exactly(layer: nn.Module, x: torch.Tensor) -> bool:
    """Whether `layer` is a 2×2, stride-2, unpadded AvgPool2d over even H and W (what
    `avg_pool_2x2` computes); anything else runs as the layer itself."""
    return (isinstance(layer, nn.AvgPool2d) and x.dim() == 4 and x.shape[-1] % 2 == 0
            and x.shape[-2] % 2 == 0 and _pair(layer.kernel_size) == (2, 2)
            and _pair(layer.stride) == (2, 2) and _pair(layer.padding) == (0, 0)
            and not layer.ceil_mode and layer.divisor_override is None)


def avg_pool_2x2(x: torch.Tensor, buffers: BufferPool) -> torch.Tensor:
    """(N, C, H, W) → (N, C, H/2, W/2), as nn.AvgPool2d(2); the backward writes into `buffers`."""
    return _AvgPool2x2.apply(x, buffers)


def _pair(value) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def _compiled_path_for(x: torch.Tensor) -> bool:
    """The compiled loops take float32 CPU tensors (snn.lif's test) laid out channels-last."""
    return compiled_path_for(x) and x.is_contiguous(memory_format=torch.channels_last)


def _nhwc(x: torch.Tensor):
    """The (N, H, W, C) numpy view of a channels-last tensor's memory."""
    return x.permute(0, 2, 3, 1).numpy()


class _AvgPool2x2(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x: torch.Tensor, buffers: BufferPool) -> torch.Tensor:
        # the input's shape and layout, not the input: pooling's backward never reads it
        ctx.layout = (x.shape, x.stride(), x.dtype, x.device)
        ctx.buffers = buffers
        if not _compiled_path_for(x):
            return F.avg_pool2d(x, 2)
        from snn.lif_kernel import avg_pool_forward

        out = empty_pooled(x, buffers)
        use_torch_threads()
        avg_pool_forward(_nhwc(x.detach()), _nhwc(out))
        return out

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad_out: torch.Tensor):
        grad = ctx.buffers.empty_strided(*ctx.layout)
        if _compiled_path_for(grad):
            from snn.lif_kernel import avg_pool_backward

            use_torch_threads()
            avg_pool_backward(_nhwc(grad_out.contiguous(memory_format=torch.channels_last)), _nhwc(grad))
            return grad, None
        h, w = grad.shape[-2:]
        # (N, C, H/2, 2, W/2, 2): each window's four places, in the input's own layout;
        # + 0 as torch's backward adds into zeros (−0 becomes +0)
        windows = grad.unflatten(3, (w // 2, 2)).unflatten(2, (h // 2, 2))
        windows.copy_(torch.div(grad_out, 4).add_(0.0)[:, :, :, None, :, None].expand_as(windows))
        return grad, None
