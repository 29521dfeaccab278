"""Files and folders written whole (never seen half-written): the filesystem steps shared by the
synthetic-data writer and the harness's profiles and records."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path


def replace_folder(staging: Path, target: Path, retired: Path) -> None:
    """Put the finished `staging` folder at `target`, replacing an old one, so a reader sees the
    old folder or the new one and never a mix. A folder cannot be renamed over a non-empty one,
    so the old one first moves to `retired` (a name the caller's clean-up recognises) and is
    deleted after."""
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        os.replace(target, retired)
        os.replace(staging, target)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        os.replace(staging, target)


def probe_writable(folder: Path) -> None:
    """That `folder` exists (made if need be) and takes a new file, without leaving one: OSError
    when not (under a file, read-only, no permission)."""
    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.NamedTemporaryFile(dir=folder, prefix=".write-check-"):
        pass


def replace_file(target: Path, text: str) -> None:
    """Write `text` to `target` whole: into a temporary file beside it, then renamed over it, so a
    reader (or a crash) sees the old file or the new one, never a part."""
    target = Path(target)
    staging = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    staging.write_text(text)
    os.replace(staging, target)
