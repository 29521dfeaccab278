"""Build and step one configuration: the unit every sweep group, profiler and test reuses.

A `PointSession` is one network, optimiser and rewiring rule, stepped on batches it is handed;
the DataLoader belongs to the caller, so several sessions can share one (see bench.measure.group).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import torch

from bench.config.devices import resolve_device
from bench.config.point_config import PointConfig
from bench.measure.stages import FLOOR_STAGE, OVERHEAD_STAGE
from bench.measure.timing import elementwise_floor
from bench.measure.traffic import Traffic, TrafficRecorder
from bench.plugins.rewiring import build_point_rule
from bench.run.progress import CountProgress
from snn.data.dvsgesture import open_split, resolve_data_root
from snn.data.frame_cache import FrameCache
from snn.data.loader import build_loader
from snn.data.transforms import build_transform
from snn.deepr import build_rewiring
from snn.model import build_net
from snn.seeds import stream_seed
from snn.train import NullTimer, StageTimer, Trainer, train_step

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
        """Stop the worker processes now (they run their exit handlers), not at garbage collection."""
        shutdown = getattr(self._iterator, "_shutdown_workers", None)
        if shutdown is not None:
            shutdown()


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
    torch.set_num_threads(cfg.resolved_threads)
    torch.set_flush_denormal(cfg.flush_denormal)
    return device


def open_batches(cfg: PointConfig, worker_init_fn=None) -> tuple[Batches, Path]:
    """A fresh DataLoader over the training split, as the point's loading takes batches from
    it (one iterator cycled across epochs, or a new one every step); and the data root."""
    root = resolve_data_root(cfg.data_root)
    dataset = open_split(root, train=True, transform=build_transform(cfg.frames),
                         bad_samples=cfg.bad_samples)
    build_s = None
    if cfg.frame_cache is not None:  # filled here, before any timing, and timed on its own
        dataset = FrameCache.for_split(dataset, cfg.frames, Path(cfg.frame_cache), root)
        build_s = dataset.fill(CountProgress("frame cache", "sample"))
    loader = build_loader(dataset, cfg.loader, worker_init_fn=worker_init_fn)
    batches = (NotebookBatches if cfg.loader.loading == "next_iter" else EpochCycler)(loader)
    batches.cache_build_s = build_s
    return batches, root


def open_test_loader(cfg: PointConfig, root: Path):
    """The held-out test users, in order, every sample once, framed as the point's training data
    (from the same frame cache when the point uses one)."""
    dataset = open_split(root, train=False, transform=build_transform(cfg.frames), bad_samples=cfg.bad_samples)
    if cfg.frame_cache is not None:
        dataset = FrameCache.for_split(dataset, cfg.frames, Path(cfg.frame_cache), root)
        dataset.fill()
    plain = replace(cfg.loader, shuffle=False, endless=False, drop_last=False, num_workers=0,
                    persistent_workers=False, prefetch_factor=None, loading="persistent")
    return build_loader(dataset, plain)


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


class PointSession:
    """One configuration's network, optimiser and rewiring, stepped on batches it is given."""

    def __init__(self, cfg: PointConfig, device: torch.device):
        self.config = cfg
        # Same seed, same initial weights in every variant: the weights' own stream (snn.seeds),
        # never the one DeepR draws its masks from.
        torch.manual_seed(stream_seed(cfg.seed, "weights"))
        net = build_net(cfg.net).to(device)
        optimiser = OPTIMISER_CLASSES[cfg.optimiser](net.parameters(), lr=cfg.lr)
        self.trainer = Trainer(net=net, optimiser=optimiser, device=device)
        if cfg.deepr.variant == "custom":  # a rule of the user's, through the plug-in contract
            self.rewiring = build_point_rule(cfg.rewiring_rule, dict(cfg.rewiring_options),
                                             net.weight_layers(), cfg.deepr, optimiser)
        else:
            self.rewiring = build_rewiring(net.weight_layers(), cfg.deepr, optimiser)
        if self.rewiring is not None:
            self.trainer.rewire = self.rewiring.step
        self.weights = [layer.weight for layer in net.weight_layers()]  # what DeepR rewires
        self.step_samples: list[float] = []
        self.losses: list[float] = []
        self.traffic: TrafficRecorder | None = None

    def warm_up(self, batches) -> None:
        train_step(self.trainer, batches, NullTimer())

    def measure(self, batches, timer: StageTimer, clock) -> None:
        """One timed step: its stages into `timer`, its whole duration and loss here; then,
        untimed, the rewiring traffic of its update."""
        if self.rewiring is not None and self.traffic is None:
            self.traffic = TrafficRecorder(self.rewiring)  # the active sets before the first
        start = clock()
        result = train_step(self.trainer, batches, timer)
        timer.finish_step()  # synchronises: the step's device work is done after this
        self.step_samples.append(clock() - start)
        with timer.stage(OVERHEAD_STAGE):
            pass
        with timer.stage(FLOOR_STAGE):  # beside the rewiring stage, in the report
            elementwise_floor(self.weights)
        timer.finish_step()
        self.losses.append(float(result.loss))
        if self.traffic is not None:
            self.traffic.record()

    def connections(self) -> tuple[int, int]:
        """(active, total) rewired connections; a dense net keeps all of them."""
        total = sum(w.numel() for w in self.weights)
        if self.rewiring is None:
            return total, total
        return sum(int(mask.sum()) for mask in self.rewiring.active_masks()), total
