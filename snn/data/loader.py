"""DataLoader settings and construction: the knobs the `num_workers` sweep turns."""

from __future__ import annotations

import torch
from tonic.collation import PadTensors
from torch.utils.data import DataLoader, Dataset, RandomSampler

from snn.config import LoaderConfig
from snn.errors import UserError

ENDLESS_SAMPLES = 2**40  # drawn lazily, one permutation at a time


class BatchLargerThanDataError(UserError, ValueError):
    """The dataset holds fewer samples than one (dropped-last) batch."""


def stack_batch(batch):
    """(frames (B, T, P, H, W) in the samples' dtype, targets (B,) int64): no padding, no cast."""
    frames, targets = zip(*batch)
    return torch.stack(frames), torch.tensor(targets, dtype=torch.int64)


def build_loader(dataset: Dataset, cfg: LoaderConfig, worker_init_fn=None, collate_fn=None) -> DataLoader:
    """A DataLoader yielding (frames (B, T, P, H, W) float32, targets (B,) int64).

    Iterate it once per epoch (`for batch in loader`): the notebook's `next(iter(loader))` per
    step starts and tears down every worker each time. `worker_init_fn` runs in each worker
    process as it starts (the profiler hooks its line profiler in there). `collate_fn`: None
    takes the config's (tonic's padding, or stacking).
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
        collate_fn=collate_fn or (PadTensors(batch_first=True) if cfg.collate == "pad" else stack_batch),
        worker_init_fn=worker_init_fn,
        **extra,
    )
