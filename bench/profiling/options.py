"""What a profile does: how many steps each pass takes (torch-free, for the CLI and sweep files)."""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.errors import SettingError


@dataclass(frozen=True)
class TraceSchedule:
    wait: int = 1
    warmup: int = 1
    active: int = 3

    @property
    def steps(self) -> int:
        return self.wait + self.warmup + self.active



@dataclass(frozen=True)
class ProfileOptions:
    line_steps: int = 3  # line_profiler slows Python-heavy code a lot: a few steps suffice
    trace: TraceSchedule = field(default_factory=TraceSchedule)
    plain_steps: int = 5  # unprofiled steps: the reference for the overheads

    def __post_init__(self) -> None:
        if min(self.line_steps, self.plain_steps, self.trace.active) < 1 or min(
                self.trace.wait, self.trace.warmup) < 0:
            raise SettingError("profiling needs at least one line-profiled, one unprofiled and one "
                             "active trace step, and no negative wait or warm-up")
