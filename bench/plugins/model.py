"""The model contract: a network of the user's trained and timed by the harness's own step.

A model is made by a factory, `factory(context: ModelContext) -> nn.Module | ModelSpec`, named by
the `model` setting (`package.module:attribute` or `path/to/file.py:attribute`). The harness owns
the training step (data_wait → h2d → forward → loss → backward → optimiser → rewiring), so a
plug-in gets all seven stage timings without writing a marker. A bare module is read as
`ModelSpec(module)`: output spikes (T, B, C), snnTorch's rate loss, every Linear/Conv weight
rewirable, the forward pass `forward:reference` only.

The seed network (snn.plugin:seed_network) is built through this contract like any other.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from bench.plugins.reference import NotApplicable, PluginError, PluginOptions, load_factory
from snn.seeds import stream_seed
from snn.workload import SYNAPSE_TYPES, Tap

SETTING = "model"
LAYOUTS = ("TBC", "BTC", "BC")  # time-major spikes, batch-major spikes, or one output per sample
# The modules whose weights are rewirable by default: DeepR's layers in the seed network.
REWIRABLE_TYPES = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


@dataclass(frozen=True)
class ModelContext(PluginOptions):
    """What a model factory is given (read-only); `generator()`, `option()` and
    `refuse_unknown_options()` as PluginOptions reads them."""

    OPTIONS_SETTING, WHAT, STREAM = "model_options", "model", "model"

    settings: object  # the point's bench.config.settings.Settings, every setting by name
    options: Mapping[str, object]  # the model_options table
    device: torch.device
    seed: int
    num_steps: int  # T: the time steps a sample holds
    batch_size: int
    forward: str  # the forward variant asked for: reference, multistep, fused or sparse
    sample_shape: tuple[int, ...]  # one sample's input, as the data set gives it, e.g. (T, P, H, W)
    num_classes: int


@dataclass(frozen=True)
class Agreement:
    """The model this one claims to compute, for `snn-bench check`'s agreement check: both built
    at one seed, one batch, spikes compared layer by layer (their neuron taps, by name) and the
    output and weight gradients by their largest differences."""

    model: str  # a model reference, e.g. snn.plugin:seed_network
    options: Mapping[str, object] = field(default_factory=dict)  # its model_options
    # How this model's neurons differ from that one's by design, each in words; empty: it claims
    # the same spikes, and any difference fails the check.
    differences: tuple[str, ...] = ()
    # Settings of the reference point other than this point's, e.g. {"layer_type": "linear"} for
    # a port of one seed preset by a model that the layer_type setting does not reach.
    settings: Mapping[str, object] = field(default_factory=dict)


@dataclass
class ModelSpec:
    """A model and what the harness needs to know of it; only `module` is required."""

    module: nn.Module
    layout: str = "TBC"  # the output: (T, B, C) spikes, (B, T, C) spikes, or (B, C)
    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor] | None = None  # None: by layout
    predict: Callable[[torch.Tensor], torch.Tensor] | None = None  # output → (B,) classes
    reset: Callable[[nn.Module], None] | None = None  # state reset before each batch (reset_net)
    rewirable: Sequence[nn.Parameter] | None = None  # None: every Linear/Conv weight, in order
    # Where spikes count as activations (NeuroBench's activation sparsity): neuron modules (their
    # outputs), or snn.workload.Tap for a spike that passes elsewhere. None: snnTorch neurons.
    neurons: Sequence[nn.Module | Tap] | None = None
    forwards: tuple[str, ...] = ("reference",)  # the forward variants it implements
    line_targets: Sequence[Callable | str] = ()  # what `snn-bench profile` reads line by line
    # The escape hatch, for a model that must own its step (e-prop, truncated BPTT, a local
    # rule): step(batch, stage) → loss; see bench.plugins.own_step.
    step: Callable | None = None
    agrees_with: Agreement | None = None  # the model it ports (snn.libraries), for `snn-bench check`

    def __post_init__(self) -> None:
        if not isinstance(self.module, nn.Module):
            raise PluginError(f"{SETTING}: the spec's module is a {type(self.module).__name__}, not an nn.Module")
        if self.layout not in LAYOUTS:
            raise PluginError(f"{SETTING}: layout {self.layout!r} is unknown: say TBC (time-major spikes), "
                              "BTC (batch-major spikes) or BC (one output per sample)")

    def rewirable_parameters(self) -> list[tuple[str, nn.Parameter]]:
        """(name, parameter) of what a rewiring rule may touch, in the network's order."""
        names = {id(p): n for n, p in self.module.named_parameters()}
        if self.rewirable is not None:
            return [(names.get(id(p), f"rewirable.{i}"), p) for i, p in enumerate(self.rewirable)]
        return [(f"{name}.weight", m.weight) for name, m in self.module.named_modules()
                if isinstance(m, REWIRABLE_TYPES) and isinstance(getattr(m, "weight", None), nn.Parameter)]

    def taps(self) -> list[Tap]:
        """Where the workload counter reads activations."""
        names = {id(m): n for n, m in self.module.named_modules()}
        if self.neurons is None:
            import snntorch as snn
            return [Tap(n, m, "output") for n, m in self.module.named_modules() if isinstance(m, snn.SpikingNeuron)]
        return [t if isinstance(t, Tap) else Tap(names.get(id(t), type(t).__name__), t, "output")
                for t in self.neurons]

    def synapses(self) -> list[tuple[str, nn.Module]]:
        """The Linear/Conv layers whose operations the workload counter counts."""
        return [(n, m) for n, m in self.module.named_modules() if isinstance(m, SYNAPSE_TYPES)]

    def loss_fn(self) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
        if self.loss is not None:
            return self.loss
        if self.layout == "BC":
            return nn.functional.cross_entropy
        import snntorch.functional as SF
        rate = SF.ce_rate_loss()
        return rate if self.layout == "TBC" else (lambda out, targets: rate(out.transpose(0, 1), targets))

    def predict_fn(self) -> Callable[[torch.Tensor], torch.Tensor]:
        """Most output spikes over time (or the largest output) wins."""
        if self.predict is not None:
            return self.predict
        if self.layout == "BC":
            return lambda out: out.argmax(-1)
        time_dim = 0 if self.layout == "TBC" else 1
        return lambda out: out.sum(time_dim).argmax(-1)


