"""A network and a data set that are not the seed's, measured by the same harness.

    model = "plugin.py:plain_lif"           two Linear layers, each followed by a leaky
                                            integrate-and-fire layer written in plain torch
                                            with its own surrogate gradient (no snnTorch)
    dataset = "plugin.py:spike_patterns"    spike trains (T=20, 64 channels, 4 classes) from
                                            spikes.npz beside this file (make_spikes.py wrote it)
    model = "plugin.py:plain_lif_tbptt"     the same network training itself by truncated
                                            backpropagation through time: a model that owns its
                                            step and marks its stages (bench.plugins.own_step)

Shapes: B batch, T time steps, N input channels, H hidden neurons, C classes.
"""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch
from torch import nn

from bench.plugins.dataset import DatasetContext, DatasetSpec
from bench.plugins.model import ModelContext, ModelSpec
from bench.plugins.own_step import StepContext

SPIKES = Path(__file__).with_name("spikes.npz")


class SpikeFn(torch.autograd.Function):
    """Heaviside forward; the derivative of a fast sigmoid, 1 / (1 + k|v|)², backward."""

    SLOPE = 10.0

    @staticmethod
    def forward(ctx, v: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(v)
        return (v > 0).to(v.dtype)

    @staticmethod
    def backward(ctx, grad: torch.Tensor) -> torch.Tensor:
        (v,) = ctx.saved_tensors
        return grad / (1.0 + SpikeFn.SLOPE * v.abs()) ** 2


class LIF(nn.Module):
    """Leaky integrate-and-fire neurons over all T steps: v ← βv + I − s·θ, s = H(v − θ)."""

    def __init__(self, beta: float, threshold: float = 1.0):
        super().__init__()
        self.beta, self.threshold = beta, threshold

    def forward(self, current: torch.Tensor) -> torch.Tensor:
        """(B, T, ...) input current → (B, T, ...) spikes."""
        v = torch.zeros_like(current[:, 0])
        spikes = []
        for current_t in current.unbind(1):
            v = self.beta * v + current_t
            spike = SpikeFn.apply(v - self.threshold)
            v = v - spike * self.threshold  # subtract reset
            spikes.append(spike)
        return torch.stack(spikes, dim=1)


class PlainLIFNet(nn.Module):
    def __init__(self, inputs: int, hidden: int, classes: int, beta: float):
        super().__init__()
        self.fc1 = nn.Linear(inputs, hidden)
        self.lif1 = LIF(beta)
        self.fc2 = nn.Linear(hidden, classes)
        self.lif2 = LIF(beta)
        with torch.no_grad():  # at torch's default init the hidden layer barely fires on sparse input
            self.fc1.weight.mul_(4.0)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, T, N) spikes → (B, T, C) output spikes."""
        hidden = self.lif1(self.fc1(x))  # (B, T, H): Linear acts on the last dimension
        return self.lif2(self.fc2(hidden))


def _net(context: ModelContext, extra_options: tuple[str, ...] = ()) -> PlainLIFNet:
    context.refuse_unknown_options(("hidden", "beta") + extra_options)
    (_, inputs) = context.sample_shape  # (T, N)
    return PlainLIFNet(inputs, int(context.option("hidden", 128)), context.num_classes,
                       float(context.option("beta", 0.9)))


def plain_lif(context: ModelContext) -> ModelSpec:
    """The model plug-in: batch-major output, snnTorch-free, the harness's own step."""
    net = _net(context)
    return ModelSpec(module=net, layout="BTC", neurons=[net.lif1, net.lif2])


def plain_lif_tbptt(context: ModelContext) -> ModelSpec:
    """The same network, trained by truncated BPTT over windows of `window` time steps: the
    plug-in owns its step and marks each region with a stage name."""
    net = _net(context, ("window",))
    window = int(context.option("window", 5))

    def step(ctx: StepContext) -> torch.Tensor:
        inputs, targets = ctx.batch
        with ctx.stage("h2d"):
            inputs, targets = inputs.to(ctx.device).float(), targets.to(ctx.device)
        ctx.optimiser.zero_grad(set_to_none=True)
        total = torch.zeros((), device=ctx.device)
        for chunk in inputs.split(window, dim=1):  # (B, window, N); the state restarts per window
            with ctx.stage("forward"):
                out = ctx.net(chunk)
            with ctx.stage("loss"):
                loss = ctx.loss_fn(out, targets)
            with ctx.stage("backward"):
                loss.backward()
            total = total + loss.detach()
        with ctx.stage("optimiser"):
            ctx.optimiser.step()
        return total

    return ModelSpec(module=net, layout="BTC", neurons=[net.lif1, net.lif2], step=step)


class SpikePatterns(torch.utils.data.Dataset):
    """(spikes (T, N) bool, label) from arrays held in memory."""

    def __init__(self, spikes: np.ndarray, labels: np.ndarray):
        self.spikes = torch.from_numpy(spikes)
        self.targets = [int(y) for y in labels]

    def __len__(self) -> int:
        return len(self.targets)

    def __getitem__(self, index: int):
        return self.spikes[index], self.targets[index]


def spike_patterns(context: DatasetContext) -> DatasetSpec:
    """The data set plug-in: fixed-shape spike trains from a file; not event data, so the
    framing variants and the frame cache do not apply to it."""
    context.refuse_unknown_options(("file",))
    path = Path(str(context.option("file", SPIKES)))
    if not path.is_file():
        raise FileNotFoundError(f"dataset_options.file: no spike file at {path}; run "
                                "examples/plain_lif/make_spikes.py to write one")
    with np.load(path) as arrays:
        train_x, train_y, test_x, test_y = (arrays[k] for k in ("train_x", "train_y", "test_x", "test_y"))
    steps = train_x.shape[1]
    if context.num_steps != steps:
        raise ValueError(f"num_steps is {context.num_steps}, but the samples in {path.name} hold {steps} "
                         f"time steps: set num_steps = {steps}")
    return DatasetSpec(train=SpikePatterns(train_x, train_y), test=SpikePatterns(test_x, test_y),
                       num_classes=int(train_y.max()) + 1, sample_shape=tuple(train_x.shape[1:]),
                       fingerprint="spikes:" + hashlib.sha256(path.read_bytes()).hexdigest()[:12],
                       root=path.parent)
