"""What a profile does: how many steps each pass takes. One table of options (bench.config.options)
for a sweep's [profile] table and `snn-bench profile`'s flags; torch-free."""

from __future__ import annotations

from dataclasses import dataclass

from bench.config.options import Option, table_values, whole

PROFILE_OPTIONS: tuple[Option, ...] = (
    Option("line_steps", int, 3, whole(1),
           "steps under line_profiler (it slows Python-heavy code a lot: a few suffice)"),
    Option("plain_steps", int, 5, whole(1), "unprofiled steps: the reference for the overheads"),
    Option("trace_wait", int, 1, whole(0), "torch.profiler steps skipped before it warms up"),
    Option("trace_warmup", int, 1, whole(0), "torch.profiler warm-up steps (recorded, then dropped)"),
    Option("trace_active", int, 3, whole(1), "steps recorded in the torch.profiler trace"),
)


@dataclass(frozen=True)
class TraceSchedule:
    wait: int
    warmup: int
    active: int

    @property
    def steps(self) -> int:
        return self.wait + self.warmup + self.active


@dataclass(frozen=True)
class ProfileOptions:
    line_steps: int
    trace: TraceSchedule
    plain_steps: int


def profile_options(table: dict, where: str = "profile options") -> ProfileOptions:
    """ProfileOptions from PROFILE_OPTIONS' keys (a [profile] table, or the CLI's flags), the
    table's defaults where not given; SettingError listing every problem."""
    values = table_values(where, table, PROFILE_OPTIONS)
    return ProfileOptions(line_steps=values["line_steps"], plain_steps=values["plain_steps"],
                          trace=TraceSchedule(wait=values["trace_wait"], warmup=values["trace_warmup"],
                                              active=values["trace_active"]))


DEFAULT_PROFILE = profile_options({})
