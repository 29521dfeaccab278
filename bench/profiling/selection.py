"""Which points of a sweep to profile (its `[profile]` table), and with what options.

    [profile]
    match = [{ layer_type = "conv2d", variant = "exact", connectivity = 0.1 }]   # or "all"
    line_steps = 3
    trace_active = 3
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.profiling.options import DEFAULT_PROFILE, PROFILE_OPTIONS, ProfileOptions

KEYS = ("match",) + tuple(o.name for o in PROFILE_OPTIONS)


@dataclass(frozen=True)
class ProfileSelection:
    match: tuple[dict, ...] | None = None  # None: every point; else any of these settings
    options: ProfileOptions = DEFAULT_PROFILE

    def selects(self, settings) -> bool:
        """Whether a point's Settings match one of the tables (every key given, equal)."""
        if self.match is None:
            return True
        return any(all(getattr(settings, k, None) == v for k, v in m.items()) for m in self.match)
