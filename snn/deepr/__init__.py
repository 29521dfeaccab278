"""Deep Rewiring, selected by variant name: `notebook` (the user's baseline) or `exact`."""

from __future__ import annotations

import math

import torch
from torch import nn

from snn.config import DeepRConfig
from snn.deepr.exact import ExactDeepR
from snn.deepr.notebook import NotebookDeepR
from snn.errors import UserError
from snn.names import DEEPR_VARIANTS as VARIANTS

__all__ = ["VARIANTS", "DeepRConfig", "ExactDeepR", "NotebookDeepR", "build_rewiring",
           "rescale_initial_weights"]


def build_rewiring(layers: list[nn.Module], cfg: DeepRConfig,
                   optimiser: torch.optim.Optimizer | None = None):
    """An object whose `step()` rewires `layers` after each optimiser step, or None for dense.

    Build it before the first optimiser step: it masks the weights it is given.
    """
    if cfg.variant == "none":
        return None
    if cfg.variant == "custom":
        raise ValueError("deepr:custom is a rule of the user's: the harness builds it "
                         "(bench.plugins.rewiring.build_point_rule), not snn.deepr")
    if cfg.budget == "per_layer":
        refuse_empty_layers(layers, cfg)
    if cfg.variant == "notebook":
        if isinstance(cfg.connectivity, tuple) or cfg.schedule_start is not None:
            raise ValueError("the notebook variant has one connectivity and no schedule")
        rewiring = NotebookDeepR(layers, cfg.connectivity, cfg.lr, cfg.seed)
    else:
        rewiring = ExactDeepR(layers, cfg, optimiser)
    if cfg.sparse_init == "rescaled":  # one rule for both variants: they start alike
        rescale_initial_weights(layers, cfg)
    return rewiring


class EmptyLayerError(UserError, ValueError):
    """A connectivity that keeps no connection of some layer."""


def refuse_empty_layers(layers: list[nn.Module], cfg: DeepRConfig) -> None:
    """K = round(c·n) of 0 would leave a layer with no connections, its output silent and
    everything after it untrainable: refused, naming the layer and the least connectivity."""
    for index, (layer, c) in enumerate(zip(layers, cfg.per_layer(len(layers)))):
        numel = layer.weight.numel()
        if round(cfg.connectivity_at(c, 0) * numel) == 0 or round(c * numel) == 0:
            shape = "x".join(map(str, layer.weight.shape))
            name = getattr(layer, "name", None) or type(layer).__name__  # a harness's Rewired holder: its name
            raise EmptyLayerError(
                f"connectivity {c:g} keeps 0 of the {numel:,} weights of rewired layer {index} "
                f"({name}, weight {shape}): DeepR would leave it with no connections "
                f"and everything after it silent. Use a connectivity of at least {1 / numel:.2g} "
                f"(1/{numel:,}), or give each layer its own")


@torch.no_grad()
def rescale_initial_weights(layers: list[nn.Module], cfg: DeepRConfig) -> None:
    """Active weights × 1/√c per layer (c at step 0 under a schedule): a neuron then sums c·n
    inputs of c⁻¹ times the variance, as the dense init's n inputs. In place, so exact DeepR's
    weights stay views of its flat buffer."""
    for layer, c in zip(layers, cfg.per_layer(len(layers))):
        layer.weight.mul_(1.0 / math.sqrt(cfg.connectivity_at(c, 0)))
