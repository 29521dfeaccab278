"""Buffers kept from one training step to the next, handed out again once nothing holds them.

A fresh CPU tensor of more than 32 MiB is a fresh mapping from the kernel (glibc serves no block
that large from its heap), and writing it first faults in every page. For the seed net's first
layer (batch 16, T = 60: a 47 MB current) that took 12-14 ms a buffer here, against 1.6 ms to
write the same bytes into a kept buffer, and the fused forward asks for two such buffers a layer
per step (the spikes forward, the current's gradient backward).

`BufferPool.empty_like` returns a kept tensor of the same shape, strides, dtype and device when
no tensor but the pool's own shares its storage (autograd's saved tensors, the caller's views
and the user's kept outputs all count as holders), and a fresh one otherwise. So a buffer is never
written while anything can still read it: at worst the pool allocates as before.
"""

from __future__ import annotations

import torch

# Kept buffers per (shape, strides, dtype, device): one per layer of that shape in flight at once.
KEPT_PER_SHAPE = 4


def _holders(tensor: torch.Tensor) -> int:
    """How many references the tensor's storage has (tensors and views sharing it, plus one for the
    storage object this call makes)."""
    return torch._C._storage_Use_Count(tensor.untyped_storage()._cdata)


class BufferPool:
    """Reusable output buffers for one network's forward and backward (see the module docstring)."""

    def __init__(self) -> None:
        self._kept: dict[tuple, list[tuple[torch.Tensor, int]]] = {}

    def empty_like(self, like: torch.Tensor) -> torch.Tensor:
        """An uninitialised tensor laid out as `like`, whose memory nothing else references."""
        return self.empty_strided(like.shape, like.stride(), like.dtype, like.device)

    def empty_strided(self, shape, stride, dtype: torch.dtype, device: torch.device) -> torch.Tensor:
        """An uninitialised tensor of this shape and layout, whose memory nothing else references."""
        key = (tuple(shape), tuple(stride), dtype, device)
        kept = self._kept.setdefault(key, [])
        for buffer, alone in kept:
            if _holders(buffer) <= alone:
                return buffer.detach()  # a tensor of its own: autograd's marks never touch `buffer`
        buffer = torch.empty_strided(shape, stride, dtype=dtype, device=device)
        if len(kept) < KEPT_PER_SHAPE:
            kept.append((buffer, _holders(buffer)))  # the count with the pool as its only holder
        return buffer.detach()

    # A copy of a network (deepcopy, pickling to another process) starts with no buffers: the kept
    # ones belong to this network's steps and would only cost memory there.
    def __deepcopy__(self, memo) -> "BufferPool":
        return BufferPool()

    def __getstate__(self) -> dict:
        return {"_kept": {}}


def empty_strided(shape, stride, dtype: torch.dtype, device: torch.device,
                  pool: BufferPool | None) -> torch.Tensor:
    """From `pool` when there is one, else a fresh tensor, as torch would allocate it."""
    if pool is None:
        return torch.empty_strided(shape, stride, dtype=dtype, device=device)
    return pool.empty_strided(shape, stride, dtype, device)


def empty_like(like: torch.Tensor, pool: BufferPool | None) -> torch.Tensor:
    """`empty_strided` laid out as `like`."""
    return empty_strided(like.shape, like.stride(), like.dtype, like.device, pool)


def empty_pooled(like: torch.Tensor, pool: BufferPool | None) -> torch.Tensor:
    """`like` (..., C, H, W) with H and W halved, uninitialised and laid out as (..., H/2, W/2, C):
    what the 2×2 pooling kernels write (snn.lif_kernel), as torch's channels-last pooling lays it out."""
    *lead, channels, height, width = like.shape
    row = width // 2 * channels  # one output row, channels innermost
    strides, size = [], height // 2 * row
    for n in reversed(lead):
        strides.insert(0, size)
        size *= n
    return empty_strided((*lead, channels, height // 2, width // 2), (*strides, 1, row, channels),
                         like.dtype, like.device, pool)
