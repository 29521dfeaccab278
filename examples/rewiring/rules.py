"""Rewiring rules of a user's own, through snn-bench's plug-in contract (docs/plugins.md).

    SET     Mocanu et al. 2018: drop the smallest active magnitudes, regrow as many at random
    RigL    Evci et al. 2020 (its regrow step, every update): drop the smallest active
            magnitudes, regrow where the dense gradient is largest
    Broken  SET that regrows one connection too many: `check_rule` and the tests catch it

Each is a factory of one argument, the RewiringContext, as `rewiring_rule = "rules.py:SET"`
names it in a sweep file (examples/rewiring/sweep.toml). Options (`rewiring_options`):
`drop_fraction`, the share of each parameter's active connections replaced per update
(default 0.01). Regrown weights start at 0, as exact DeepR's reactivated ones do.
"""

from __future__ import annotations

import torch


class SET:
    """Drop the smallest |w| among the active, regrow as many at random among the dormant."""

    def __init__(self, context):
        self.parameters = context.parameters
        self.drop_fraction = float(context.options.get("drop_fraction", 0.01))
        if not 0.0 <= self.drop_fraction <= 1.0:
            raise ValueError(f"drop_fraction must lie in [0, 1], got {self.drop_fraction}")
        self.generator = context.generator()  # the rule's own stream of the point's seed
        self.masks = context.initial_masks()  # exact DeepR's initial sets: the same start
        with torch.no_grad():
            for p, mask in zip(self.parameters, self.masks):
                p.mul_(mask)

    def active_masks(self) -> list[torch.Tensor]:
        return [mask.clone() for mask in self.masks]

    @torch.no_grad()
    def step(self) -> None:
        for p, mask in zip(self.parameters, self.masks):
            p.mul_(mask)  # the optimiser moved dormant weights: they stay out
            active = int(mask.sum())
            count = min(round(self.drop_fraction * active), mask.numel() - active)
            if count == 0:
                continue
            magnitude = p.abs().masked_fill(~mask, float("inf")).reshape(-1)  # a copy: read only
            dropped = self.positions(mask, torch.topk(magnitude, count, largest=False).indices)
            grown = self.positions(mask, self.regrow(p, mask, count + self.extra))
            mask.logical_and_(~dropped).logical_or_(grown)
            p.masked_fill_(dropped | grown, 0.0)  # any memory layout: no flat view of p

    extra = 0  # connections regrown beyond those dropped: 0 keeps the budget

    @staticmethod
    def positions(mask: torch.Tensor, flat_indices: torch.Tensor) -> torch.Tensor:
        """A bool tensor shaped as `mask`, True at the given row-major flat indices."""
        chosen = torch.zeros(mask.numel(), dtype=torch.bool, device=mask.device)
        chosen[flat_indices] = True
        return chosen.view(mask.shape)

    def regrow(self, p: torch.Tensor, active: torch.Tensor, count: int) -> torch.Tensor:
        """`count` flat indices of dormant positions (before this update's drops), at random."""
        keys = torch.rand(active.numel(), generator=self.generator, device=active.device)
        keys.masked_fill_(active.reshape(-1), -1.0)  # active positions lose to every dormant one
        return torch.topk(keys, count).indices


class RigL(SET):
    """SET's drop; regrowth where |dL/dw| is largest among the dormant (the gradient of the
    step just taken: the harness rewires after the optimiser, before the next zero_grad)."""

    def regrow(self, p: torch.Tensor, active: torch.Tensor, count: int) -> torch.Tensor:
        if p.grad is None:  # no gradient yet: fall back to SET's random regrowth
            return super().regrow(p, active, count)
        score = p.grad.abs().reshape(-1).clone()
        score.masked_fill_(active.reshape(-1), -1.0)
        return torch.topk(score, count).indices


class Broken(SET):
    """A rule that regrows one connection more than it drops: the active count drifts up."""

    extra = 1
