"""The harness's user errors: each message names the problem and its fix (see snn.errors)."""

from __future__ import annotations

from snn.errors import UserError

__all__ = ["SettingError", "UserError"]


class SettingError(UserError, ValueError):
    """A setting (from a sweep file or a flag) that cannot be run; the message lists each problem."""
