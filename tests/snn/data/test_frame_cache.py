"""The frame cache (snn.data.frame_cache, variant cache:frames): same frames, keyed, safe."""

import multiprocessing
import os
import shutil

import numpy as np
import pytest

from snn.data.dvsgesture import open_split
from snn.data.frame_cache import FrameCache, readers
from snn.data.transforms import FrameConfig, build_transform


def _cache(root, cache_root, frames=FrameConfig(n_time_bins=8), warn=None):
    dataset = open_split(root, train=True, transform=build_transform(frames))
    cache = FrameCache.for_split(dataset, frames, cache_root, root)
    if warn is not None:
        cache.warn = warn
    return dataset, cache


@pytest.mark.parametrize("framing", ["tonic", "compiled"])
def test_cached_frames_equal_freshly_framed_ones(tiny_root, tmp_path, framing):
    dataset, cache = _cache(tiny_root, tmp_path, FrameConfig(n_time_bins=8, framing=framing))
    assert cache.fill() > 0
    for i in range(len(dataset)):
        frames, label = cache[i]
        fresh, fresh_label = dataset[i]
        assert frames.dtype.is_floating_point is False and str(frames.dtype) == "torch.int16"
        np.testing.assert_array_equal(frames.numpy(), fresh)
        assert label == fresh_label


def test_the_key_changes_with_every_frame_parameter_and_with_the_files(tiny_root, tmp_path):
    base = FrameConfig(n_time_bins=8)
    keys = {_cache(tiny_root, tmp_path, frames)[1].directory.name for frames in (
        base, FrameConfig(n_time_bins=9), FrameConfig(n_time_bins=8, frame_size=16),
        FrameConfig(n_time_bins=8, framing="compiled"), FrameConfig(n_time_bins=8, denoise_filter_time_us=5000))}
    assert len(keys) == 5
    copy = tmp_path / "copy"
    shutil.copytree(tiny_root, copy)
    same = _cache(copy, tmp_path, base)[1].directory.name
    assert same != _cache(tiny_root, tmp_path, base)[1].directory.name, "two roots never share entries"
    path = open_split(copy, train=True).paths[0]
    os.utime(path, ns=(0, os.stat(path).st_mtime_ns + 1_000))
    assert _cache(copy, tmp_path, base)[1].directory.name == same, "a touched file holds the same frames"
    with open(path, "r+b") as handle:  # one byte of content changed: other data, another key
        handle.seek(-1, os.SEEK_END)
        last = handle.read(1)
        handle.seek(-1, os.SEEK_END)
        handle.write(bytes([last[0] ^ 1]))
    assert _cache(copy, tmp_path, base)[1].directory.name != same, "changed content is other data"


@pytest.mark.parametrize("damage", ["truncate", "flip", "empty"])
def test_a_bad_entry_is_rebuilt_with_one_line_saying_so(tiny_root, tmp_path, damage):
    lines = []
    _, cache = _cache(tiny_root, tmp_path, warn=lines.append)
    cache.fill()
    good = cache[3][0].numpy().copy()
    path = cache.entry(3)
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        path.write_bytes(data[:-1] + bytes([data[-1] ^ 1]))
    else:
        path.write_bytes(b"")
    np.testing.assert_array_equal(cache[3][0].numpy(), good)
    assert len(lines) == 1 and str(path) in lines[0] and lines[0].startswith("frame cache: rebuilding")
    lines.clear()
    np.testing.assert_array_equal(cache[3][0].numpy(), good)
    assert lines == [], "the rebuilt entry is read back without complaint"


def _fill(root, cache_root):
    _cache(root, cache_root)[1].fill()


def test_two_processes_filling_one_cache_leave_it_whole(tiny_root, tmp_path):
    context = multiprocessing.get_context("spawn")
    workers = [context.Process(target=_fill, args=(tiny_root, tmp_path)) for _ in range(2)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(120)
        assert w.exitcode == 0
    lines = []
    dataset, cache = _cache(tiny_root, tmp_path, warn=lines.append)
    assert cache.fill() >= 0 and lines == [], "every entry was whole"
    assert not list(cache.directory.glob("*.tmp")), "no staging file is left behind"
    np.testing.assert_array_equal(cache[0][0].numpy(), dataset[0][0])


def test_a_file_rewritten_at_the_same_size_with_its_mtime_restored_is_a_cache_miss(tiny_root, tmp_path):
    root = tmp_path / "data"
    shutil.copytree(tiny_root, root)
    dataset, cache = _cache(root, tmp_path / "cache")
    cache.fill()
    path = dataset.paths[0]
    before = os.stat(path)
    events = np.load(path)
    events[:, 0] = 127 - events[:, 0]  # mirrored in x: the same size, other frames
    np.save(path, events)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))  # as cp -p, rsync -a, tar x leave it
    assert os.stat(path).st_size == before.st_size and os.stat(path).st_mtime_ns == before.st_mtime_ns
    dataset, again = _cache(root, tmp_path / "cache")
    assert again.directory != cache.directory
    again.fill()
    for i in range(len(dataset)):
        np.testing.assert_array_equal(again[i][0].numpy(), dataset[i][0])


def test_content_hashes_are_remembered_and_read_again_only_when_a_file_changed(tiny_root, tmp_path, monkeypatch):
    from snn.data import frame_cache

    _cache(tiny_root, tmp_path)
    read = []
    monkeypatch.setattr(frame_cache, "content_hash", lambda path: read.append(path) or "x")
    _cache(tiny_root, tmp_path)
    assert read == [], "an unchanged file is not read again"


def test_a_dead_writers_staging_files_are_removed_and_a_live_ones_kept(tiny_root, tmp_path):
    _, cache = _cache(tiny_root, tmp_path)
    cache.directory.mkdir(parents=True)
    dead = subprocess_pid_that_exited()
    leftover = cache.directory / f"000001.frames.{dead}.abcd1234.tmp"
    live = cache.directory / f"000002.frames.{os.getppid()}.abcd1234.tmp"
    leftover.write_bytes(b"half")
    live.write_bytes(b"half")
    cache.fill()
    assert not leftover.exists() and live.exists()


def subprocess_pid_that_exited() -> int:
    import subprocess
    import sys

    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


def test_an_entry_that_is_a_folder_is_rebuilt(tiny_root, tmp_path):
    lines = []
    dataset, cache = _cache(tiny_root, tmp_path, warn=lines.append)
    cache.fill()
    entry = cache.entry(2)
    entry.unlink()
    entry.mkdir()
    np.testing.assert_array_equal(cache[2][0].numpy(), dataset[2][0])
    assert entry.is_file() and "it is a folder" in lines[0]


def test_an_entry_removed_after_the_fill_is_framed_again_with_one_line_saying_so(tiny_root, tmp_path):
    lines = []
    _, cache = _cache(tiny_root, tmp_path, warn=lines.append)
    cache.fill()
    assert readers(cache.directory)  # this process reads it: `cache prune` keeps it
    good = cache[2][0].numpy().copy()
    cache.entry(2).unlink()  # as a prune or a hand would, while a sweep reads it
    np.testing.assert_array_equal(cache[2][0].numpy(), good)
    assert len(lines) == 1 and "vanished after the cache was filled" in lines[0] and "rerun the point" in lines[0]
