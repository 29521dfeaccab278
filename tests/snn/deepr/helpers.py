"""A bare weight to rewire, and a stand-in for the optimiser step that makes connections die."""

import torch
from torch import nn


class Weight(nn.Module):
    def __init__(self, shape, device="cpu", seed=0):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        self.weight = nn.Parameter(torch.randn(shape, generator=g).to(device))


def kill(rewiring, fraction, seed):
    """Simulate an optimiser step: push `fraction` of active θ below zero and move dormant w."""
    # An offset keeps this stream apart from the rewiring's own (seeded with small integers):
    # the same seed would make the kill draws equal the keys that chose the active set.
    g = torch.Generator().manual_seed(1_000_003 + seed)
    with torch.no_grad():
        for w, active, sign in zip(rewiring.weights, rewiring.active, rewiring.sign):
            if active is None:
                continue
            u = torch.rand(w.shape, generator=g).to(w.device)
            dying = active & (u < fraction)
            w.copy_(torch.where(dying, -sign * (0.1 + u), w))
            w.add_(torch.where(active, 0.0, torch.randn(w.shape, generator=g).to(w.device)))
