"""Make a sweep's data ready where its groups run: each data set plug-in built once before anything
is timed, so a missing dataset fails first (the built-in DVS Gesture writes the bundled synthetic
set when the data root names it and it is missing, then checks the layout tonic reads).

In-process this runs once on this machine; on Ray it runs inside each task, on the node the
task landed on (data must be readable on every node, or generated there). Several tasks on one
node may arrive at once, so writing the synthetic set is serialised by a lock file beside it
(snn.data.synth.ensure_synthetic).
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from bench.config.point_config import point_config
from bench.config.settings import CACHE_ENV, SYNTHETIC_DATA, Settings, cache_root
from bench.config.variants import parse_variant
from snn.errors import UserError
from snn.files import probe_writable


class CacheUnwritableError(UserError, OSError):
    """snn-bench's cache folder cannot hold files."""


def check_cache_writable(folder: Path) -> None:
    """That snn-bench's cache (the synthetic set, the frame cache) can be written, checked before
    anything is timed, as --out is: a path under a file, or on a read-only mount, fails here with
    the fix, not as a traceback in the middle of a sweep."""
    try:
        probe_writable(folder)
    except OSError as error:
        raise CacheUnwritableError(
            f"snn-bench's cache {folder} cannot be written ({error.strerror or error}): set "
            f"{CACHE_ENV} to a writable folder (it holds the synthetic data set and the frame "
            "cache)") from error


def prepare_data(points: Iterable[Settings], stream: TextIO) -> None:
    """For the points about to run: build each distinct data set once (its plug-in makes the data
    ready and says what is missing: DatasetNotFoundError names it and how to get it). The cache
    folder is checked first, when the synthetic set or the frame cache will need it."""
    from bench.measure.data import dataset_key, listed_dataset

    points = list(points)
    if any(s.data_root == SYNTHETIC_DATA for s in points) or any(
            parse_variant(s.variant).of("cache") == "frames" for s in points):
        check_cache_writable(cache_root())
    configs = {dataset_key(cfg): cfg for cfg in map(point_config, points)}  # one build per data set
    for cfg in configs.values():
        listed_dataset(cfg)


def stale_points(stored, points) -> tuple[set[str], list[str]]:
    """(ids of the planned `points` whose stored rows read other data than their data set holds
    now, one warning per data set): a folder rewritten under the same data root is a different
    data set under the same point id, and a resume would otherwise keep the old rows beside new
    points timed on the new data. A data set that cannot be read here is left to the run to say."""
    from bench.measure.data import dataset_key, listed_dataset

    by_id = {p.point_id: p for p in points}
    recorded: dict[str, set[str]] = {}
    for row in stored:
        fingerprint = (getattr(row, "env", None) or {}).get("data_fingerprint")
        if fingerprint and row.point_id in by_id:
            recorded.setdefault(row.point_id, set()).add(fingerprint)
    now: dict[tuple, str | None] = {}
    found: dict[tuple, list] = {}
    for point_id, fingerprints in recorded.items():
        cfg = point_config(by_id[point_id].settings)
        key = dataset_key(cfg)
        if key not in now:
            try:
                now[key] = listed_dataset(cfg).fingerprint
            except Exception:  # absent or unreadable here: the run itself says what is wrong
                now[key] = None
        if now[key] is not None and fingerprints - {now[key]}:
            found.setdefault(key, [cfg, set(), []])
            found[key][1].update(fingerprints - {now[key]})
            found[key][2].append(point_id)
    warnings = [f"the data of {len(ids)} stored point(s) ({cfg.dataset}, {cfg.data_root or 'its default root'}) "
                f"has changed since they were timed (fingerprint {', '.join(sorted(then))} then, "
                f"{now[key]} now): they are timed again on the data there now"
                for key, (cfg, then, ids) in found.items()]
    return {pid for _, _, ids in found.values() for pid in ids}, warnings
