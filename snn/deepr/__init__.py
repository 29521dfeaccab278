"""Deep Rewiring, selected by variant name: `notebook` (the user's baseline) or `exact`."""

from __future__ import annotations

import torch
from torch import nn

from snn.deepr.config import VARIANTS, DeepRConfig
from snn.deepr.exact import ExactDeepR
from snn.deepr.notebook import NotebookDeepR

__all__ = ["VARIANTS", "DeepRConfig", "ExactDeepR", "NotebookDeepR", "build_rewiring"]


def build_rewiring(layers: list[nn.Module], cfg: DeepRConfig,
                   optimiser: torch.optim.Optimizer | None = None):
    """An object whose `step()` rewires `layers` after each optimiser step, or None for dense.

    Build it before the first optimiser step: it masks the weights it is given.
    """
    if cfg.variant == "none":
        return None
    if cfg.variant == "notebook":
        if isinstance(cfg.connectivity, tuple) or cfg.schedule_start is not None:
            raise ValueError("the notebook variant has one connectivity and no schedule")
        return NotebookDeepR(layers, cfg.connectivity, cfg.lr)
    return ExactDeepR(layers, cfg, optimiser)
