"""tonic's real `DVSGesture` loader, guarded so that it never downloads by surprise and names the
file when one is bad.

tonic starts a ~3 GB download whenever its layout check fails. Here the layout is checked first and
a missing dataset becomes a `DatasetNotFoundError` that says how to get the real data or write the
synthetic stand-in; `snn-bench data download` is the only path that downloads.
"""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path

import numpy as np
import tonic
import torch.utils.data

from snn.data.synth import SPLITS, TONIC_MIN_FILES
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
            f"corrupt event file {path}: {problem}. Expected a 2-D numeric .npy array with 4 "
            "columns (x, y, p, t in ms). Delete it and re-extract the real archive, or rewrite "
            "synthetic data with `snn-bench data synth`."
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
    """Why an event file cannot be used, in words; None when it looks sound."""
    try:
        array = np.load(path, mmap_mode="r", allow_pickle=False)
    except _UNREADABLE as error:
        return f"it cannot be read as a .npy array ({type(error).__name__}: {error})"
    if array.ndim != 2 or array.shape[1] != 4:
        return f"its array has shape {array.shape}"
    if not np.issubdtype(array.dtype, np.number):
        return f"its array has dtype {array.dtype}"
    return None


class CheckedDVSGesture(torch.utils.data.Dataset):
    """`tonic.datasets.DVSGesture`, unpatched, wrapped with three guards that change no sample:

    - the layout is checked before tonic's constructor, which would otherwise download;
    - samples are sorted by path, since tonic lists user folders in filesystem order and the
      same seed would otherwise give different batches on different machines;
    - a file that cannot be read raises `CorruptEventFileError` naming it.

    A wrapper rather than a subclass: tonic derives the folder it reads from the class name.
    """

    def __init__(self, save_to: str | Path, train: bool = True, transform=None):
        check_layout(save_to, train)
        self.tonic = tonic.datasets.DVSGesture(str(save_to), train=train, transform=transform)
        ds = self.tonic
        order = sorted(range(len(ds.data)), key=ds.data.__getitem__)
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
        try:
            return self.tonic[index]
        except (*_UNREADABLE, IndexError) as error:  # IndexError: tonic reads column 3
            path = self.tonic.data[index]
            problem = describe_event_file(path)
            if problem is None:  # the file is sound: the failure is elsewhere (a transform)
                raise
            raise CorruptEventFileError(path, problem) from error


def open_split(data_root: str | Path | None, train: bool, transform=None) -> CheckedDVSGesture:
    """One split of DVS Gesture from data_root (or $SNN_BENCH_DATA), read by tonic."""
    return CheckedDVSGesture(resolve_data_root(data_root), train=train, transform=transform)
