"""Make a sweep's data ready where its groups run: the synthetic set written if asked for and
missing, then the layout tonic reads checked, so a missing dataset fails before anything is timed.

In-process this runs once on this machine; on Ray it runs inside each task, on the node the
task landed on (data must be readable on every node, or generated there). Several tasks on one
node may arrive at once, so writing the synthetic set is serialised by a lock file beside it.
"""

from __future__ import annotations

import fcntl
from collections.abc import Iterable
from pathlib import Path
from typing import TextIO

from bench.config.settings import CACHE_ENV, SYNTHETIC_DATA, Settings, cache_root, data_path
from bench.config.variants import parse_variant
from snn.data.dvsgesture import check_layout, resolve_data_root
from snn.data.synth import SynthConfig, read_manifest, write_synthetic_dvsgesture
from snn.errors import UserError
from snn.files import probe_writable

SYNTH_LOCK = ".snn-bench-synth.lock"


def ensure_synthetic(root: Path, stream: TextIO) -> None:
    """Write the bundled synthetic set under root unless it is there; one writer at a time."""
    if read_manifest(root) is not None:
        return
    root.mkdir(parents=True, exist_ok=True)
    with open(root / SYNTH_LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process writing it: wait, then find it done
        if read_manifest(root) is None:
            print(f"writing synthetic DVS Gesture to {root} (once, ~1 GB) ...", file=stream)
            write_synthetic_dvsgesture(root, SynthConfig())


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
    """For the points about to run: write the synthetic set where a data root names it, then check
    the layout of both splits (DatasetNotFoundError names what is missing and how to get it). The
    cache folder is checked first, when the synthetic set or the frame cache will need it."""
    points = list(points)
    data_roots = [s.data_root for s in points]
    if SYNTHETIC_DATA in data_roots or any(parse_variant(s.variant).of("cache") == "frames" for s in points):
        check_cache_writable(cache_root())
    for data in dict.fromkeys(data_roots):
        if data == SYNTHETIC_DATA:
            ensure_synthetic(Path(data_path(data)), stream)
        root = resolve_data_root(data_path(data))
        for train in (True, False):
            check_layout(root, train=train)
