"""Progress and time estimates for a sweep, on stderr.

The bar is tqdm's (`tqdm.auto`: a terminal bar on a TTY, a widget in a notebook, carriage-return
updates in a log); the ETA is this module's own, because a sweep's groups differ in cost: the
prior estimate per group, rescaled by how long the finished groups really took.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

from tqdm.auto import tqdm

from bench.config.settings import Settings

# Calibration on the 2-core CPU machine this suite was built on: a seed-net training step costs
# ~0.6 ms per sample per time step (batch 16 x 60 steps: ~0.6 s), and a group needs ~3 s to
# build its loader and networks. Only the ETA before the first group finishes uses these; after
# that the estimate is rescaled by what this machine actually took.
SECONDS_PER_SAMPLE_STEP = 0.6e-3
GROUP_SETUP_SECONDS = 3.0


REFERENCE_FRAME = 32  # the frame size that calibration used


def _step_seconds(settings: Settings) -> float:
    """Work grows with samples, time steps and frame pixels (the convolutions' cost)."""
    pixels = (settings.frame_size / REFERENCE_FRAME) ** 2
    return settings.batch_size * settings.num_steps * pixels * SECONDS_PER_SAMPLE_STEP


def estimate_group_seconds(settings_of_points: list[dict]) -> float:
    """A prior guess at a group's wall time from its settings (before anything was timed)."""
    return GROUP_SETUP_SECONDS + sum((s.warmup_steps + s.measured_steps) * _step_seconds(s)
                                     for s in settings_of_points)


def estimate_profile_seconds(settings: Settings, passes_steps: int) -> float:
    """A prior guess at one point's profiling passes (line profiling roughly doubles a step)."""
    steps = 3 * max(settings.warmup_steps, 1) + 2 * passes_steps
    return GROUP_SETUP_SECONDS + steps * _step_seconds(settings)


def format_duration(seconds: float) -> str:
    seconds = max(0, round(seconds))
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


class Progress:
    """A bar, points done of planned, elapsed and ETA; the ETA rescales the prior estimates by
    the ratio of actual to estimated time of the groups finished so far."""

    def __init__(self, total_points: int, estimated_seconds: float, stream: TextIO | None = None,
                 clock=time.monotonic, width: int = 24, unit: str = "points"):
        self.total = total_points
        self.done = 0
        self._estimated_left = estimated_seconds
        self._estimated_done = 0.0
        self._stream = stream or sys.stderr
        self._clock = clock
        self._start = clock()
        self._bar = tqdm(total=total_points, file=self._stream, ascii=".#", mininterval=0,
                         bar_format="[{bar:%d}] {n_fmt}/{total_fmt} %s | {elapsed} elapsed"
                                    "{postfix}" % (width, unit))  # tqdm writes the postfix as ", ETA ..."

    def eta_seconds(self) -> float:
        elapsed = self._clock() - self._start
        scale = elapsed / self._estimated_done if self._estimated_done > 0 else 1.0
        return self._estimated_left * scale

    def group_done(self, points: int, estimated_seconds: float, note: str) -> None:
        self.done += points
        self._estimated_done += estimated_seconds
        self._estimated_left = max(0.0, self._estimated_left - estimated_seconds)
        self.show(note)

    def show(self, note: str) -> None:
        self._bar.set_postfix_str(f"ETA {format_duration(self.eta_seconds())} | {note}", refresh=False)
        self._bar.n = self.done
        self._bar.refresh()

    def write(self, message: str) -> None:
        """A line of its own, above the bar (a print would break the bar on a terminal)."""
        self._bar.write(message, file=self._stream)

    def close(self) -> None:
        self._bar.close()


class CountProgress:
    """A plain count of work done (a frame cache filling: samples), as a tqdm bar on stderr;
    called as callback(done, total)."""

    def __init__(self, label: str, unit: str, stream: TextIO | None = None):
        self._label, self._unit, self._stream = label, unit, stream or sys.stderr
        self._bar = None

    def __call__(self, done: int, total: int) -> None:
        if self._bar is None:
            self._bar = tqdm(total=total, desc=self._label, unit=self._unit, file=self._stream,
                             mininterval=0.5)
        self._bar.update(done - self._bar.n)
        if done >= total:
            self._bar.close()
