"""The seed spiking network and its layer-type presets.

The reference forward pass is the user's notebook loop kept as written: for every time step,
for every layer, apply the layer then its `snn.Leaky`. It is the baseline the fast forward
variants are measured against, so it stays deliberately plain.

The `multistep` forward computes the same spikes layer by layer instead: each layer is stateless,
so it runs once on all T·B inputs of the layer below (one large convolution instead of T small
ones), and only the neurons step through time, through the same `snn.Leaky` modules.

The `fused` forward is multistep with each layer's neurons run over all T in one call
(`snn.lif.lif_spikes`: compiled loops and a hand-written backward): the same spikes and, on the
CPU, the same gradients bit for bit. It implements the fast-sigmoid surrogate only.

Shapes: B batch, T time steps, P polarities (2), H×W frame (32×32), C classes (11).
"""

from __future__ import annotations

import snntorch as snn
import torch
from snntorch import surrogate
from torch import nn

from snn.buffers import BufferPool
from snn.config import NetConfig
from snn.lif import LIFParams, lif_pool_lif_spikes, lif_spikes, pools_in_one_pass
from snn.names import FORWARDS, FUSED_NEURONS, LAYER_TYPES  # noqa: F401 (re-exported)
from snn.pool import avg_pool_2x2, tiles_exactly
from snn.sparse import sparsify

SURROGATES = {
    "fast_sigmoid": lambda scale: surrogate.fast_sigmoid(slope=scale),
    "atan": lambda scale: surrogate.atan(alpha=scale),
    "sigmoid": lambda scale: surrogate.sigmoid(slope=scale),
}


