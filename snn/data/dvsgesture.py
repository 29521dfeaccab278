"""tonic's real `DVSGesture` loader, guarded so that it never downloads by surprise and names the
file when one is bad.

tonic starts a ~3 GB download whenever its layout check fails. Here the layout is checked first and
a missing dataset becomes a `DatasetNotFoundError` that says how to get the real data or write the
synthetic stand-in; `snn-bench data download` is the only path that downloads.
"""

from __future__ import annotations

import hashlib
import json
import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import tonic
import torch.utils.data

from snn.data.events import BAD_SAMPLE_POLICIES, event_problem
from snn.data.synth import SPLITS, TONIC_MIN_FILES, read_manifest
from snn.errors import UserError
from snn.names import DATA_ROOT_ENV

HOW_TO_GET_DATA = (
    "To use the real dataset, run `snn-bench data download --data-root DIR` (about 3 GB) or place "
    "tonic's ibmGestureTrain.tar.gz / ibmGestureTest.tar.gz and their extracted folders under "
    "DIR/DVSGesture/. To use synthetic data, run `snn-bench data synth --data-root DIR`. Then pass "
    f"--data-root DIR or set {DATA_ROOT_ENV}=DIR."
)


# What numpy raises for a file that is not a readable .npy array.
_UNREADABLE = (ValueError, OSError, EOFError, pickle.UnpicklingError, zipfile.BadZipFile)


class DatasetNotFoundError(UserError, FileNotFoundError):
    """The data root does not hold DVS Gesture in tonic's layout."""


class CorruptEventFileError(UserError, ValueError):
    """An event file cannot be read as an (N, 4) x, y, p, t array."""

    def __init__(self, path: str | Path, problem: str | None = None):
        if problem is None:  # rebuilt from its message (torch re-raising a worker's error)
            self.path = None
            super().__init__(str(path))
            return
        self.path = str(path)
        super().__init__(
            f"corrupt event file {path}: {problem}. Expected a non-empty (N, 4) numeric .npy "
            "array of x, y inside the 128x128 sensor, p in {0, 1} and t in ms, sorted. Delete it "
            "and re-extract the real archive, or rewrite synthetic data with `snn-bench data "
            "synth`; or set bad_samples = \"skip\" to leave such files out (and count them)."
        )


def resolve_data_root(data_root: str | Path | None) -> Path:
    """The explicit root, else $SNN_BENCH_DATA; an error saying how to get data when neither."""
    chosen = data_root if data_root is not None else os.environ.get(DATA_ROOT_ENV)
    if not chosen:
        raise DatasetNotFoundError(f"no DVS Gesture data root was given. {HOW_TO_GET_DATA}")
    return Path(chosen).expanduser()


def missing_layout(root: Path, train: bool) -> list[str]:
    """What tonic would find missing for one split (an empty list when all is there)."""
    base = root / "DVSGesture"
    folder = SPLITS["train" if train else "test"][0]
    problems = []
    if not (base / f"{folder}.tar.gz").is_file():
        problems.append(f"{base / folder}.tar.gz is not a file")
    n_files = sum(1 for _ in (base / folder).glob("**/*.npy")) if (base / folder).is_dir() else 0
    if n_files < TONIC_MIN_FILES:
        problems.append(
            f"{base / folder} holds {n_files} .npy files, fewer than the {TONIC_MIN_FILES} tonic needs"
        )
    return problems


def check_layout(root: str | Path, train: bool) -> None:
    problems = missing_layout(Path(root).expanduser(), train)
    if problems:
        raise DatasetNotFoundError(
            f"no DVS Gesture data at {root}: {'; '.join(problems)}. {HOW_TO_GET_DATA}"
        )


def describe_event_file(path: str | Path) -> str | None:
    """Why an event file cannot be used, in words (snn.data.events); None when it is sound."""
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except _UNREADABLE as error:
        return f"it cannot be read as a .npy array ({type(error).__name__}: {error})"
    return event_problem(array)


def data_fingerprint(root: str | Path) -> str:
    """What the data at root is, independent of where it lies: the generator's settings for
    synthetic data; else the number and total size of its event files. Two runs whose
    fingerprints differ timed different data, and their step times are not comparable."""
    root = Path(root).expanduser()
    manifest = read_manifest(root)
    if manifest is not None:
        config = json.dumps(manifest["config"], sort_keys=True)
        return "synthetic:" + hashlib.sha256(config.encode()).hexdigest()[:12]
    files = list((root / "DVSGesture").glob("ibmGesture*/**/*.npy"))
    return f"files={len(files)},bytes={sum(f.stat().st_size for f in files)}"


class CheckedDVSGesture(torch.utils.data.Dataset):
    """`tonic.datasets.DVSGesture`, unpatched, wrapped with guards that change no sound sample:

    - the layout is checked before tonic's constructor, which would otherwise download;
    - samples are sorted by path, since tonic lists user folders in filesystem order and the
      same seed would otherwise give different batches on different machines;
    - every file is checked (snn.data.events) before tonic reads it: a file that cannot be read,
      or holds events no frame can be made from, raises `CorruptEventFileError` naming it;
    - with `bad_samples="skip"`, every file is checked once at the start instead, and the bad
      ones are left out and listed in `skipped` (the harness records how many).

    A wrapper rather than a subclass: tonic derives the folder it reads from the class name.
    """

    def __init__(self, save_to: str | Path, train: bool = True, transform=None,
                 bad_samples: str = "error"):
        if bad_samples not in BAD_SAMPLE_POLICIES:
            raise ValueError(f"bad_samples must be one of {', '.join(BAD_SAMPLE_POLICIES)}, got {bad_samples!r}")
        check_layout(save_to, train)
        self.tonic = tonic.datasets.DVSGesture(str(save_to), train=train, transform=transform)
        ds = self.tonic
        order = sorted(range(len(ds.data)), key=ds.data.__getitem__)
        self.skipped: list[tuple[str, str]] = []  # (path, problem) left out under "skip"
        # "skip" checks every file here, once; "error" checks each sample as it is read
        self.check_each_read = bad_samples == "error"
        if bad_samples == "skip":
            problems = {i: describe_event_file(ds.data[i]) for i in order}
            self.skipped = [(ds.data[i], problems[i]) for i in order if problems[i]]
            order = [i for i in order if not problems[i]]
        ds.data, ds.targets, ds.users, ds.lighting = (
            [column[i] for i in order] for column in (ds.data, ds.targets, ds.users, ds.lighting)
        )

    @property
    def paths(self) -> list[str]:
        return self.tonic.data

    @property
    def targets(self) -> list[int]:
        return self.tonic.targets

    @property
    def users(self) -> list[int]:
        return self.tonic.users

    def __len__(self) -> int:
        return len(self.tonic)

    def __getitem__(self, index):
        if self.check_each_read:  # before tonic turns the file into frames
            path = self.tonic.data[index]
            if (problem := describe_event_file(path)) is not None:
                raise CorruptEventFileError(path, problem)
        return self.tonic[index]  # a failure now is not the file's (a transform's, say)


def open_split(data_root: str | Path | None, train: bool, transform=None,
               bad_samples: str = "error") -> CheckedDVSGesture:
    """One split of DVS Gesture from data_root (or $SNN_BENCH_DATA), read by tonic."""
    return CheckedDVSGesture(resolve_data_root(data_root), train=train, transform=transform,
                             bad_samples=bad_samples)
