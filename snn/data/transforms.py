"""The event → frame pipeline: optional Denoise, Downsample to the frame size, ToFrame in time bins.

The reference (`framing="tonic"`) is tonic's own Downsample and ToFrame; `framing="bincount"`
computes the same frames in one vectorised pass, `framing="compiled"` in one compiled loop
(snn/data/framing.py).
"""

from __future__ import annotations

import tonic.transforms as T

from snn.config import FrameConfig  # noqa: F401 (re-exported)
from snn.data.framing import FRAMING_FUNCTIONS, FastToFrame
from snn.names import FRAMINGS, SENSOR_SIZE  # noqa: F401 (FRAMINGS re-exported)


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
