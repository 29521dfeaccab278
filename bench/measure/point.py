"""Build and step one configuration: the unit every sweep group, profiler and test reuses.

A `PointSession` is one network, optimiser and rewiring rule, stepped on batches it is handed;
the DataLoader belongs to the caller, so several sessions can share one (see bench.measure.group).
"""

from __future__ import annotations

import math
import re
from dataclasses import asdict, dataclass, field, replace

import torch

from bench.config.devices import resolve_device
from bench.config.point_config import PointConfig
from bench.config.settings import Settings, normalise
from bench.config.variants import parse_variant
from bench.errors import UserError
from bench.measure.data import open_dataset, open_loader
from bench.measure.floors import DataFloor, SynapseFloor
from bench.measure.stages import (
    BACKWARD_FLOOR_STAGE,
    DATA_FLOOR_STAGE,
    FLOOR_STAGE,
    FORWARD_FLOOR_STAGE,
    OVERHEAD_STAGE,
)
from bench.measure.timing import elementwise_floor
from bench.measure.traffic import Traffic, TrafficRecorder
from bench.plugins.dataset import DatasetSpec
from bench.plugins.model import CheckedLoss, ModelContext, ModelSpec, build_model, nondeterminism
from bench.plugins.own_step import own_step, record_unmarked
from bench.plugins.reference import NotApplicable, PluginError
from bench.plugins.rewiring import (
    INVARIANT_RULES,
    Rewired,
    build_point_rewiring,
    invariant_problems,
    targets_of,
)
from snn.approx import autocast_dtype, check_approximation, use_sparseprop
from snn.threads import set_threads
from snn.train import NullTimer, StageTimer, Trainer

OPTIMISER_CLASSES = {"adam": torch.optim.Adam, "sgd": torch.optim.SGD}  # snn.names.OPTIMISERS


class Batches:
    """Training batches from a DataLoader; `epoch_restarts` counts the iterators started after
    the first (worker start-up then lands in data_wait)."""

    def __init__(self, loader, iterator=None, epoch_restarts: int = 0):
        self.loader = loader
        self.epoch_restarts = epoch_restarts
        self._iterator = iterator
        self.cache_build_s: float | None = None  # cache:frames: filling the frame cache took this

    def __iter__(self):
        return self

    def close(self) -> None:
        """Stop the worker processes now (they run their exit handlers), not at garbage collection.
        A worker that dies by a signal as it exits is let go: every batch it gave was whole, and
        nothing is read from it any more. (Spawned workers, as on macOS and Windows, were seen to
        abort at exit, "terminate called without an active exception", a library's thread torn
        down with the interpreter; torch's SIGCHLD handler then raised here, over the point's own
        error or result.)"""
        shutdown = getattr(self._iterator, "_shutdown_workers", None)
        if shutdown is None:
            return
        try:
            shutdown()
        except RuntimeError as error:
            if not re.match(r"DataLoader worker \(pid \d+\) is killed by signal", str(error)):
                raise


class EpochCycler(Batches):
    """Next batch from the loader, starting a new epoch (a new iterator) when one ends."""

    def __init__(self, loader):
        super().__init__(loader, iter(loader))

    def __next__(self):
        try:
            return next(self._iterator)
        except StopIteration:
            self.epoch_restarts += 1
            self._iterator = iter(self.loader)
            return next(self._iterator)


class NotebookBatches(Batches):
    """The notebook's loading: `next(iter(loader))` at every step. Each step builds a new
    iterator: with workers, that starts them (or, with persistent workers, resets them) and
    loads the first batch from an empty prefetch queue; the previous iterator's workers are
    shut down as it is dropped. Every new iterator after the first counts as a restart."""

    def __init__(self, loader):
        super().__init__(loader, epoch_restarts=-1)  # the first step's iterator is no restart

    def __next__(self):
        self.epoch_restarts += 1
        self._iterator = iter(self.loader)
        return next(self._iterator)


def apply_runtime(cfg: PointConfig) -> torch.device:
    """Resolve the device and set the process-wide state a point is timed under."""
    device = resolve_device(cfg.device)
    set_threads(cfg.resolved_threads)  # torch's and numba's, checked (snn.threads)
    torch.set_flush_denormal(cfg.flush_denormal)
    return device


def open_batches(cfg: PointConfig, worker_init_fn=None, data: DatasetSpec | None = None,
                 copies: int = 1) -> tuple[Batches, DatasetSpec]:
    """A fresh DataLoader over the training split, as the point's loading takes batches from
    it (one iterator cycled across epochs, or a new one every step); and the data set's spec
    (`data`, or the point's data set plug-in's). `copies`: each batch that many times in a row,
    one for each point of a group taking turns (bench.measure.group)."""
    data = data or open_dataset(cfg)
    loader, build_s = open_loader(data, cfg, worker_init_fn=worker_init_fn, copies=copies)
    batches = (NotebookBatches if cfg.loader.loading == "next_iter" else EpochCycler)(loader)
    batches.cache_build_s = build_s
    return batches, data