def _conv2d_layers(cfg: NetConfig) -> tuple[list[nn.Module], int]:
    p, h, w = cfg.input_shape
    c1, c2, c3 = cfg.stage_channels
    layers = [
        nn.Conv2d(p, c1, 5, padding=2),  # (B, c1, H, W)
        nn.AvgPool2d(2),  # (B, c1, H/2, W/2)
        nn.Conv2d(c1, c2, 5, padding=2),
        nn.AvgPool2d(2),  # (B, c2, H/4, W/4)
        nn.Conv2d(c2, c3, 3, padding=1),
        nn.AvgPool2d(2),  # (B, c3, H/8, W/8)
        nn.Linear(c3 * (h // 8) * (w // 8), cfg.hidden),  # after flatten
        nn.Linear(cfg.hidden, cfg.num_classes),
    ]
    return layers, 6


def _conv1d_layers(cfg: NetConfig) -> tuple[list[nn.Module], int]:
    # A frame is read as P·H channels over a sequence of W columns.
    p, h, w = cfg.input_shape
    c1, c2, c3 = cfg.stage_channels
    layers = [
        nn.Conv1d(p * h, c1, 5, padding=2),  # (B, c1, W)
        nn.AvgPool1d(2),
        nn.Conv1d(c1, c2, 5, padding=2),
        nn.AvgPool1d(2),
        nn.Conv1d(c2, c3, 3, padding=1),
        nn.AvgPool1d(2),  # (B, c3, W/8)
        nn.Linear(c3 * (w // 8), cfg.hidden),
        nn.Linear(cfg.hidden, cfg.num_classes),
    ]
    return layers, 6


def _linear_layers(cfg: NetConfig) -> tuple[list[nn.Module], int]:
    # Pooling has no meaning without a spatial layout, so this preset has five layers only,
    # all of them weight layers, and flattens before the first.
    p, h, w = cfg.input_shape
    c1, c2, c3 = cfg.stage_channels
    widths = [p * h * w, c1, c2, c3, cfg.hidden // 2, cfg.num_classes]
    layers = [nn.Linear(a, b) for a, b in zip(widths[:-1], widths[1:])]
    return layers, 0


_BUILDERS = {"conv2d": _conv2d_layers, "conv1d": _conv1d_layers, "linear": _linear_layers}


class SeedNet(nn.Module):
    """The user's network: each layer followed by a `snn.Leaky`, flatten before `flatten_at`."""

    def __init__(self, cfg: NetConfig):
        super().__init__()
        self.cfg = cfg
        layers, self.flatten_at = _BUILDERS[cfg.layer_type](cfg)
        spike_grad = SURROGATES[cfg.surrogate](cfg.surrogate_scale)
        self.layers = nn.ModuleList(layers)
        with torch.no_grad():
            for i, layer in enumerate(self.weight_layers()):
                # the first layer reads event counts, the others spikes (NetConfig.input_gain)
                layer.weight.mul_(cfg.init_gain * (cfg.input_gain if i == 0 else 1.0))
                if cfg.forward == "sparse":
                    sparsify(layer)  # built and initialised as dense: the same weights
        self.neurons = nn.ModuleList(
            snn.Leaky(beta=cfg.beta, spike_grad=spike_grad) for _ in layers
        )
        # The fused forward's constants, read from the neurons now: reading them from a device
        # tensor at every forward would be a host sync per layer.
        self.lif_params = ([LIFParams.of(n, cfg.surrogate_scale) for n in self.neurons]
                           if cfg.forward in FUSED_NEURONS else [])
        # The fused forward's spikes, pooled currents and their gradients, kept from step to step
        # (snn.buffers); None allocates them fresh every step, as torch would.
        self.buffers: BufferPool | None = BufferPool()

    def frame_view(self, frame: torch.Tensor) -> torch.Tensor:
        """(B, P, H, W) → what the first layer reads."""
        if self.cfg.layer_type == "conv1d":
            return frame.flatten(1, 2)  # (B, P·H, W)
        return frame

    def weight_layers(self) -> list[nn.Module]:
        """The layers that own a weight tensor: what DeepR rewires."""
        return [layer for layer in self.layers if getattr(layer, "weight", None) is not None]

    def workload_taps(self) -> list:
        """Where each neuron layer's spikes pass in every forward variant (the fused ones never call
        the snn.Leaky modules): neuron i's spikes are layer i+1's input, the last are the output."""
        from snn.workload import Tap

        taps = [Tap(f"neurons.{i - 1}", self.layers[i], "input") for i in range(1, len(self.layers))]
        return taps + [Tap(f"neurons.{len(self.layers) - 1}", self, "output")]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, T, P, H, W) frames → output spikes (T, B, C)."""
        if x.shape[1] != self.cfg.num_steps:
            raise ValueError(
                f"input has {x.shape[1]} time bins but the network loops over num_steps="
                f"{self.cfg.num_steps}: frame the events with n_time_bins={self.cfg.num_steps}"
            )
        if self.cfg.forward == "multistep":
            return self.forward_layerwise(x, self._neurons_stepwise)
        if self.cfg.forward in FUSED_NEURONS:
            return self.forward_layerwise(x, self._neurons_fused)
        return self.forward_reference(x)

    def forward_reference(self, x: torch.Tensor) -> torch.Tensor:
        """The notebook's loop, as written: time steps outside, layers inside."""
        mem = [neuron.init_leaky() for neuron in self.neurons]
        spk_rec = []
        for step in range(self.cfg.num_steps):
            spk_i = self.frame_view(x[:, step])
            for i in range(len(self.layers)):
                if i == self.flatten_at:  # need to flatten from AvgPool to Linear
                    spk_i = torch.flatten(spk_i, start_dim=1)
                cur_i = self.layers[i](spk_i)
                spk_i, mem[i] = self.neurons[i](cur_i, mem[i])
            spk_rec.append(spk_i)
        return torch.stack(spk_rec, dim=0)

    def forward_layerwise(self, x: torch.Tensor, neurons) -> torch.Tensor:
        """Layers outside, time steps inside: each layer sees all T·B inputs in one call, and
        `neurons(i, current)` turns layer i's current (T, B, ...) into its spikes (T, B, ...)."""
        b, t = x.shape[:2]
        spikes = self.frame_view(x.transpose(0, 1).flatten(0, 1))  # (T·B, ...) time-major
        if self.cfg.forward == "fused" and self.cfg.layer_type == "conv2d":
            # Channels-last (NHWC) activations: oneDNN's convolutions ran 1.5x faster in them
            # here (seed net, 2 threads); the neurons read either layout (snn.lif).
            spikes = spikes.contiguous(memory_format=torch.channels_last)
        i = 0
        while i < len(self.layers):
            if i == self.flatten_at:
                spikes = torch.flatten(spikes, start_dim=1)
            current = self._synapses(self.layers[i], spikes).unflatten(0, (t, b))  # (T, B, ...)
            if current.dtype != torch.float32:  # bf16 from autocast (snn.approx): neurons integrate in float32
                current = current.float()
            if self._pools_next(i, current):  # neurons i, pooling i+1 and its neurons in one pass (snn.lif)
                out = lif_pool_lif_spikes(current, self.lif_params[i], self.lif_params[i + 1], self.buffers)
                i += 1
            else:
                out = neurons(i, current)
            spikes = out.flatten(0, 1)  # (T·B, ...)
            i += 1
        return spikes.unflatten(0, (t, b))  # (T, B, C)

    def _pools_next(self, i: int, current: torch.Tensor) -> bool:
        """Whether the fused forward runs neurons i, the pooling layer after them and its neurons in one pass:
        where that pooling takes the kept-buffer path and the current's layout suits the loop."""
        return (i + 1 < len(self.layers) and self._pools_into_buffers(self.layers[i + 1], current[0])
                and pools_in_one_pass(current))

    def _synapses(self, layer: nn.Module, spikes: torch.Tensor) -> torch.Tensor:
        """Layer i on all T·B inputs; the fused forwards pool into kept buffers (snn.pool)."""
        if self._pools_into_buffers(layer, spikes):
            return avg_pool_2x2(spikes, self.buffers)
        return layer(spikes)

    def _pools_into_buffers(self, layer: nn.Module, x: torch.Tensor) -> bool:
        """A fused forward with kept buffers, and `layer` a pooling whose windows tile x exactly
        and that nobody hooked (the workload counter's taps read its input: it runs as itself)."""
        return (self.cfg.forward in FUSED_NEURONS and self.buffers is not None
                and not (layer._forward_pre_hooks or layer._forward_hooks) and tiles_exactly(layer, x))

    def _neurons_stepwise(self, i: int, current: torch.Tensor) -> torch.Tensor:
        """multistep: layer i's snn.Leaky stepped through time, as the notebook steps it."""
        neuron = self.neurons[i]
        mem = neuron.init_leaky()
        out = []
        # unbind, not current[step]: each indexing's backward writes a full (T, B, ...) zero
        # tensor, T² traffic in all; unbind's backward stacks the T gradients once.
        for current_t in current.unbind(0):
            spk, mem = neuron(current_t, mem)
            out.append(spk)
        return torch.stack(out, dim=0)

    def _neurons_fused(self, i: int, current: torch.Tensor) -> torch.Tensor:
        """fused: all T steps of layer i's neurons in one call (snn.lif)."""
        return lif_spikes(current, self.lif_params[i], self.buffers)


def build_net(cfg: NetConfig) -> SeedNet:
    return SeedNet(cfg)


def count_parameters(net: nn.Module) -> int:
    return sum(p.numel() for p in net.parameters())
