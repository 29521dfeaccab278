"""Frames computed once and kept on disk (the variant `cache:frames`): one int16 file per sample, memory-
mapped when read, under a folder named by a key of everything the frames depend on.

The key hashes the cache format, the data root (resolved: two roots with the same layout never
share entries), each sample's path (relative to the root), the hash of its content and its label,
and every frame parameter (FrameConfig: frame size, time bins, framing, denoise). Changing any of
them reads another folder, so a stale cache is never reused (tonic's DiskCachedDataset keys on a
name the user picks, and reuses a stale one: tonic issue 160). Content, not size and mtime: a
file rewritten at the same size with its mtime restored (`cp -p`, `rsync -a`, `tar x`) changes
the key. Hashing every file costs a read of the data set, so each file's
hash is remembered in `<cache root>/content-hashes.json` by its inode, ctime, size and mtime, and
read again only when one of them changed: ctime cannot be set back by any copy tool.

An entry is a 16-byte header (magic, format, CRC-32 of the frames, label) and the frames. It is
written to a temporary file and renamed into place, so two processes filling the same cache at
once each leave a whole entry; the last rename wins and both are the same frames. An entry that
is short, has a bad header or fails its CRC is rebuilt, with one line on stderr saying so.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import socket
import shutil
import struct
import sys
import time
import uuid
import zlib
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np
import torch
from torch.utils.data import Dataset

from snn.data.transforms import FrameConfig
from snn.files import replace_file

FORMAT = 1
MAGIC = b"SNNF"
HEADER = struct.Struct("<4sIIi")  # magic, format, crc32 of the frame bytes, label


HASHES = "content-hashes.json"  # in the cache root: path -> identity and content hash
CHUNK = 1 << 20


def _identity(stat: os.stat_result) -> list[int]:
    """What changes whenever a file's content can have changed: ctime is set by the kernel on
    every write and cannot be restored by `cp -p`, `rsync -a` or `tar x`."""
    return [stat.st_ino, stat.st_ctime_ns, stat.st_size, stat.st_mtime_ns]


def content_hash(path: str) -> str:
    digest = hashlib.blake2b(digest_size=16)
    with open(path, "rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def content_hashes(paths: list[str], memo_file: Path | None) -> list[str]:
    """Each file's content hash: from `memo_file` where the file's identity is unchanged, else
    read and hashed now (and remembered there, written whole)."""
    memo: dict = {}
    if memo_file is not None and memo_file.is_file():
        try:
            memo = json.loads(memo_file.read_text())
        except (OSError, ValueError):  # a damaged memo is only a lost shortcut
            memo = {}
    hashes, changed = [], False
    for path in paths:
        absolute = os.path.abspath(path)
        identity = _identity(os.stat(absolute))
        known = memo.get(absolute)
        if known is None or known[0] != identity:
            known = memo[absolute] = [identity, content_hash(absolute)]
            changed = True
        hashes.append(known[1])
    if changed and memo_file is not None:
        memo_file.parent.mkdir(parents=True, exist_ok=True)
        replace_file(memo_file, json.dumps(memo))
    return hashes


def cache_key(paths: list[str], targets: list[int], root: Path, frame_params: dict,
              memo_file: Path | None = None) -> str:
    """What the cached frames depend on, hashed: format, the resolved data root, the files (path,
    content hash, label) and the frame parameters."""
    files = [[os.path.relpath(path, root), digest, int(target)]
             for path, digest, target in zip(paths, content_hashes(paths, memo_file), targets)]
    text = json.dumps({"format": FORMAT, "root": str(Path(root).resolve()), "frames": frame_params,
                       "files": files}, sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:20]


class FrameCache(Dataset):
    """A dataset of (frames int16 (T, P, H, W), label) over `dataset`'s samples, read from the
    cache and computed (by `dataset`, with its transform) only where an entry is missing or bad."""

    def __init__(self, dataset, shape: tuple[int, ...], directory: Path, warn: Callable[[str], None] | None = None):
        self.dataset = dataset  # a CheckedDVSGesture with its frame transform: .paths, .targets
        self.shape = tuple(shape)
        self.directory = Path(directory)
        self.warn = warn or to_stderr  # a module function: a spawned worker unpickles it by name
        self.nbytes = int(np.prod(self.shape)) * 2

    @classmethod
    def for_split(cls, dataset, frames: FrameConfig, cache_root: Path, data_root: Path) -> FrameCache:
        """The cache of a split's frames, in the folder its key names; every FrameConfig field
        is in the key, so a frame parameter added later cannot be left out of it."""
        key = cache_key(dataset.paths, dataset.targets, data_root, asdict(frames),
                        memo_file=Path(cache_root) / HASHES)
        return cls(dataset, (frames.n_time_bins, *frames.frame_shape), Path(cache_root) / key)

    @property
    def skipped(self) -> list[tuple[str, str]]:
        """The event files the wrapped dataset left out (bad_samples = "skip")."""
        return self.dataset.skipped

    def __len__(self) -> int:
        return len(self.dataset)

    def entry(self, index: int) -> Path:
        return self.directory / f"{index:06d}.frames"

    def __getitem__(self, index: int):
        frames = self._read(index)
        if frames is None:
            if self.filled and not self.entry(index).exists():  # after fill(): removed under the reader
                self.warn(f"frame cache: {self.entry(index)} vanished after the cache was filled (removed by "
                          "`cache prune` or by hand); framed again inside this step, whose data_wait now "
                          "includes the framing: rerun the point")
            frames = self._build(index)
        return torch.from_numpy(frames), int(self.dataset.targets[index])

    filled = False  # set by fill(): every entry existed then, so a missing one was removed since

    def fill(self, progress: Callable[[int, int], None] | None = None) -> float:
        """Build every missing or bad entry now, and mark this process a reader of the folder
        (`readers`: `cache prune` leaves it alone); returns the seconds it took."""
        start = time.perf_counter()
        self.directory.mkdir(parents=True, exist_ok=True)
        register_reader(self.directory)
        self.remove_leftovers()
        for index in range(len(self)):
            if self._read(index) is None:
                self._build(index)
            if progress is not None:
                progress(index + 1, len(self))
        self.filled = True
        return time.perf_counter() - start

    def remove_leftovers(self) -> int:
        """Delete staging files whose writer is dead (a fill killed mid-entry); a live writer's
        are left alone. Returns how many were removed."""
        removed = 0
        for staging in self.directory.glob("*.tmp"):
            parts = staging.name.split(".")  # <index>.frames.<pid>.<random>.tmp
            pid = int(parts[2]) if len(parts) == 5 and parts[2].isdigit() else None
            if pid is not None and pid != os.getpid() and _alive(pid):
                continue
            staging.unlink(missing_ok=True)
            removed += 1
        return removed

    def _read(self, index: int) -> np.ndarray | None:
        """The entry's frames; None when it is absent or bad (a bad one is reported)."""
        path = self.entry(index)
        try:
            raw = np.memmap(path, dtype=np.uint8, mode="r")
        except FileNotFoundError:
            return None
        except IsADirectoryError:  # not an entry at all: cleared so the rebuilt one can take its place
            shutil.rmtree(path, ignore_errors=True)
            return self._bad(path, "it is a folder")
        except ValueError:  # an empty file cannot be mapped
            return self._bad(path, "it is empty")
        if raw.size != HEADER.size + self.nbytes:
            return self._bad(path, f"it holds {raw.size} bytes, not {HEADER.size + self.nbytes}")
        magic, version, crc, label = HEADER.unpack(raw[:HEADER.size].tobytes())
        body = raw[HEADER.size:]
        if magic != MAGIC or version != FORMAT:
            return self._bad(path, "its header is not a frame-cache header of this version")
        if label != int(self.dataset.targets[index]):
            return self._bad(path, f"its label is {label}, not {self.dataset.targets[index]}")
        if zlib.crc32(body) != crc:
            return self._bad(path, "its frames fail their CRC-32")
        return np.frombuffer(body, dtype=np.int16).reshape(self.shape).copy()

    def _bad(self, path: Path, problem: str) -> None:
        self.warn(f"frame cache: rebuilding {path} ({problem})")
        return None

    def _build(self, index: int) -> np.ndarray:
        frames, label = self.dataset[index]
        frames = np.ascontiguousarray(frames, dtype=np.int16)  # int16 already, unless empty
        if frames.shape != self.shape:
            raise ValueError(f"sample {index} framed to {frames.shape}, not the cache's {self.shape}")
        path = self.entry(index)
        path.parent.mkdir(parents=True, exist_ok=True)
        staging = path.with_name(f"{path.name}.{os.getpid()}.{uuid.uuid4().hex[:8]}.tmp")
        with open(staging, "wb") as handle:
            handle.write(HEADER.pack(MAGIC, FORMAT, zlib.crc32(frames.tobytes()), int(label)))
            handle.write(frames.tobytes())
        os.replace(staging, path)  # atomic: a reader sees the old entry, or this one whole
        return frames


