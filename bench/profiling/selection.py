"""Which points of a sweep to profile (its `[profile]` table), and with what options.

    [profile]
    match = [{ layer_type = "conv2d", variant = "exact", connectivity = 0.1 }]   # or "all"
    line_steps = 3
    trace_active = 3
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.profiling.options import ProfileOptions, TraceSchedule

OPTION_KEYS = ("line_steps", "plain_steps", "trace_wait", "trace_warmup", "trace_active")
KEYS = ("match",) + OPTION_KEYS


@dataclass(frozen=True)
class ProfileSelection:
    match: tuple[dict, ...] | None = None  # None: every point; else any of these settings
    options: ProfileOptions = field(default_factory=ProfileOptions)

    def selects(self, settings: dict) -> bool:
        if self.match is None:
            return True
        return any(all(settings.get(k) == v for k, v in m.items()) for m in self.match)


def options_from(table: dict) -> ProfileOptions:
    """ProfileOptions from the option keys of a [profile] table (or CLI flags), defaults kept."""
    defaults = ProfileOptions()
    trace = TraceSchedule(
        wait=table.get("trace_wait", defaults.trace.wait),
        warmup=table.get("trace_warmup", defaults.trace.warmup),
        active=table.get("trace_active", defaults.trace.active),
    )
    return ProfileOptions(line_steps=table.get("line_steps", defaults.line_steps),
                          plain_steps=table.get("plain_steps", defaults.plain_steps), trace=trace)
