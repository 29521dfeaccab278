"""The event → frame pipeline: optional Denoise, Downsample to the frame size, ToFrame in time bins.

The reference (`framing="tonic"`) is tonic's own Downsample and ToFrame; `framing="bincount"`
computes the same frames in one vectorised pass, `framing="compiled"` in one compiled loop
(snn/data/framing.py).
"""

from __future__ import annotations

from dataclasses import dataclass

import tonic.transforms as T

from snn.data.framing import FRAMING_FUNCTIONS, FastToFrame
from snn.names import FRAMINGS, SENSOR_SIZE


@dataclass(frozen=True)
class FrameConfig:
    frame_size: int = 32  # output H = W; 128 / frame_size must be a whole number
    n_time_bins: int = 60  # T
    # tonic's Denoise is a pure-Python loop (~0.7 s for 300k events): off unless asked for.
    denoise_filter_time_us: int | None = None
    framing: str = "tonic"  # tonic (reference) | bincount (vectorised) | compiled (one loop)

    def __post_init__(self) -> None:
        if self.frame_size < 1 or SENSOR_SIZE[0] % self.frame_size:
            raise ValueError(
                f"frame_size must divide the sensor's {SENSOR_SIZE[0]} pixels, got {self.frame_size}"
            )
        if self.framing not in FRAMINGS:
            raise ValueError(f"unknown framing {self.framing!r}: choose one of {', '.join(FRAMINGS)}")
        if self.n_time_bins < 1:
            raise ValueError(f"n_time_bins must be at least 1, got {self.n_time_bins}")
        if self.denoise_filter_time_us is not None and self.denoise_filter_time_us <= 0:
            raise ValueError(
                f"denoise_filter_time_us must be positive or None, got {self.denoise_filter_time_us}"
            )

    @property
    def frame_shape(self) -> tuple[int, int, int]:
        """(P, H, W) of one frame."""
        return (SENSOR_SIZE[2], self.frame_size, self.frame_size)


def build_transform(cfg: FrameConfig) -> T.Compose:
    """events (structured x, y, p, t[µs]) → int16 frames (T, P, H, W)."""
    steps = [T.Denoise(filter_time=cfg.denoise_filter_time_us)] if cfg.denoise_filter_time_us else []
    if cfg.framing in FRAMING_FUNCTIONS:  # the same frames as tonic's, faster
        steps.append(FastToFrame(SENSOR_SIZE, cfg.frame_size, cfg.n_time_bins, cfg.framing))
    else:
        steps += [
            T.Downsample(spatial_factor=cfg.frame_size / SENSOR_SIZE[0]),
            T.ToFrame(sensor_size=(cfg.frame_size, cfg.frame_size, SENSOR_SIZE[2]),
                      n_time_bins=cfg.n_time_bins),
        ]
    return T.Compose(steps)
