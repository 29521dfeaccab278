"""A folder written whole: the one filesystem step shared by the synthetic-data writer and the
harness's profiles."""

from __future__ import annotations

import os
import shutil
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