@dataclass
class PointResult:
    config: PointConfig
    stage_samples: dict[str, list[float]]  # seconds, one per measured step (+ harness_overhead)
    step_samples: list[float]  # whole-step seconds, one per measured step
    losses: list[float]
    epoch_restarts: int  # epochs started while measuring (worker start-up lands in data_wait)
    active_connections: int  # after the last step: DeepR's count, or every weight when dense
    total_connections: int
    environment: dict
    traffic: Traffic | None = None  # per rewired layer, over the measured updates; None: dense
    workload: dict | None = None  # bench.measure.workload.measure_workload, when workload_batches > 0

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass
class PointFailure:
    """A point that raised: kept as a result so one bad point never ends a sweep."""

    config: PointConfig | None  # None when it failed before its config was built (on a Ray node)
    error: str  # "<ExceptionType>: message"
    traceback: str
    environment: dict
    exception: BaseException | None = field(default=None, repr=False, compare=False)


@dataclass
class PointSkipped:
    """A point whose variant does not apply to its model or data (bench.plugins.reference.
    NotApplicable): recorded as skipped with the reason, never failed, never run as another."""

    config: PointConfig
    reason: str
    environment: dict


class Diverged(UserError):
    """A point whose loss went NaN or infinite while it was timed."""


class RuleBroken(UserError):
    """A point whose rewiring rule broke its invariants during the timed steps: its times are of
    another network than its connectivity names."""


class PointSession:
    """One configuration's network, optimiser and rewiring, stepped on batches it is given.

    The network comes from the point's model plug-in (bench.plugins.model), built for the data
    set's sample shape and classes (`data`: the group's data set spec, or the point's own)."""

    def __init__(self, cfg: PointConfig, device: torch.device, data: DatasetSpec | None = None):
        self.config = cfg
        data = data or open_dataset(cfg)
        context = ModelContext(settings=cfg.settings or _implied_settings(cfg), options=dict(cfg.model_options),
                               device=device, seed=cfg.seed, num_steps=cfg.net.num_steps,
                               batch_size=cfg.loader.batch_size, forward=cfg.net.forward,
                               sample_shape=data.shape(), num_classes=data.num_classes)
        # Same seed, same initial weights in every variant: the weights' own stream (snn.seeds),
        # never the one DeepR draws its masks from; a model that builds differently twice is refused.
        self.spec, context = _build_model(cfg, context)
        if (problem := nondeterminism(cfg.model, context, self.spec)) is not None:
            raise PluginError(problem)
        # pipeline:fastest, as it ran on this model and data (None for any other variant)
        self.resolved_variant = _resolved_variant(cfg, context.forward, data) if cfg.fastest else None
        net = self.spec.module
        optimiser = OPTIMISER_CLASSES[cfg.optimiser](net.parameters(), lr=cfg.lr)
        loss = CheckedLoss(self.spec.loss_fn(), self.spec.layout, data.num_classes)
        self.trainer = Trainer(net=net, optimiser=optimiser, device=device, loss_fn=loss,
                               reset=self.spec.reset, autocast=apply_approximation(cfg, self.spec, device))
        rewired = [Rewired(name, p) for name, p in self.spec.rewirable_parameters()]
        self.rewiring = build_point_rewiring(cfg, rewired, optimiser)
        if self.rewiring is not None:
            self.trainer.rewire = self.rewiring.step
        self.weights = [r.weight for r in rewired]  # what a rule may rewire
        self.step_samples: list[float] = []
        self.losses: list[float] = []
        self.traffic: TrafficRecorder | None = None
        self.step = own_step(self.spec, self.trainer)  # the harness's step, or the plug-in's own
        self.floor: SynapseFloor | None = None  # captured in the first warm-up step (fastest only)
        self.data_floor: DataFloor | None = None  # likewise

    def warm_up(self, batches) -> None:
        """One untimed step; the first of a pipeline:fastest point also records what its Linear and
        Conv layers read, for the synapses-only floor, and which dataset its loader reads, for
        data_wait's floor, both timed beside each measured step."""
        if self.config.fastest and self.floor is None:
            layers = [module for _, module in self.spec.synapses()]
            self.floor = SynapseFloor.capture(layers, lambda: self.step(batches, NullTimer()))
            self.data_floor = DataFloor.of(getattr(batches, "loader", None), self.config.loader.batch_size)
        else:
            self.step(batches, NullTimer())

    def measure(self, batches, timer: StageTimer, clock) -> None:
        """One timed step: its stages into `timer`, its whole duration and loss here; then,
        untimed, the rewiring traffic of its update."""
        if self.rewiring is not None and self.traffic is None:
            self.traffic = TrafficRecorder(self.rewiring)  # the active sets before the first
        start = clock()
        result = self.step(batches, timer)
        timer.finish_step()  # synchronises: the step's device work is done after this
        self.step_samples.append(clock() - start)
        if self.spec.step is not None:  # the plug-in's own step: the time outside its markers
            record_unmarked(timer, self.step_samples[-1])
        with timer.stage(OVERHEAD_STAGE):
            pass
        with timer.stage(FLOOR_STAGE):  # beside the rewiring stage, in the report
            elementwise_floor(self.weights)
        if self.data_floor is not None:  # beside data_wait
            with timer.stage(DATA_FLOOR_STAGE):
                self.data_floor.read()
        if self.floor is not None:  # beside forward and backward
            with timer.stage(FORWARD_FLOOR_STAGE):
                self.floor.forward()
            with timer.stage(BACKWARD_FLOOR_STAGE):
                self.floor.backward()
        timer.finish_step()
        self.losses.append(float(result.loss))
        if not math.isfinite(self.losses[-1]):
            raise Diverged(f"its loss was {self.losses[-1]} at timed step {len(self.losses)}: a point whose "
                           "training diverged is not timed or ranked (its arithmetic on NaN and inf is not "
                           "the work a training step does); lower lr, or find where the model's forward "
                           "makes NaN (snn-bench check FILE)")
        if self.traffic is not None:
            self.traffic.record()

    def check_rule(self) -> None:
        """RuleBroken when the point's rule (exact DeepR, or deepr:custom) breaks its invariants now,
        after the timed steps: `snn-bench check` runs only a few updates, and a rule that breaks
        later would be timed and ranked at a connectivity it no longer keeps."""
        deepr = self.config.deepr
        if (self.rewiring is None or deepr.variant not in INVARIANT_RULES
                or deepr.budget != "per_layer" or deepr.schedule_start is not None):
            return  # a global budget or a schedule sets no fixed K per parameter to hold it to
        targets = targets_of(self.weights, deepr.per_layer(len(self.weights)))
        problems = invariant_problems(self.rewiring, self.weights, targets,
                                      f"after {len(self.losses)} timed step(s)")
        if problems:
            raise RuleBroken(f"deepr:{self.config.deepr.variant} broke its invariants: {'; '.join(problems[:3])}; "
                             "a point is timed only while its rule keeps K active connections per parameter "
                             "and its dormant weights zero: fix the rule's step() (snn-bench check runs its "
                             "first updates)")

    def connections(self) -> tuple[int, int]:
        """(active, total) rewired connections; a dense net keeps all of them."""
        total = sum(w.numel() for w in self.weights)
        if self.rewiring is None:
            return total, total
        return sum(int(mask.sum()) for mask in self.rewiring.active_masks()), total