def as_spec(made, reference: str) -> ModelSpec:
    if isinstance(made, ModelSpec):
        return made
    if isinstance(made, nn.Module):
        return ModelSpec(module=made)
    raise PluginError(f"{SETTING} {reference}: the factory returned a {type(made).__name__}; return an "
                      "nn.Module or a bench.plugins.model.ModelSpec")


def build_model(reference: str, context: ModelContext) -> ModelSpec:
    """The spec a reference's factory makes for `context`, on the context's device, built from the
    "weights" stream of the point's seed (so every variant of a point starts from one network);
    NotApplicable when the model does not implement the forward variant asked for."""
    factory, _ = load_factory(reference, SETTING, "ModelContext")
    torch.manual_seed(stream_seed(context.seed, "weights"))
    spec = as_spec(factory(context), reference)
    spec.module.to(context.device)
    if context.forward not in spec.forwards:
        raise NotApplicable(f"forward:{context.forward} does not apply to model {reference}: it implements "
                            f"forward:{', forward:'.join(spec.forwards)}")
    return spec


def nondeterminism(reference: str, context: ModelContext, spec: ModelSpec) -> str | None:
    """A second build at the same seed, compared with `spec`: what differs, or None. A model that
    differs between two builds cannot start two variants from one network."""
    again = build_model(reference, context).module.state_dict()
    for name, value in spec.module.state_dict().items():
        other = again.get(name)
        if other is None or other.shape != value.shape or not torch.equal(other, value):
            return (f"{SETTING} {reference}: two builds at seed {context.seed} differ in {name}; draw "
                    "every random number from torch's global generator (seeded by the harness) or "
                    "context.generator(), never from an unseeded source")
    return None


def output_problem(output, layout: str, batch: int, num_classes: int) -> str | None:
    """What is wrong with a forward pass's output for its declared layout, or None."""
    expected = {"TBC": ("(T, B, C)", (None, batch, num_classes)), "BTC": ("(B, T, C)", (batch, None, num_classes)),
                "BC": ("(B, C)", (batch, num_classes))}[layout]
    shape = tuple(getattr(output, "shape", ()))
    if not isinstance(output, torch.Tensor) or len(shape) != len(expected[1]) or any(
            e is not None and e != s for e, s in zip(expected[1], shape)):
        return (f"{SETTING}: the forward pass returned {type(output).__name__} of shape {shape}, but layout "
                f"{layout} means {expected[0]} with B={batch}, C={num_classes}: return that shape, or "
                "declare the layout it has in ModelSpec(layout=...)")
    return None


@dataclass
class CheckedLoss:
    """The model's loss, checking the output's shape at its first call (one shape comparison, no
    device sync; every call after the first is the loss alone)."""

    loss: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
    layout: str
    num_classes: int
    checked: bool = field(default=False)

    def __call__(self, output: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        if not self.checked:
            problem = output_problem(output, self.layout, int(targets.shape[0]), self.num_classes)
            if problem:
                raise PluginError(problem)
            self.checked = True
        return self.loss(output, targets)


__all__ = ["LAYOUTS", "Agreement", "CheckedLoss", "ModelContext", "ModelSpec", "NotApplicable", "Tap", "build_model",
           "nondeterminism", "output_problem"]
