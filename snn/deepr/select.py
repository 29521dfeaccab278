"""Choosing which dormant connections to reactivate: uniformly, without replacement.

All three take a flat bool `active` and return positions (int64) of currently dormant entries.
They differ in what they cost and whether the count must be known on the host:

- `by_rejection(active, count, dormant)`: draws random positions, drops active ones and repeats; O(count)
  work when most connections are dormant (connectivity ≤ 0.5). The count is a Python int.
- `by_keys(active, count)`: a random key per position, dormant keys kept, `topk(count)`; O(numel).
- `by_rank(active, count)`: the same keys ranked by a sort, chosen where rank < count; the count
  may stay a device tensor, so nothing waits for the device (the CUDA sync-free path). Returns a
  bool mask rather than positions, since the number chosen is not known on the host.

Uniformity: each draws i.i.d. uniform keys or positions, so every subset of the dormant set of
the right size is equally likely (exchangeability); the tests check it statistically.
"""

from __future__ import annotations

import torch


def by_rejection(active: torch.Tensor, count: int, dormant: int,
                 generator: torch.Generator) -> torch.Tensor:
    """`dormant` is the number of dormant entries, known on the host (it sets the draw size)."""
    if count <= 0:
        return torch.empty(0, dtype=torch.long, device=active.device)
    if count > dormant:
        raise ValueError(f"cannot reactivate {count} connections: only {dormant} are dormant")
    n = active.numel()
    if dormant < 0.25 * n:
        return by_keys(active, count, generator)  # rejection would mostly draw active positions
    chosen = torch.empty(0, dtype=torch.long, device=active.device)
    while chosen.numel() < count:
        draws = int((count - chosen.numel()) * n / dormant * 1.25) + 16
        candidates = torch.randint(0, n, (draws,), generator=generator, device=active.device)
        candidates = candidates[~active[candidates]]
        chosen = torch.unique(torch.cat([chosen, candidates]))
    if chosen.numel() > count:  # a uniform subset of a uniform set is uniform
        keep = torch.randperm(chosen.numel(), generator=generator, device=active.device)[:count]
        chosen = chosen[keep]
    return chosen


def by_keys(active: torch.Tensor, count: int, generator: torch.Generator) -> torch.Tensor:
    if count <= 0:
        return torch.empty(0, dtype=torch.long, device=active.device)
    keys = torch.rand(active.numel(), generator=generator, device=active.device)
    keys.masked_fill_(active, -1.0)  # active positions lose to every dormant one
    return torch.topk(keys, count, sorted=False).indices


def initial_mask(numel: int, count: int, generator: torch.Generator,
                 device: torch.device | str = "cpu") -> torch.Tensor:
    """A flat bool mask of `count` positions out of `numel`, uniform: DeepR's initial active set.
    Both variants draw it here, so at one seed they start from the same connections."""
    mask = torch.zeros(numel, dtype=torch.bool, device=device)
    mask[by_keys(mask, count, generator)] = True
    return mask


def lowest(values: torch.Tensor, count: torch.Tensor) -> torch.Tensor:
    """Bool mask of the `count` smallest entries of a flat tensor; `count` may stay on the device."""
    order = torch.argsort(values)
    rank = torch.empty_like(order)
    rank[order] = torch.arange(order.numel(), device=values.device)
    return rank < count


def by_rank(active: torch.Tensor, count: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    keys = torch.rand(active.numel(), generator=generator, device=active.device)
    keys.masked_fill_(active, 2.0)  # dormant keys in [0, 1) sort first
    return lowest(keys, count) & ~active
