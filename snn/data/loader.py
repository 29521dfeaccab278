"""DataLoader settings and construction: the knobs the `num_workers` sweep turns."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from tonic.collation import PadTensors
from torch.utils.data import BatchSampler, DataLoader, Dataset, RandomSampler, Sampler

from snn.config import LoaderConfig
from snn.errors import UserError

ENDLESS_SAMPLES = 2**40  # drawn lazily, one permutation at a time


class BatchLargerThanDataError(UserError, ValueError):
    """The dataset holds fewer samples than one (dropped-last) batch."""


class BadBatch(UserError, ValueError):
    """A batch whose samples or labels are not what their data set declares."""


def stack_batch(batch):
    """(frames (B, T, P, H, W) in the samples' dtype, targets (B,) int64): no padding, no cast."""
    frames, targets = zip(*batch)
    shapes = {tuple(torch.as_tensor(f).shape) for f in frames}
    if len(shapes) > 1:
        raise BadBatch(f"one batch holds samples of {len(shapes)} shapes ({', '.join(map(str, sorted(shapes)[:3]))}): "
                       "stacked samples must share one shape; make the data set's samples one shape (pad or "
                       "crop them), or give its spec a collate that pads")
    return torch.stack([torch.as_tensor(f) for f in frames]), torch.tensor(targets, dtype=torch.int64)


@dataclass(frozen=True)
class CheckedCollate:
    """`collate`, then a check of what it made: every label in [0, num_classes) and, where
    `sample_shape` is given, every sample of that shape. It runs where the batch is made (in a
    worker, or in the main process without workers: a min and a max over B labels, microseconds),
    so a label out of range fails its batch with the fix instead of scoring 0% or reaching the
    loss as an index error."""

    collate: Callable
    num_classes: int
    sample_shape: tuple[int, ...] | None = None

    def __call__(self, batch):
        made = self.collate(batch)
        if not (isinstance(made, (tuple, list)) and len(made) == 2 and isinstance(made[1], torch.Tensor)):
            return made  # a collate of the data set's own with another batch layout
        frames, targets = made
        if targets.numel() and not targets.is_floating_point():
            low, high = int(targets.min()), int(targets.max())
            if low < 0 or high >= self.num_classes:
                raise BadBatch(f"a label of {low if low < 0 else high} in a batch where the data set declares "
                               f"num_classes = {self.num_classes} (labels 0 to {self.num_classes - 1}): fix its "
                               "labels, or its spec's num_classes")
        if (self.sample_shape is not None and isinstance(frames, torch.Tensor)
                and tuple(frames.shape[1:]) != tuple(self.sample_shape)):
            raise BadBatch(f"samples of shape {tuple(frames.shape[1:])} where the data set declares sample_shape "
                           f"= {tuple(self.sample_shape)}: fix its spec's sample_shape (or leave it None to read "
                           "it from the first sample)")
        return made


class RepeatedBatches(Sampler):
    """Each batch of `batches` `copies` times in a row: the order a group of `copies` points
    taking turns reads, so that every point's i-th step trains on the same samples while each
    loads its own copy (its data_wait stays its own).

    A persistent iterator repeats each batch within itself. The notebook's loading takes only the
    first batch of a new iterator at every step, so there `copies` consecutive iterators replay
    one state of the sampler's generator and start with the same batch."""

    def __init__(self, batches: BatchSampler, copies: int, generator: torch.Generator, per_iterator: bool):
        super().__init__()
        if copies < 1:
            raise ValueError(f"copies must be at least 1, got {copies}")
        self.batches, self.copies, self.generator, self.per_iterator = batches, copies, generator, per_iterator
        self._iterators = 0
        self._state = None

    def __len__(self) -> int:
        return len(self.batches) * (1 if self.per_iterator else self.copies)

    def __iter__(self):
        if self.per_iterator:
            if self._iterators % self.copies == 0:
                self._state = self.generator.get_state()  # the first of `copies` iterators draws
            else:
                self.generator.set_state(self._state)  # the others replay its draw
            self._iterators += 1
            yield from self.batches
            return
        for batch in self.batches:
            for _ in range(self.copies):
                yield batch


def default_collate(cfg: LoaderConfig):
    """The config's collate: tonic's padding along time ("pad"), or stacking ("stack")."""
    return PadTensors(batch_first=True) if cfg.collate == "pad" else stack_batch


def build_loader(dataset: Dataset, cfg: LoaderConfig, worker_init_fn=None, collate_fn=None,
                 copies: int = 1) -> DataLoader:
    """A DataLoader yielding (frames (B, T, P, H, W) float32, targets (B,) int64).

    Iterate it once per epoch (`for batch in loader`): the notebook's `next(iter(loader))` per
    step starts and tears down every worker each time. `worker_init_fn` runs in each worker
    process as it starts (the profiler hooks its line profiler in there). `collate_fn`: None
    takes the config's (tonic's padding, or stacking). `copies` > 1: each batch read that many
    times in a row (RepeatedBatches), for the points of a group that take turns.
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
    if copies > 1:  # the same sampler DataLoader would build, its batches repeated
        sampler = extra.get("sampler") or (RandomSampler(dataset, generator=generator) if cfg.shuffle
                                           else torch.utils.data.SequentialSampler(dataset))
        batches = BatchSampler(sampler, cfg.batch_size, cfg.drop_last)
        extra = {"batch_sampler": RepeatedBatches(batches, copies, generator, per_iterator=cfg.loading == "next_iter"),
                 "generator": generator}
    if cfg.num_workers > 0:
        extra.update(persistent_workers=cfg.persistent_workers,
                     prefetch_factor=cfg.prefetch_factor or 2)
    if "batch_sampler" not in extra:
        extra.update(batch_size=cfg.batch_size, drop_last=cfg.drop_last)
    return DataLoader(
        dataset,
        num_workers=cfg.num_workers,
        pin_memory=cfg.pin_memory,
        collate_fn=collate_fn or default_collate(cfg),
        worker_init_fn=worker_init_fn,
        **extra,
    )
