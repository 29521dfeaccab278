"""forward:sparse: each Linear/Conv layer multiplies by its weight as a sparse CSR matrix, so only
the connections DeepR keeps (its dormant weights are zeros) cost anything.

    Linear   out (N, O)          = (W_csr (O, I) @ x.T).T + b
    Conv     cols (C·k·k, N·L)   = unfold(x)           # im2col: every receptive field a column
             out (N, O, H', W')  = W_csr (O, C·k·k) @ cols, reshaped; + b

Backward: the input's gradient is Wᵀ_csr @ grad (sparse too); the weight's gradient is the dense
grad @ inputᵀ, as the dense layer computes it, so the optimiser sees the same gradient for every
weight, dormant ones included (DeepR's bookkeeping and Adam's moments stay those of the dense
path). The same sums in another order: results equal the dense layer's to float rounding, not
bit for bit (tested).

Layers become sparse by class (`sparsify`): the same module, parameters and hooks, only the
forward differs, so the weights, their initialisation and DeepR's masks are the dense layer's.
"""

from __future__ import annotations

import warnings

import torch
import torch.nn.functional as F
from torch import nn


def _csr(matrix: torch.Tensor) -> torch.Tensor:
    """`matrix` as CSR, converted at every call: caching it by the weight's version would miss
    writes through `.data` (which keep the version), and DeepR's updates may make them."""
    with warnings.catch_warnings():  # "Sparse CSR tensor support is in beta state", every call
        warnings.simplefilter("ignore", UserWarning)
        return matrix.detach().to_sparse_csr()


class _SparseMatmul(torch.autograd.Function):
    """weight (O, K) dense with zeros, cols (K, M) → weight @ cols with the weight as CSR."""

    @staticmethod
    def forward(ctx, weight: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(weight, cols)
        return _csr(weight) @ cols

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        weight, cols = ctx.saved_tensors
        grad_weight = grad @ cols.t() if ctx.needs_input_grad[0] else None  # dense: every weight
        grad_cols = _csr(weight.t()) @ grad if ctx.needs_input_grad[1] else None
        return grad_weight, grad_cols


def sparse_linear(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None) -> torch.Tensor:
    out = _SparseMatmul.apply(weight, x.reshape(-1, x.shape[-1]).t()).t()  # (N, O)
    out = out.reshape(*x.shape[:-1], weight.shape[0])
    return out if bias is None else out + bias


def _sparse_conv(x: torch.Tensor, weight: torch.Tensor, bias: torch.Tensor | None, kernel, padding,
                 stride, dilation) -> torch.Tensor:
    """x (N, C, H, W), weight (O, C·kh·kw) → (N, O, H', W') by im2col and a CSR product."""
    n, _, h, w = x.shape
    cols = F.unfold(x, kernel, dilation=dilation, padding=padding, stride=stride)  # (N, C·k·k, L)
    out_h = (h + 2 * padding[0] - dilation[0] * (kernel[0] - 1) - 1) // stride[0] + 1
    out_w = (w + 2 * padding[1] - dilation[1] * (kernel[1] - 1) - 1) // stride[1] + 1
    flat = cols.transpose(0, 1).reshape(cols.shape[1], -1)  # (C·k·k, N·L)
    out = _SparseMatmul.apply(weight, flat).reshape(-1, n, out_h, out_w).transpose(0, 1)
    return out if bias is None else out + bias.view(1, -1, 1, 1)


def _check(layer: nn.Module) -> None:
    if layer.groups != 1 or isinstance(layer.padding, str) or layer.padding_mode != "zeros":
        raise ValueError("forward:sparse supports convolutions with groups = 1 and numeric zero padding")


def sparse_conv2d(x: torch.Tensor, layer: nn.Conv2d) -> torch.Tensor:
    _check(layer)
    return _sparse_conv(x, layer.weight.flatten(1), layer.bias, layer.kernel_size, layer.padding,
                        layer.stride, layer.dilation)


def sparse_conv1d(x: torch.Tensor, layer: nn.Conv1d) -> torch.Tensor:
    """A 1-d convolution as a 2-d one of height 1 (the weight's (O, C·k) flattening is the same)."""
    _check(layer)
    out = _sparse_conv(x.unsqueeze(2), layer.weight.flatten(1), layer.bias, (1, *layer.kernel_size),
                       (0, *layer.padding), (1, *layer.stride), (1, *layer.dilation))
    return out.squeeze(2)


class SparseLinear(nn.Linear):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return sparse_linear(x, self.weight, self.bias)


class SparseConv1d(nn.Conv1d):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return sparse_conv1d(x, self)


class SparseConv2d(nn.Conv2d):
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return sparse_conv2d(x, self)


SPARSE_CLASSES = {nn.Linear: SparseLinear, nn.Conv1d: SparseConv1d, nn.Conv2d: SparseConv2d}


def sparsify(layer: nn.Module) -> nn.Module:
    """The same layer computing with a CSR weight (other layers are returned as they are)."""
    sparse_class = SPARSE_CLASSES.get(type(layer))
    if sparse_class is not None:
        layer.__class__ = sparse_class  # same parameters, buffers and hooks; another forward
    return layer
