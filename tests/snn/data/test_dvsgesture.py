import shutil

import numpy as np
import pytest
import tonic

from snn.data import dvsgesture
from snn.data.dvsgesture import (
    CheckedDVSGesture,
    CorruptEventFileError,
    DatasetNotFoundError,
    open_split,
)


@pytest.fixture
def no_download(monkeypatch):
    def refuse(self):
        raise AssertionError("tonic tried to download")

    monkeypatch.setattr(tonic.datasets.DVSGesture, "download", refuse)


@pytest.fixture
def damaged_root(tiny_root, tmp_path):
    """A private copy of the tiny data, for tests that break files."""
    shutil.copytree(tiny_root, tmp_path / "data")
    return tmp_path / "data"


@pytest.mark.parametrize("train, users", [(True, range(1, 24)), (False, range(24, 30))])
def test_unpatched_tonic_reads_the_synthetic_data(tiny_root, no_download, train, users):
    ds = tonic.datasets.DVSGesture(str(tiny_root), train=train)
    assert len(ds) == 110
    assert set(ds.targets) == set(range(11))  # every class present
    assert set(ds.users) <= set(users)
    events, target = ds[0]
    assert events.dtype == tonic.datasets.DVSGesture.dtype
    raw = np.load(ds.data[0])
    assert np.array_equal(events["t"], raw[:, 3].astype(np.int64) * 1000)  # ms → µs
    assert np.array_equal(events["x"], raw[:, 0]) and np.array_equal(events["p"], raw[:, 2] > 0)
    assert target == int(ds.data[0].rsplit("/", 1)[1][:-4])


def test_checked_dataset_sorts_samples_by_path(tiny_root):
    ds = open_split(tiny_root, train=True)
    assert ds.paths == sorted(ds.paths)
    assert [int(p.rsplit("/", 1)[1][:-4]) for p in ds.paths] == ds.targets


def test_data_root_comes_from_the_environment(tiny_root, monkeypatch):
    monkeypatch.setenv("SNN_BENCH_DATA", str(tiny_root))
    assert len(open_split(None, train=False)) == 110


def test_no_data_root_says_how_to_get_data():
    with pytest.raises(DatasetNotFoundError, match="snn-bench data synth --data-root DIR"):
        open_split(None, train=True)


def test_missing_dataset_is_an_error_not_a_download(tmp_path, no_download):
    with pytest.raises(DatasetNotFoundError) as error:
        open_split(tmp_path, train=True)
    message = str(error.value)
    assert "ibmGestureTrain.tar.gz is not a file" in message
    assert "snn-bench data download" in message and "snn-bench data synth" in message


def test_too_few_files_is_named(damaged_root, no_download):
    for path in list((damaged_root / "DVSGesture" / "ibmGestureTest").glob("**/*.npy"))[:20]:
        path.unlink()
    with pytest.raises(DatasetNotFoundError, match="holds 90 .npy files, fewer than the 100"):
        open_split(damaged_root, train=False)


def _break(root, how):
    ds = open_split(root, train=True)
    path = ds.paths[3]
    if how == "garbage":
        with open(path, "wb") as f:
            f.write(b"not a numpy file at all")
    elif how == "truncated":
        data = open(path, "rb").read()
        with open(path, "wb") as f:
            f.write(data[: len(data) // 2])
    else:
        np.save(path, np.zeros((50, how), np.int32))
    return ds, path


@pytest.mark.parametrize("how, match", [
    ("garbage", "cannot be read as a .npy array"),
    ("truncated", "cannot be read as a .npy array"),
    (3, r"shape \(50, 3\)"),
    (5, r"shape \(50, 5\)"),
])
def test_bad_event_file_error_names_the_file_and_the_problem(damaged_root, how, match):
    ds, path = _break(damaged_root, how)
    with pytest.raises(CorruptEventFileError, match=match) as error:
        ds[3]
    assert error.value.path == path and path in str(error.value)
    ds[4]  # the other files stay readable


def test_a_failing_transform_on_a_sound_file_is_not_blamed_on_the_file(tiny_root):
    def broken(events):
        raise ValueError("transform bug")

    with pytest.raises(ValueError, match="transform bug") as error:
        open_split(tiny_root, train=True, transform=broken)[0]
    assert not isinstance(error.value, CorruptEventFileError)


def test_describe_event_file_accepts_a_sound_file(tiny_root):
    ds = CheckedDVSGesture(tiny_root, train=False)
    assert dvsgesture.describe_event_file(ds.paths[0]) is None


def test_a_corrupt_file_read_in_a_dataloader_worker_reaches_the_caller_as_itself(damaged_root):
    from snn.data.loader import LoaderConfig, build_loader

    ds, path = _break(damaged_root, "garbage")
    loader = build_loader(ds, LoaderConfig(batch_size=len(ds.paths), num_workers=1, shuffle=False))
    with pytest.raises(CorruptEventFileError) as error:
        next(iter(loader))
    message = str(error.value)
    assert message.startswith(f"corrupt event file {path}: "), (message, path)
    assert "cannot be read" in message and "\n" not in message


def test_the_data_fingerprint_names_the_data_not_its_folder(tiny_root, tmp_path):
    copy = tmp_path / "elsewhere"
    shutil.copytree(tiny_root, copy)
    assert dvsgesture.data_fingerprint(copy) == dvsgesture.data_fingerprint(tiny_root)
    assert dvsgesture.data_fingerprint(copy).startswith("synthetic:")
    (copy / "DVSGesture" / "SYNTHETIC.json").unlink()  # now it reads as real data
    real = dvsgesture.data_fingerprint(copy)
    assert real.startswith("files=220,") and real != dvsgesture.data_fingerprint(tiny_root)
