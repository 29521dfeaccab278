"""The harness's user errors: each message names the problem and its fix (see snn.errors)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from snn.errors import UserError

__all__ = ["OutputWriteError", "SettingError", "UserError", "writes_into"]


class SettingError(UserError, ValueError):
    """A setting (from a sweep file or a flag) that cannot be run; the message lists each problem."""


class OutputWriteError(UserError):
    """A folder the user named cannot be written (read-only, full, not a folder)."""


@contextlib.contextmanager
def writes_into(folder: Path, fix: str) -> Iterator[None]:
    """An OSError writing under `folder` as one line naming the path, the reason and `fix`;
    any other OSError (reading the inputs, say) goes on as it was."""
    folder = Path(folder).resolve()
    try:
        yield
    except OSError as error:
        target = Path(error.filename).resolve() if error.filename else None
        if target is None or not (target == folder or folder in target.parents):
            raise
        raise OutputWriteError(f"cannot write {target} ({error.strerror or error}): {fix}") from None
