"""Floors timed beside the fastest pipeline's stages: what each stage's own work costs here alone.

`SynapseFloor` bounds forward and backward: the network's Linear and Conv layers alone.

What an artificial network of the same shapes costs here: the same layers (same weights, memory
layout of their inputs, dtype, device and threads) on inputs of the shapes they received in one training step, with no
neurons, pooling or loss. Each layer runs once on all of its step's rows (T·B of them), the
cheapest way to do its work, whichever forward the point uses. Forward keeps the graph as
training does; backward computes what training's does for these layers: the weight and bias
gradients everywhere, the input gradients of every layer but the first (the frames need none).

Captured from an untimed step (hooks on the layers), then timed beside each measured step of the
same point (bench.measure.point), so the floor and the stage it bounds see the same minutes of
the machine. The inputs are random spikes (10% ones): a dense layer's cost does not depend on
its values, and 0/1 values keep denormals out.

`DataFloor` bounds data_wait: one batch of the loader's own dataset (the frame cache, under
pipeline:fastest) read and collated in this process, with no DataLoader, worker or prefetch.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

SPIKE_DENSITY = 0.1


@dataclass
class SynapseFloor:
    layers: list[nn.Module]
    inputs: list[torch.Tensor]  # one per layer: every row it read in the captured step
    grads: list[torch.Tensor]  # one per layer: a fixed output gradient
    outputs: list[torch.Tensor] | None = None

    @classmethod
    def capture(cls, layers: list[nn.Module], step: Callable[[], object]) -> SynapseFloor | None:
        """Run `step` with the layers' inputs recorded; None when no layer ran (nothing to floor)."""
        shapes: dict[int, list[torch.Size]] = {i: [] for i in range(len(layers))}
        kinds: dict[int, tuple[torch.device, torch.dtype, torch.memory_format]] = {}

        def recorder(i):
            def hook(module, args):
                shapes[i].append(args[0].shape)
                kinds[i] = (args[0].device, args[0].dtype, _memory_format(args[0]))
            return hook

        handles = [layer.register_forward_pre_hook(recorder(i)) for i, layer in enumerate(layers)]
        try:
            step()
        finally:
            for handle in handles:
                handle.remove()
        ran = [i for i in range(len(layers)) if shapes[i]]
        if not ran:
            return None
        inputs, grads = [], []
        with torch.no_grad():
            for n, i in enumerate(ran):
                rows = sum(shape[0] for shape in shapes[i])  # T calls of B rows, or one of T·B
                device, dtype, layout = kinds[i]
                x = torch.rand((rows, *shapes[i][0][1:]), device=device) < SPIKE_DENSITY
                inputs.append(x.to(dtype).contiguous(memory_format=layout).requires_grad_(n > 0))
                grads.append(torch.randn_like(layers[i](inputs[-1].detach())))
        return cls(layers=[layers[i] for i in ran], inputs=inputs, grads=grads)

    def forward(self) -> None:
        self.outputs = [layer(x) for layer, x in zip(self.layers, self.inputs)]

    def backward(self) -> None:
        """The backward of the last forward(); leaves the layers' .grad as it found them."""
        saved = [(p, p.grad) for layer in self.layers for p in layer.parameters()]
        for p, _ in saved:  # fresh gradients, as training's zero_grad(set_to_none=True) leaves them
            p.grad = None
        torch.autograd.backward(self.outputs, self.grads)
        for p, grad in saved:  # the training step owns .grad: put back what it had
            p.grad = grad
        for x in self.inputs:
            x.grad = None
        self.outputs = None

    @property
    def rows(self) -> list[int]:
        return [x.shape[0] for x in self.inputs]


@dataclass
class DataFloor:
    """One batch read straight from the loader's dataset and collated: its first `batch_size`
    samples. A frame-cache entry has the same size for every sample, so any batch of them is the
    same work; on other datasets the floor reads these samples, not the step's."""

    dataset: object  # the loader's map-style dataset
    collate: Callable[[list], object]
    indices: list[int]

    @classmethod
    def of(cls, loader, batch_size: int) -> DataFloor | None:
        """The floor of a DataLoader over a map-style dataset; None for anything else."""
        dataset = getattr(loader, "dataset", None)
        if dataset is None or not hasattr(dataset, "__getitem__") or not hasattr(loader, "collate_fn"):
            return None
        return cls(dataset=dataset, collate=loader.collate_fn, indices=list(range(min(batch_size, len(dataset)))))

    def read(self) -> object:
        return self.collate([self.dataset[i] for i in self.indices])


def _memory_format(x: torch.Tensor) -> torch.memory_format:
    """The layout a layer read: channels-last where the step ran its convolutions so (the fused
    forward does; oneDNN's convolutions cost differently in it), contiguous otherwise."""
    if x.dim() == 4 and not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last):
        return torch.channels_last
    return torch.contiguous_format
