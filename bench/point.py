"""Build and time one configuration: the unit every sweep, profiler and test reuses."""

from __future__ import annotations

import os
import platform
import time
from dataclasses import asdict, dataclass, field

import torch

from bench.timing import SyncedStageTimer
from snn.data.dvsgesture import open_split, resolve_data_root
from snn.data.loader import LoaderConfig, build_loader
from snn.data.synth import read_manifest
from snn.data.transforms import FrameConfig, build_transform
from snn.deepr import DeepRConfig, build_rewiring
from snn.model import NetConfig, build_net
from snn.train import NullTimer, Trainer, train_step


class DeviceUnavailableError(RuntimeError):
    """The requested device is not present on this machine."""


def resolve_device(name: str) -> torch.device:
    device = torch.device(name)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise DeviceUnavailableError(
            f"device {name!r} was asked for but torch.cuda.is_available() is False "
            f"(torch {torch.__version__}, CUDA build: {torch.version.cuda or 'no'}); "
            "use --device cpu, or install a CUDA build of torch (see README)"
        )
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise DeviceUnavailableError(
            f"device {name!r} does not exist: this machine has {torch.cuda.device_count()} CUDA device(s)"
        )
    if device.type == "mps" and not torch.backends.mps.is_available():
        raise DeviceUnavailableError(f"device {name!r} was asked for but MPS is not available here; use --device cpu")
    if device.type not in ("cpu", "cuda", "mps"):
        raise DeviceUnavailableError(f"unsupported device {name!r}: use cpu, cuda[:N] or mps")
    return device


@dataclass(frozen=True)
class PointConfig:
    """One benchmark point: what to build and how long to time it."""

    data_root: str | None = None  # None: $SNN_BENCH_DATA
    net: NetConfig = field(default_factory=NetConfig)
    frames: FrameConfig = field(default_factory=FrameConfig)
    loader: LoaderConfig = field(default_factory=LoaderConfig)
    deepr: DeepRConfig = field(default_factory=lambda: DeepRConfig(variant="none"))
    device: str = "cpu"
    threads: int | None = None  # intra-op threads; None: one per core. Always set explicitly.
    lr: float = 5e-3
    warmup_steps: int = 2
    measured_steps: int = 10
    seed: int = 0

    def __post_init__(self) -> None:
        if self.net.num_steps != self.frames.n_time_bins:
            raise ValueError(
                f"net.num_steps={self.net.num_steps} differs from frames.n_time_bins="
                f"{self.frames.n_time_bins}: the network loops over exactly the framed time bins"
            )
        if self.net.input_shape != self.frames.frame_shape:
            raise ValueError(
                f"net.input_shape={self.net.input_shape} differs from the frame shape "
                f"{self.frames.frame_shape}"
            )
        if self.warmup_steps < 0 or self.measured_steps < 1:
            raise ValueError(
                f"need warmup_steps >= 0 and measured_steps >= 1, got {self.warmup_steps} "
                f"and {self.measured_steps}"
            )
        if self.threads is not None and self.threads < 1:
            raise ValueError(f"threads must be at least 1, got {self.threads}")

    @property
    def resolved_threads(self) -> int:
        return self.threads or os.cpu_count() or 1


class EpochCycler:
    """Next batch from the loader, starting a new epoch (a new iterator) when one ends."""

    def __init__(self, loader):
        self.loader = loader
        self.epoch_restarts = 0
        self._iterator = iter(loader)

    def __iter__(self):
        return self

    def __next__(self):
        try:
            return next(self._iterator)
        except StopIteration:
            self.epoch_restarts += 1
            self._iterator = iter(self.loader)
            return next(self._iterator)


@dataclass
class PointResult:
    config: PointConfig
    stage_samples: dict[str, list[float]]  # seconds, one per measured step
    step_samples: list[float]  # whole-step seconds, one per measured step
    losses: list[float]
    epoch_restarts: int  # epochs started during measured steps (worker start-up lands in data_wait)
    environment: dict

    def to_dict(self) -> dict:
        return asdict(self)


def describe_environment(device: torch.device, root) -> dict:
    import numpy as np
    import snntorch
    import tonic

    return {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "snntorch": snntorch.__version__,
        "tonic": tonic.__version__,
        "numpy": np.__version__,
        "cpu_count": os.cpu_count(),
        "threads": torch.get_num_threads(),
        "device": str(device),
        "gpu": torch.cuda.get_device_name(device) if device.type == "cuda" else None,
        "data_root": str(root),
        "synthetic_data": read_manifest(root) is not None,
    }


def run_point(cfg: PointConfig) -> PointResult:
    """Warm up, then time `measured_steps` training steps stage by stage."""
    device = resolve_device(cfg.device)
    torch.set_num_threads(cfg.resolved_threads)
    torch.manual_seed(cfg.seed)
    root = resolve_data_root(cfg.data_root)
    train_set = open_split(root, train=True, transform=build_transform(cfg.frames))
    loader = build_loader(train_set, cfg.loader)
    net = build_net(cfg.net).to(device)
    optimiser = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    trainer = Trainer(net=net, optimiser=optimiser, device=device)
    rewiring = build_rewiring(net.weight_layers(), cfg.deepr, optimiser)
    if rewiring is not None:
        trainer.rewire = rewiring.step
    batches = EpochCycler(loader)
    for _ in range(cfg.warmup_steps):
        train_step(trainer, batches, NullTimer())
    restarts_before = batches.epoch_restarts
    timer = SyncedStageTimer(device)
    steps, losses = [], []
    for _ in range(cfg.measured_steps):
        start = time.perf_counter()
        result = train_step(trainer, batches, timer)
        steps.append(time.perf_counter() - start)  # the timer synced at the step's last stage
        losses.append(float(result.loss))
    return PointResult(
        config=cfg,
        stage_samples=dict(timer.samples),
        step_samples=steps,
        losses=losses,
        epoch_restarts=batches.epoch_restarts - restarts_before,
        environment=describe_environment(device, root),
    )
