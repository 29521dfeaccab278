"""DataLoader settings and construction: the knobs the `num_workers` sweep turns."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from tonic.collation import PadTensors
from torch.utils.data import DataLoader, Dataset, RandomSampler

from snn.errors import UserError
from snn.names import LOADINGS

ENDLESS_SAMPLES = 2**40  # drawn lazily, one permutation at a time


class BatchLargerThanDataError(UserError, ValueError):
    """The dataset holds fewer samples than one (dropped-last) batch."""


@dataclass(frozen=True)
class LoaderConfig:
    batch_size: int = 16
    num_workers: int = 0
    pin_memory: bool = False
    persistent_workers: bool = False
    prefetch_factor: int | None = None  # None: torch's default (2) when num_workers > 0
    shuffle: bool = True
    drop_last: bool = True  # every measured step sees a full batch
    # One endless shuffled stream (successive permutations of the dataset) instead of epochs:
    # benchmarks measure the steady state, and an epoch boundary (an empty prefetch queue, the
    # first batch of the next epoch loaded from scratch) would otherwise land on whichever
    # measured step happens to cross it.
    endless: bool = False
    seed: int = 0
    # persistent: one iterator across steps; next_iter: next(iter(loader)) at every step, as the
    # user's notebook does (a new iterator each step: the harness's NotebookBatches).
    loading: str = "persistent"
    # pad: tonic's PadTensors (frames of any length, as float32); stack: frames of one length
    # stacked as they are (the frame cache's int16, made float on the device).
    collate: str = "pad"

    def __post_init__(self) -> None:
        if self.collate not in ("pad", "stack"):
            raise ValueError(f"unknown collate {self.collate!r}: choose pad or stack")
        if self.loading not in LOADINGS:
            raise ValueError(f"unknown loading {self.loading!r}: choose one of {', '.join(LOADINGS)}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {self.batch_size}")
        if self.num_workers < 0:
            raise ValueError(f"num_workers must be 0 or more, got {self.num_workers}")
        if self.num_workers == 0 and (self.persistent_workers or self.prefetch_factor is not None):
            raise ValueError(
                "persistent_workers and prefetch_factor need worker processes: "
                "set num_workers > 0 or leave them unset"
            )
        if self.endless and not self.shuffle:
            raise ValueError("endless sampling draws shuffled permutations: set shuffle=True "
                             "or endless=False")
        if self.prefetch_factor is not None and self.prefetch_factor < 1:
            raise ValueError(f"prefetch_factor must be at least 1, got {self.prefetch_factor}")


def stack_batch(batch):
    """(frames (B, T, P, H, W) in the samples' dtype, targets (B,) int64): no padding, no cast."""
    frames, targets = zip(*batch)
    return torch.stack(frames), torch.tensor(targets, dtype=torch.int64)


def build_loader(dataset: Dataset, cfg: LoaderConfig, worker_init_fn=None) -> DataLoader:
    """A DataLoader yielding (frames (B, T, P, H, W) float32, targets (B,) int64).

    Iterate it once per epoch (`for batch in loader`): the notebook's `next(iter(loader))` per
    step starts and tears down every worker each time. `worker_init_fn` runs in each worker
    process as it starts (the profiler hooks its line profiler in there).
    """
    if len(dataset) < cfg.batch_size and cfg.drop_last:
        raise BatchLargerThanDataError(
            f"the dataset holds {len(dataset)} samples, fewer than one batch of {cfg.batch_size}: "
            "lower batch_size or write more data"
        )
    generator = torch.Generator().manual_seed(cfg.seed)
    extra: dict = {"shuffle": cfg.shuffle, "generator": generator}
    if cfg.endless:
        # num_samples beyond len(dataset) without replacement: permutation after permutation
        extra = {"sampler": RandomSampler(dataset, num_samples=ENDLESS_SAMPLES, generator=generator),
                 "generator": generator}
    if cfg.num_workers > 0:
        extra.update(persistent_workers=cfg.persistent_workers,
                     prefetch_factor=cfg.prefetch_factor or 2)
    return DataLoader(
        dataset,
        batch_size=cfg.batch_size,
        num_workers=cfg.num_workers,
        pin_memory=cfg.pin_memory,
        drop_last=cfg.drop_last,
        collate_fn=PadTensors(batch_first=True) if cfg.collate == "pad" else stack_batch,
        worker_init_fn=worker_init_fn,
        **extra,
    )