def _implied_settings(cfg: PointConfig) -> Settings:
    """The settings a config made by hand (not by bench.config.point_config) implies, for the
    model context: its network preset, time steps, batch and seed."""
    implied = {"num_steps": cfg.net.num_steps, "batch_size": cfg.loader.batch_size, "seed": cfg.seed,
               "model": cfg.model, "dataset": cfg.dataset}
    if cfg.net.layer_type is not None:
        implied["layer_type"] = cfg.net.layer_type
    return normalise(implied)


FASTEST_FORWARDS = ("fused", "multistep", "reference")  # pipeline:fastest's order of preference


def apply_approximation(cfg: PointConfig, spec: ModelSpec, device: torch.device) -> torch.dtype | None:
    """The point's approximate variant (snn.approx) on its model: sparseprop swaps its Linear layers;
    the dtype its forward autocasts to (bf16) is returned for the Trainer. Refused, naming the fix,
    where it cannot run as intended (no native bf16, sparseprop absent, a plug-in's own step)."""
    name = cfg.net.approximation
    if name == "as_built":
        return None
    check_approximation(name, device)
    if spec.step is not None:
        raise PluginError(f"approx:{name} applies to the harness's training step, and model {cfg.model!r} "
                          "brings its own: drop approx from the variant for this model")
    if name == "sparseprop" and use_sparseprop([module for _, module in spec.synapses()]) == 0:
        raise PluginError(f"approx:sparseprop swaps nn.Linear layers, and model {cfg.model!r} has none: "
                          "drop approx:sparseprop for this model")
    return autocast_dtype(name)


def _build_model(cfg: PointConfig, context: ModelContext) -> tuple[ModelSpec, ModelContext]:
    """The model for the point's forward variant; under pipeline:fastest, for the fastest
    forward the model implements (NotApplicable only when it implements none of them)."""
    if not cfg.fastest:
        return build_model(cfg.model, context), context
    reasons = []
    for forward in FASTEST_FORWARDS:
        attempt = replace(context, forward=forward)
        try:
            return build_model(cfg.model, attempt), attempt
        except NotApplicable as why:
            reasons.append(str(why))
    raise NotApplicable("; ".join(reasons))


def _resolved_variant(cfg: PointConfig, forward: str, data: DatasetSpec) -> str:
    """The variant pipeline:fastest ran: its forward, and no framing or cache for data that is
    not events."""
    variant = parse_variant(cfg.settings.variant).with_choice("forward", forward)
    if data.events is None:
        variant = variant.with_choice("framing", "tonic").with_choice("cache", "off")
    return variant.name
