"""Workload metrics of a spiking network, by NeuroBench's definitions, from streaming counters.

    counter = WorkloadCounter.for_seed_net(net)   # or WorkloadCounter(synapses, taps)
    with counter:                                 # hooks on; removed on exit
        for frames, _ in batches: net(frames)     # evaluation as usual
    metrics = counter.metrics()                   # per sample, per layer and overall

Definitions (NeuroBench, neurobench/metrics):

- **Dense synaptic operations**: for each Linear/Conv layer and each call, the multiply-
  accumulates it would do with every input and every weight nonzero, bias excluded. For a
  padded convolution only the taps that land inside the input count (NeuroBench runs a copy of
  the layer with all-ones weights on an all-ones input and sums the output).
- **Effective operations**: the same with the actual nonzero inputs and nonzero weights (a
  DeepR mask's dormant weights are zero). A time step whose inputs to a layer are all in
  {-1, 0, 1} (spikes) counts them as ACs, any other step as MACs: per call in a per-step loop,
  and per step of a call that takes all T·B inputs at once (`rows_per_step`), so every forward
  variant gives the same split.
- **Activation sparsity**: zero activations over all activations of the spiking neurons, over
  every time step and sample.
- **Connection sparsity**: zero weights over all weights of the Linear/Conv layers. A weight is
  counted as zero by its value, not by a DeepR mask: a connection DeepR revives starts at exactly
  zero (θ = 0), so the measured sparsity can exceed 1 − c until those weights move.
- **Footprint**: bytes of every parameter and buffer. Beside it, a sparse encoding's bytes:
  each weight layer's nonzero values plus CSR indices (int32 column index per value, int32 row
  pointer per output row + 1), everything else dense.

Counting is streaming: each call adds to running totals and keeps nothing of its input. Per
call it costs a few elementwise passes over the layer's input: the sum of a layer's outputs
over all-ones weights is linear in the input, so it equals the input dotted with one fixed map
(the layer's transpose applied to ones), computed once per input shape.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import NamedTuple

import snntorch as snn
import torch
import torch.nn.functional as F
from torch import nn

SYNAPSE_TYPES = (nn.Linear, nn.Conv1d, nn.Conv2d)


class Tap(NamedTuple):
    """Where a spiking layer's output is read: `module`'s "output", or its "input" when the spikes
    pass there (a fused forward that never calls the neuron modules still feeds the next layer)."""

    name: str
    module: nn.Module
    where: str = "output"


def _layer_sum_map(layer: nn.Module, weight: torch.Tensor, in_shape: tuple[int, ...]) -> torch.Tensor:
    """d/dx of sum(layer(x) with `weight`, no bias) for one sample of `in_shape`: how many
    operations each input element takes part in. The sum is linear in x, so this map is exact."""
    x = torch.ones((1, *in_shape), dtype=weight.dtype, device=weight.device, requires_grad=True)
    with torch.enable_grad():
        if isinstance(layer, nn.Linear):
            out = F.linear(x, weight)
        elif isinstance(layer, nn.Conv1d):
            out = F.conv1d(x, weight, None, layer.stride, layer.padding, layer.dilation, layer.groups)
        else:
            out = F.conv2d(x, weight, None, layer.stride, layer.padding, layer.dilation, layer.groups)
        (grad,) = torch.autograd.grad(out.sum(), x)
    return grad[0].detach()


@dataclass
class LayerCounts:
    """Running totals of one synapse layer over an evaluation."""

    name: str
    weights: int
    zero_weights: int
    dense_ops: float = 0.0
    effective_macs: float = 0.0
    effective_acs: float = 0.0
    maps: dict = field(default_factory=dict, repr=False)  # in_shape → (ones map, nonzero map)

    @property
    def connection_sparsity(self) -> float:
        return self.zero_weights / self.weights if self.weights else 0.0


@dataclass
class ActivationCounts:
    name: str
    activations: int = 0
    nonzero: int = 0

    @property
    def sparsity(self) -> float:
        return (self.activations - self.nonzero) / self.activations if self.activations else 0.0


@dataclass(frozen=True)
class WorkloadMetrics:
    """Per sample (operations), or fractions (sparsity), or bytes (footprint)."""

    samples: int
    dense_synops: float
    effective_macs: float
    effective_acs: float
    activation_sparsity: float
    connection_sparsity: float
    footprint_bytes: int
    sparse_footprint_bytes: int
    layers: list[dict]  # per synapse layer: name, dense_synops, effective_macs, effective_acs,
    # connection_sparsity; per activation tap: name, activation_sparsity


HIDDEN_STATE = ("mem", "syn", "spk")  # snnTorch neurons' state buffers: they grow with the input


def footprint_bytes(net: nn.Module) -> int:
    """NeuroBench's Footprint: bytes of every parameter and buffer, a spiking neuron's hidden
    state excepted. NeuroBench reads it on a fresh model, where that state is empty; after a
    forward pass snnTorch keeps the last state (batch × neurons) in it, which is workload."""
    buffers = [b for module in net.modules() for name, b in module.named_buffers(recurse=False)
               if not (isinstance(module, snn.SpikingNeuron) and name in HIDDEN_STATE)]
    return sum(t.numel() * t.element_size() for t in (*net.parameters(), *buffers))


def sparse_footprint_bytes(net: nn.Module, synapses: Iterable[nn.Module], index_bytes: int = 4) -> int:
    """Footprint with each synapse layer's weight in CSR: nonzero values, a column index per value,
    a row pointer per output row (+1); every other parameter and buffer dense."""
    total = footprint_bytes(net)
    for layer in synapses:
        weight = layer.weight.detach()
        rows = weight.shape[0]
        nonzero = int(torch.count_nonzero(weight))
        total += -weight.numel() * weight.element_size() + nonzero * (weight.element_size() + index_bytes) \
            + (rows + 1) * index_bytes
    return total


class WorkloadCounter:
    """Forward hooks that count synaptic operations on `synapses` (Linear/Conv layers: their
    inputs) and activations at `taps` ((module, "input" | "output") pairs: where the spiking
    neurons' outputs pass)."""

    def __init__(self, net: nn.Module, synapses: list[tuple[str, nn.Module]],
                 taps: list[tuple[str, nn.Module, str]]):
        for name, layer in synapses:
            if not isinstance(layer, SYNAPSE_TYPES):
                raise TypeError(f"{name}: {type(layer).__name__} is not a Linear/Conv layer")
        self.net = net
        self.synapses = synapses
        self.taps = taps
        self.footprint: tuple[int, int] | None = None  # (dense, sparse) bytes, read on entering
        self.layer_counts: dict[str, LayerCounts] = {}
        self.activation_counts = {name: ActivationCounts(name) for name, _, _ in taps}
        self.samples = 0
        # The rows of one time step in a layer's input (the batch size): set per batch by the
        # evaluator (`add_samples` before the forward); None reads each call as one step.
        self.rows_per_step: int | None = None
        self._handles: list = []

    @classmethod
    def for_seed_net(cls, net: nn.Module) -> WorkloadCounter:
        """snn.model.SeedNet: neuron i's spikes are layer i+1's input, the last are the output;
        every forward variant (the per-step loop or all T·B at once) passes them there."""
        synapses = [(f"layers.{i}", layer) for i, layer in enumerate(net.layers) if isinstance(layer, SYNAPSE_TYPES)]
        return cls(net, synapses, net.workload_taps())

    # -- hooks ---------------------------------------------------------------------------------

    def _count_synapse(self, name: str, layer: nn.Module, x: torch.Tensor) -> None:
        counts = self.layer_counts[name]
        in_shape = tuple(x.shape[1:])
        if in_shape not in counts.maps:
            weight = layer.weight.detach()
            counts.maps[in_shape] = (_layer_sum_map(layer, torch.ones_like(weight), in_shape),
                                     _layer_sum_map(layer, (weight != 0).to(weight.dtype), in_shape))
        ones_map, nonzero_map = counts.maps[in_shape]
        x = x.detach()
        counts.dense_ops += float(ones_map.sum()) * x.shape[0]
        # Classified per time step, as NeuroBench's hooks see a per-step loop: a layer fed all T·B
        # inputs at once (time-major, `rows_per_step` rows a step) splits them back into steps,
        # so one non-binary step makes MACs of that step only, in every forward variant.
        rows = self.rows_per_step
        steps = x.split(rows) if rows and x.shape[0] > rows and x.shape[0] % rows == 0 else (x,)
        for step in steps:
            nonzero = step != 0
            effective = float((nonzero.to(nonzero_map.dtype) * nonzero_map).sum())
            if bool((nonzero & (step != 1) & (step != -1)).any()):
                counts.effective_macs += effective
            else:
                counts.effective_acs += effective

    def _count_activation(self, name: str, value) -> None:
        spikes = value[0] if isinstance(value, tuple) else value
        counts = self.activation_counts[name]
        counts.activations += spikes.numel()
        counts.nonzero += int(torch.count_nonzero(spikes))

    def __enter__(self) -> WorkloadCounter:
        # Static: read before the workload (footprint_bytes leaves neurons' hidden state out too).
        self.footprint = (footprint_bytes(self.net),
                          sparse_footprint_bytes(self.net, [layer for _, layer in self.synapses]))
        for name, layer in self.synapses:
            weight = layer.weight.detach()
            self.layer_counts[name] = LayerCounts(name, weights=weight.numel(),
                                                  zero_weights=int((weight == 0).sum()))
            self._handles.append(layer.register_forward_pre_hook(
                lambda module, args, name=name: self._count_synapse(name, module, args[0])))
        for name, module, where in self.taps:
            if where == "input":
                hook = module.register_forward_pre_hook(
                    lambda module, args, name=name: self._count_activation(name, args[0]))
            else:
                hook = module.register_forward_hook(
                    lambda module, args, out, name=name: self._count_activation(name, out))
            self._handles.append(hook)
        return self

    def __exit__(self, *exc) -> None:
        for handle in self._handles:
            handle.remove()
        self._handles.clear()

    def add_samples(self, count: int) -> None:
        """The samples of the batches evaluated (operations are reported per sample)."""
        self.samples += count

    # -- results -------------------------------------------------------------------------------

    def metrics(self) -> WorkloadMetrics:
        if self.samples == 0 or self.footprint is None:
            raise ValueError("no samples were counted: call add_samples(batch size) per batch")
        per = 1.0 / self.samples
        layers = [{"name": c.name, "dense_synops": c.dense_ops * per, "effective_macs": c.effective_macs * per,
                   "effective_acs": c.effective_acs * per, "connection_sparsity": c.connection_sparsity}
                  for c in self.layer_counts.values()]
        layers += [{"name": a.name, "activation_sparsity": a.sparsity} for a in self.activation_counts.values()]
        activations = sum(a.activations for a in self.activation_counts.values())
        nonzero = sum(a.nonzero for a in self.activation_counts.values())
        weights = sum(c.weights for c in self.layer_counts.values())
        zeros = sum(c.zero_weights for c in self.layer_counts.values())
        return WorkloadMetrics(
            samples=self.samples,
            dense_synops=sum(c.dense_ops for c in self.layer_counts.values()) * per,
            effective_macs=sum(c.effective_macs for c in self.layer_counts.values()) * per,
            effective_acs=sum(c.effective_acs for c in self.layer_counts.values()) * per,
            activation_sparsity=(activations - nonzero) / activations if activations else 0.0,
            connection_sparsity=zeros / weights if weights else 0.0,
            footprint_bytes=self.footprint[0],
            sparse_footprint_bytes=self.footprint[1],
            layers=layers)
