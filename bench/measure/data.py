"""A point's data, through its data set plug-in (bench.plugins.dataset): the spec, its splits
wrapped in the frame cache where the point asks for it, and the DataLoader the point's loading
takes batches from."""

from __future__ import annotations

from dataclasses import asdict, replace
from pathlib import Path

from bench.config.point_config import PointConfig
from bench.config.settings import SYNTHETIC_DATA, Settings, cache_root, synthetic_root
from bench.plugins.dataset import DatasetContext, DatasetSpec, build_dataset, refuse_event_variants
from bench.plugins.reference import NotApplicable, PluginError
from bench.run.progress import CountProgress
from snn.data.frame_cache import HASHES, FrameCache, cache_key
from snn.data.loader import CheckedCollate, build_loader, default_collate, stack_batch


def dataset_context(cfg: PointConfig, settings: Settings | None = None) -> DatasetContext:
    root = Path(cfg.data_root) if cfg.data_root else None
    return DatasetContext(settings=settings, options=dict(cfg.dataset_options), data_root=root,
                          synthetic=root is not None and root == synthetic_root(), seed=cfg.seed,
                          num_steps=cfg.net.num_steps, frames=cfg.frames, bad_samples=cfg.bad_samples,
                          cache_root=cache_root())


def open_dataset(cfg: PointConfig) -> DatasetSpec:
    """The point's data set spec; NotApplicable when the point frames or caches data that is not
    events (under pipeline:fastest those variants just do not apply: it reads the data as it is)."""
    spec = build_dataset(cfg.dataset, dataset_context(cfg, cfg.settings))
    if not cfg.fastest:
        refuse_event_variants(spec, cfg.dataset, cfg.frames.framing, cfg.frame_cache is not None)
    return spec


def dataset_key(cfg: PointConfig) -> tuple:
    """What decides the data a point reads: its data set plug-in, the plug-in's options, the root."""
    return cfg.dataset, cfg.dataset_options, cfg.data_root


def listed_dataset(cfg: PointConfig) -> DatasetSpec:
    """The point's data set built to make its data ready and say what it is (`data_state`), not to
    read it: under bad_samples = "skip" the per-file checks wait for the group's own build."""
    listed = replace(cfg, bad_samples="error")
    return build_dataset(listed.dataset, dataset_context(listed, cfg.settings))


def uses_frame_cache(spec: DatasetSpec, cfg: PointConfig) -> bool:
    return cfg.frame_cache is not None and spec.events is not None


def cached_split(spec: DatasetSpec, train: bool, cfg: PointConfig) -> FrameCache:
    """One split of event data behind the frame cache: keyed by its files' content where the split
    lists them (`paths`, one event file per sample), else by the spec's cache_key."""
    split = spec.train if train else spec.test
    root = Path(cfg.frame_cache)
    if not hasattr(split, "targets"):
        raise NotApplicable(f"cache:frames does not apply to dataset {cfg.dataset}: its splits have no "
                            "`targets` list (one label per sample) for the cache to check entries by")
    if hasattr(split, "paths"):
        key = cache_key(split.paths, split.targets, spec.root, asdict(cfg.frames), memo_file=root / HASHES)
    else:
        key = spec.split_cache_key(train, cfg.frames)
        if key is None:
            raise NotApplicable(f"cache:frames does not apply to dataset {cfg.dataset}: its splits list no "
                                "event files and its spec gives no cache_key to key the frames by")
    return FrameCache(split, spec.shape(), root / key)


def _collate(spec: DatasetSpec, cfg: PointConfig) -> CheckedCollate:
    """The split's collate (the spec's, stacking, or for events the loader config's padding),
    checked against what the spec declares (labels; the sample shape of data read as it is)."""
    collate = spec.collate or (stack_batch if spec.events is None else default_collate(cfg.loader))
    shape = spec.sample_shape if spec.events is None and spec.collate is None else None
    return CheckedCollate(collate, spec.num_classes, shape)


def open_loader(spec: DatasetSpec, cfg: PointConfig, worker_init_fn=None, copies: int = 1):
    """(a DataLoader over the training split, the seconds the frame cache took to fill or None);
    `copies` > 1: each batch read that many times in a row (snn.data.loader.RepeatedBatches)."""
    dataset = spec.train
    build_s = None
    if uses_frame_cache(spec, cfg):  # filled here, before any timing, and timed on its own
        dataset = cached_split(spec, True, cfg)
        build_s = dataset.fill(CountProgress("frame cache", "sample"))
    loader = build_loader(dataset, cfg.loader, worker_init_fn=worker_init_fn, collate_fn=_collate(spec, cfg), copies=copies)
    return loader, build_s


def open_test_loader(spec: DatasetSpec, cfg: PointConfig):
    """The test split, in order, every sample once, framed as the point's training data (from
    the same frame cache when the point uses one)."""
    dataset = spec.test
    if len(dataset) == 0:
        raise PluginError(f"dataset {cfg.dataset}: its test split is empty, and the workload pass "
                          "(workload_batches) and a study's accuracy read it: give the split samples, or set "
                          "workload_batches = 0 in a sweep")
    if uses_frame_cache(spec, cfg):
        dataset = cached_split(spec, False, cfg)
        dataset.fill()
    plain = replace(cfg.loader, shuffle=False, endless=False, drop_last=False, num_workers=0,
                    persistent_workers=False, prefetch_factor=None, loading="persistent")
    return build_loader(dataset, plain, collate_fn=_collate(spec, cfg))


def data_state(spec: DatasetSpec) -> dict:
    """Which data was read: its folder, whether it is the synthetic set, and its fingerprint (two
    runs whose fingerprints differ timed different data)."""
    return {"data_root": None if spec.root is None else str(spec.root),
            "synthetic_data": spec.fingerprint.startswith(SYNTHETIC_DATA + ":"),
            "data_fingerprint": spec.fingerprint}
