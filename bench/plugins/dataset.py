"""The data set contract: the user's training and test data, loaded by the harness's DataLoader.

A data set is made by a factory, `factory(context: DatasetContext) -> DatasetSpec`, named by the
`dataset` setting. The harness wraps the splits in its DataLoader (workers, pinning, the endless
sampler, the notebook's `next(iter(loader))`), so `data_wait` and `h2d` are timed as for the seed
data. A sample is `(input, target)`; the model receives the batch of inputs as the loader stacks
them.

Event data says so (`events=EventInfo(...)`): it is framed from the point's `FrameConfig`
(`context.frames`), so the framing variants and the frame cache apply to it. Any other data is
read as it is, and those variants are skipped for it with the reason.

The seed data set (snn.plugin:dvs_gesture, DVS Gesture through tonic) is one such factory.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch.utils.data import Dataset

from bench.plugins.reference import NotApplicable, PluginError, PluginOptions, load_factory
from snn.config import FrameConfig

SETTING = "dataset"


@dataclass(frozen=True)
class DatasetContext(PluginOptions):
    """What a data set factory is given (read-only); `generator()`, `option()` and
    `refuse_unknown_options()` as PluginOptions reads them."""

    OPTIONS_SETTING, WHAT, STREAM = "dataset_options", "data set", "dataset"

    settings: object  # the point's bench.config.settings.Settings
    options: Mapping[str, object]  # the dataset_options table
    data_root: Path | None  # the data_root setting as a folder ("synthetic": the bundled set's)
    synthetic: bool  # data_root names the bundled synthetic set: write it if it is missing
    seed: int
    num_steps: int  # T: the time steps a sample must hold
    frames: FrameConfig  # how event data is framed (frame size, framing variant)
    bad_samples: str  # "error" or "skip": what to do with a sample file that fails its checks
    cache_root: Path  # snn-bench's cache folder (a plug-in may keep derived files there)


@dataclass(frozen=True)
class EventInfo:
    """Event-camera data, framed by the harness's framing variants and cacheable as frames."""

    sensor_size: tuple[int, int, int]  # (W, H, P), as tonic spells it


@dataclass
class DatasetSpec:
    """The splits and what the harness records of them."""

    train: Dataset
    test: Dataset
    num_classes: int
    fingerprint: str  # what the data is, independent of where it lies: rows record it
    sample_shape: tuple[int, ...] | None = None  # one input; None: read from train[0]
    cache_key: str | None = None  # names the content; with `events`, keys the frame cache
    events: EventInfo | None = None
    root: Path | None = None  # the folder the data was read from, recorded with each point
    collate: Callable | None = None  # None: the harness's (stacked tensors; tonic's padding for events)
    line_targets: Sequence[Callable | str] = ()  # what `snn-bench profile` reads in the "data" area
    skipped: list = field(default_factory=list)  # samples left out (bad_samples = "skip")

    def __post_init__(self) -> None:
        for name in ("train", "test"):
            split = getattr(self, name)
            if not (hasattr(split, "__getitem__") and hasattr(split, "__len__")):
                raise PluginError(f"{SETTING}: the spec's {name} split is a {type(split).__name__}, not a "
                                  "map-style data set (with __getitem__ and __len__)")
        if not isinstance(self.num_classes, int) or self.num_classes < 2:
            raise PluginError(f"{SETTING}: num_classes must be a whole number of at least 2, got {self.num_classes!r}")

    def shape(self) -> tuple[int, ...]:
        if self.sample_shape is None:
            self.sample_shape = tuple(torch.as_tensor(self.train[0][0]).shape)
        return tuple(self.sample_shape)

    def split_cache_key(self, train: bool, frames: FrameConfig) -> str | None:
        """The frame cache's folder name for one split framed by `frames` (None: not cacheable)."""
        if self.events is None or self.cache_key is None:
            return None
        text = f"{self.cache_key}|{'train' if train else 'test'}|{sorted(vars(frames).items())}"
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def build_dataset(reference: str, context: DatasetContext) -> DatasetSpec:
    """The spec a reference's factory makes for `context`; PluginError when it returns another type."""
    factory, _ = load_factory(reference, SETTING, "DatasetContext")
    spec = factory(context)
    if not isinstance(spec, DatasetSpec):
        raise PluginError(f"{SETTING} {reference}: the factory returned a {type(spec).__name__}; return a "
                          "bench.plugins.dataset.DatasetSpec(train=..., test=..., num_classes=..., fingerprint=...)")
    return spec


def refuse_event_variants(spec: DatasetSpec, reference: str, framing: str, cached: bool) -> None:
    """NotApplicable when a point asks to frame or cache data that is not events."""
    if spec.events is not None:
        return
    if framing != "tonic":
        raise NotApplicable(f"framing:{framing} does not apply to dataset {reference}: it is not event data "
                            "(its spec has no events=EventInfo), so there is nothing to frame")
    if cached:
        raise NotApplicable(f"cache:frames does not apply to dataset {reference}: it is not event data, so "
                            "there are no frames to cache")


__all__ = ["DatasetContext", "DatasetSpec", "EventInfo", "NotApplicable", "build_dataset", "refuse_event_variants"]
