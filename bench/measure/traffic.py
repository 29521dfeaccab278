"""Rewiring traffic: how many connections each update kills and revives, per rewired layer.

Read from the rewiring rule's own masks between measured steps, outside every timed region (the
counts cost a host sync each). A connection that dies and is revived within one update counts
as neither: these are the net changes of the active set, which is what the update's bookkeeping
had to carry out at least.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import torch


def active_masks(rewiring) -> list[torch.Tensor]:
    """Each rewired parameter's active set as a bool tensor: every rule keeps `active_masks()`,
    built-in DeepR and a plug-in alike (bench.plugins.rewiring)."""
    return list(rewiring.active_masks())


@dataclass
class Traffic:
    """Per rewired layer, over the measured updates."""

    died: list[list[int]] = field(default_factory=list)  # [layer][update]
    revived: list[list[int]] = field(default_factory=list)
    active_after: list[list[int]] = field(default_factory=list)

    def mean_per_update(self, counts: list[list[int]]) -> list[float]:
        return [sum(layer) / len(layer) if layer else 0.0 for layer in counts]


class TrafficRecorder:
    def __init__(self, rewiring):
        self.rewiring = rewiring
        self.before = active_masks(rewiring)
        n = len(self.before)
        self.traffic = Traffic(died=[[] for _ in range(n)], revived=[[] for _ in range(n)],
                               active_after=[[] for _ in range(n)])

    @torch.no_grad()
    def record(self) -> None:
        """After an update: what changed since the last call."""
        after = active_masks(self.rewiring)
        for i, (old, new) in enumerate(zip(self.before, after)):
            if old is None or new is None:
                continue
            self.traffic.died[i].append(int((old & ~new).sum()))
            self.traffic.revived[i].append(int((~old & new).sum()))
            self.traffic.active_after[i].append(int(new.sum()))
        self.before = after
