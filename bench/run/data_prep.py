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

from bench.config.settings import SYNTHETIC_DATA, data_path
from snn.data.dvsgesture import check_layout, resolve_data_root
from snn.data.synth import SynthConfig, read_manifest, write_synthetic_dvsgesture

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


def prepare_data(data_roots: Iterable[str | None], stream: TextIO) -> None:
    """For each data_root setting: write the synthetic set if it names it, then check the layout
    of both splits (DatasetNotFoundError names what is missing and how to get it)."""
    for data in dict.fromkeys(data_roots):
        if data == SYNTHETIC_DATA:
            ensure_synthetic(Path(data_path(data)), stream)
        root = resolve_data_root(data_path(data))
        for train in (True, False):
            check_layout(root, train=train)
