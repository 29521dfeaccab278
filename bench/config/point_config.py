"""A point's nested config (`PointConfig`), and the one function that builds it from normalised
settings (bench.config.settings). Imports nothing heavy: planning and listing hash these configs.

The one function that knows where each flat setting goes: `num_steps` sets both the network's
time loop and the framed time bins, `lr` and `seed` feed Adam, DeepR and the loader from one
value each, and the variant picks each component's implementation.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, replace

from bench.config.settings import (
    SEED_DATASET,
    SEED_MODEL,
    Settings,
    data_path,
    effective_lr,
    frame_cache_root,
    normalise,
)
from bench.config.variants import parse_variant, pipeline_name
from snn.config import DeepRConfig, FrameConfig, LoaderConfig, NetConfig
from snn.seeds import stream_seed


@dataclass(frozen=True)
class PointConfig:
    """One benchmark point: what to build and how long to time it."""

    data_root: str | None = None  # None: $SNN_BENCH_DATA
    bad_samples: str = "error"  # or "skip": leave out event files that fail the checks
    net: NetConfig = field(default_factory=NetConfig)
    frames: FrameConfig = field(default_factory=FrameConfig)
    loader: LoaderConfig = field(default_factory=LoaderConfig)
    frame_cache: str | None = None  # cache:frames: the frame cache's root; None frames every read
    deepr: DeepRConfig = field(default_factory=lambda: DeepRConfig(variant="none"))
    device: str = "cpu"
    threads: int | None = None  # intra-op threads; None: one per core. Always set explicitly.
    flush_denormal: bool = False  # denormal floats (decaying membranes) are slow on CPUs
    lr: float = 5e-3
    optimiser: str = "adam"  # snn.names.OPTIMISERS
    warmup_steps: int = 2
    measured_steps: int = 10
    runs: int = 1  # independent runs of the point's group (bench.run.sweep); a group run is one of them
    disturbed_reruns: int = 2  # times a group run the machine disturbed is timed again (bench.run.sweep)
    seed: int = 0
    workload_batches: int = 0  # after timing: NeuroBench metrics over this many test batches
    # deepr:custom: the rule's factory (bench.plugins.rewiring) and its options, as sorted items
    rewiring_rule: str | None = None
    rewiring_options: tuple[tuple[str, object], ...] = ()
    # the model and data set plug-ins (bench.plugins.model, .dataset) and their options
    model: str = SEED_MODEL
    model_options: tuple[tuple[str, object], ...] = ()
    dataset: str = SEED_DATASET
    dataset_options: tuple[tuple[str, object], ...] = ()
    # The settings this config was made from, for plug-ins' contexts; never compared or hashed.
    settings: Settings | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.net.num_steps != self.frames.n_time_bins:
            raise ValueError(
                f"net.num_steps={self.net.num_steps} differs from frames.n_time_bins="
                f"{self.frames.n_time_bins}: the network loops over exactly the framed time bins"
            )
        if self.model == SEED_MODEL and self.dataset == SEED_DATASET and self.net.input_shape != self.frames.frame_shape:
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
    def fastest(self) -> bool:
        """pipeline:fastest: each component takes the fastest variant that applies to the model
        and data (bench.measure.point records which)."""
        return self.settings is not None and pipeline_name(self.settings.variant) == "pipeline:fastest"

    def plugins(self) -> list[str]:
        """The plug-ins this point is built from, whose source digests its rows record."""
        return [self.dataset, self.model] + ([self.rewiring_rule] if self.rewiring_rule else [])

    @property
    def resolved_threads(self) -> int:
        return self.threads or os.cpu_count() or 1



def loader_key(cfg: PointConfig) -> PointConfig:
    """What points must share to be fed from one DataLoader and timed side by side: everything
    but the rewiring rule, the model, the forward pass, its approximation and the training rule (lr, optimiser: DeepR
    points train at lr / connectivity by default, and still share dense points' batches). The sweep
    plan groups points by it and `run_group` refuses a group whose members differ in it;
    nothing else decides this."""
    return replace(cfg, deepr=DeepRConfig(variant="none"), net=replace(cfg.net, forward="reference", approximation="as_built"),
                   lr=PointConfig.lr, optimiser=PointConfig.optimiser, rewiring_rule=None,
                   rewiring_options=(), model=PointConfig.model, model_options=())


def group_key(cfg: PointConfig) -> dict:
    """What a group's id hashes: `loader_key` as a dict. Fields added after groups were stored are
    left out while they hold their default (the rule's and the model's always do in a loader key),
    so group ids stay those of the points stored before a plug-in could be named."""
    key = asdict(loader_key(cfg))
    del key["settings"]
    for name in ("rewiring_rule", "rewiring_options", "model", "model_options", "dataset", "dataset_options",
                 "disturbed_reruns"):
        if key[name] == getattr(PointConfig, name):
            del key[name]
    for name in ("input_gain", "approximation"):  # added later (a model option; always its default)
        if key["net"][name] == getattr(NetConfig, name):
            del key["net"][name]
    return key


def _items(table: dict | None) -> tuple[tuple[str, object], ...]:
    """An options table as sorted (name, value) items, lists as tuples: hashable and frozen."""
    return tuple(sorted((name, tuple(v) if isinstance(v, list) else v) for name, v in (table or {}).items()))


def point_config(settings: Settings | dict) -> PointConfig:
    """The nested config of a point's settings: `Settings` as they are (normalised once, where
    they were made); a dict of settings is normalised here (SettingError when invalid)."""
    s = settings if isinstance(settings, Settings) else normalise(settings)
    variant = parse_variant(s.variant)
    lr = effective_lr(s)  # the one learning rate: Adam's or SGD's, and DeepR's η
    cached = variant.of("cache") == "frames"  # frames from the cache, int16 until the device
    frames = FrameConfig(frame_size=s.frame_size, n_time_bins=s.num_steps,
                         framing=variant.of("framing"))
    return PointConfig(
        data_root=data_path(s.data_root),
        bad_samples=s.bad_samples,
        net=NetConfig(layer_type=s.layer_type, num_steps=s.num_steps,
                      input_shape=frames.frame_shape, forward=variant.of("forward"),
                      approximation=variant.of("approx")),
        frames=frames,
        loader=LoaderConfig(batch_size=s.batch_size, num_workers=s.num_workers,
                            pin_memory=s.pin_memory, seed=stream_seed(s.seed, "data"),
                            persistent_workers=s.persistent_workers and s.num_workers > 0,
                            endless=s.endless_sampler, loading=variant.of("loading"),
                            collate="stack" if cached else "pad"),
        frame_cache=str(frame_cache_root()) if cached else None,
        deepr=DeepRConfig(variant=variant.of("deepr"), connectivity=s.connectivity,
                          l1=s.l1, temperature=s.temperature, lr=lr, seed=s.seed,
                          sparse_init=s.sparse_init),
        # (DeepR splits its seed into its own streams; the loader's order and the weights each
        # get another: snn.seeds)
        device=s.device,
        threads=s.threads,
        flush_denormal=s.flush_denormal,
        lr=lr,
        optimiser=s.optimiser,
        warmup_steps=s.warmup_steps,
        workload_batches=s.workload_batches,
        rewiring_rule=s.rewiring_rule,
        rewiring_options=_items(s.rewiring_options),
        model=s.model,
        model_options=_items(s.model_options),
        dataset=s.dataset,
        dataset_options=_items(s.dataset_options),
        measured_steps=s.measured_steps,
        runs=s.runs,
        disturbed_reruns=s.disturbed_reruns,
        seed=s.seed,
        settings=s,
    )