def to_stderr(line: str) -> None:
    print(line, file=sys.stderr)


READERS = ".readers"  # in a key folder: one empty file per process reading it, "<host>-<pid>"


_marked: set[Path] = set()  # the marks this process has made, each removed once at its exit


def register_reader(directory: Path) -> Path:
    """Mark this process a reader of a key folder until it exits (atexit removes the mark; a
    killed process's mark is recognised as dead by its pid on this host). A process that fills
    one folder for many groups marks it again and registers its removal once."""
    marker = Path(directory) / READERS / f"{socket.gethostname()}-{os.getpid()}"
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()
    if marker not in _marked:
        _marked.add(marker)
        atexit.register(marker.unlink, missing_ok=True)
    return marker


def readers(directory: Path) -> list[str]:
    """The live readers of a key folder ("<host>-<pid>"): on this host, those whose process is
    alive; another host's cannot be checked from here and count as alive."""
    host = socket.gethostname()
    live = []
    for marker in sorted((Path(directory) / READERS).glob("*")):
        name, _, pid = marker.name.rpartition("-")
        if name != host or not pid.isdigit() or _alive(int(pid)):
            live.append(marker.name)
        else:
            marker.unlink(missing_ok=True)  # a dead reader's mark
    return live


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's live process
        return True
    return True
