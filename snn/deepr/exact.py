"""Exact Deep Rewiring (Bellec et al., ICLR 2018, Algorithm 1), for weights of any shape.

Each potential connection k has a fixed sign s_k and a parameter θ_k; the weight is s_k·θ_k while
θ_k ≥ 0 (active) and 0 while dormant. The optimiser updates the weight tensor w directly, which
for active k is the update of θ_k (s_k² = 1). After each optimiser step, `step()`:

1. optionally applies L1 and temperature noise to active θ: θ ← θ − ηα + √(2ηT)·ν;
2. makes every active k with θ_k < 0 dormant (w_k = 0; dormant weights the optimiser moved are
   zeroed too: gradients flow densely, updates apply to active connections only);
3. reactivates exactly as many dormant connections as are missing from the target K, chosen
   uniformly without replacement (`snn.deepr.select`), with θ = ε and their own fixed sign; when
   a connectivity schedule lowers K, the weakest active connections (smallest θ) go dormant;
4. applies the optimiser-state policy to reactivated weights.

So exactly K connections are active after every step. Masks are compact: `active` is bool and
`sign` int8. Host syncs: one per step (a single `.tolist()` of all layers' death counts), or none
with `sync_free=True` (ranks by sort instead of `topk`; the CUDA default).
"""

from __future__ import annotations

import math

import torch
from torch import nn

from snn.deepr import select
from snn.deepr.config import DeepRConfig
from snn.seeds import stream_seed


class ExactDeepR:
    def __init__(self, layers: list[nn.Module], cfg: DeepRConfig,
                 optimiser: torch.optim.Optimizer | None = None):
        self.cfg = cfg
        self.weights = [layer.weight for layer in layers]
        self.optimiser = optimiser
        if cfg.optimizer_state == "zero_first_moment" and optimiser is None:
            raise ValueError("optimizer_state='zero_first_moment' needs the optimiser: pass it in")
        self.connectivity = cfg.per_layer(len(self.weights))
        device = self.weights[0].device
        self.sync_free = cfg.sync_free if cfg.sync_free is not None else device.type == "cuda"
        # One stream per use (snn.seeds): the initial mask, reactivation choices and noise never
        # share draws with each other or with whatever initialised the weights.
        self.mask_generator, self.reactivation_generator, self.noise_generator = (
            torch.Generator(device=device).manual_seed(stream_seed(cfg.seed, stream))
            for stream in ("deepr_mask", "deepr_reactivation", "deepr_noise"))
        self.step_count = 0
        # Layers at connectivity 1.0 with no schedule are dense: rewiring skips them entirely.
        self.dense = [c == 1.0 and cfg.schedule_start is None for c in self.connectivity]
        if cfg.budget == "global":
            self.groups = [[i for i, dense in enumerate(self.dense) if not dense]]
        else:
            self.groups = [[i] for i, dense in enumerate(self.dense) if not dense]
        self.groups = [g for g in self.groups if g]
        self.active: list[torch.Tensor | None] = [None] * len(self.weights)
        self.sign: list[torch.Tensor | None] = [None] * len(self.weights)
        with torch.no_grad():
            for group in self.groups:
                self._initialise(group)

    # -- targets ---------------------------------------------------------------------------
    def target(self, group: list[int], step: int) -> int:
        """K for a group at a step: round(c·numel) per layer, or one budget across layers."""
        c = [self.cfg.connectivity_at(self.connectivity[i], step) for i in group]
        if len(group) == 1:
            return round(c[0] * self.weights[group[0]].numel())
        total = sum(self.weights[i].numel() for i in group)
        return round(c[0] * total)  # global budget: one connectivity (validated in the config)

    def active_counts(self) -> list[int]:
        """Active connections per layer (a host sync: for tests and reports, not the hot path)."""
        return [w.numel() if a is None else int(a.sum()) for w, a in zip(self.weights, self.active)]

    # -- set-up ----------------------------------------------------------------------------
    def _initialise(self, group: list[int]) -> None:
        flat_active = torch.zeros(sum(self.weights[i].numel() for i in group), dtype=torch.bool,
                                  device=self.weights[group[0]].device)
        chosen = select.by_keys(flat_active, self.target(group, 0), self.mask_generator)
        flat_active[chosen] = True
        offset = 0
        for i in group:
            w = self.weights[i]
            self.active[i] = flat_active[offset:offset + w.numel()].view_as(w).clone()
            offset += w.numel()
            sign = torch.sign(w).to(torch.int8)
            self.sign[i] = torch.where(sign == 0, torch.ones_like(sign), sign)
            w.mul_(self.active[i])  # θ = |w0| where active, 0 where dormant

    # -- the update --------------------------------------------------------------------------
    @torch.no_grad()
    def step(self) -> None:
        if not self.groups:
            return
        self.step_count += 1
        strengths, counts = {}, []
        for group in self.groups:
            group_count = 0
            for i in group:
                strengths[i], count = self._apply_noise_and_deaths(i)
                group_count = group_count + count
            counts.append(group_count)
        if self.sync_free:
            for group, count in zip(self.groups, counts):
                deficit = self.target(group, self.step_count) - count.round().long()
                self._rewire_sync_free(group, deficit, strengths)
        else:
            for group, count in zip(self.groups, torch.stack(counts).tolist()):  # the one sync
                self._rewire(group, self.target(group, self.step_count) - round(count), strengths)

    def _apply_noise_and_deaths(self, i: int) -> tuple[torch.Tensor | None, torch.Tensor]:
        """Deaths of one layer; returns θ (kept only when a schedule may prune) and the count
        of active connections left, as a device tensor.

        Written in float arithmetic on purpose: on the CPU, comparisons that produce bool
        tensors and bool→float casts run 5–8× slower than float ops and uint8→float casts.
        """
        w, active, sign = self.weights[i], self.active[i], self.sign[i]
        cfg = self.cfg
        theta = sign.to(w.dtype).mul_(w)  # θ where active; stray optimiser moves elsewhere
        if cfg.l1 or cfg.temperature:
            if cfg.l1:
                theta.sub_(cfg.lr * cfg.l1)
            if cfg.temperature:
                noise = torch.randn(theta.shape, generator=self.noise_generator, device=theta.device,
                                    dtype=theta.dtype)
                theta.add_(noise, alpha=math.sqrt(2 * cfg.lr * cfg.temperature))
            w.copy_(theta * sign)
        strength = theta.clone() if cfg.schedule_start is not None else None
        keep = theta.ge_(0).mul_(active.view(torch.uint8).to(w.dtype))  # 1.0: active, θ ≥ 0
        w.mul_(keep)  # dormant weights (new and old) are exactly zero
        active.copy_(keep)
        # Counted in float32 (exact up to 2^24), never in the weights' dtype: a bf16 or fp16 sum
        # rounds (K = 45000 came out as 44971-45052); larger layers pay for a float64 sum.
        return strength, keep.sum(dtype=torch.float64 if keep.numel() >= 2**24 else torch.float32)

    def _flat(self, group: list[int], tensors) -> torch.Tensor:
        if len(group) == 1:
            return tensors[group[0]].view(-1)
        return torch.cat([tensors[i].reshape(-1) for i in group])

    def _scatter_back(self, group: list[int], flat_mask: torch.Tensor, reactivate: bool) -> None:
        """Apply a flat bool mask of chosen positions to each layer of the group."""
        offset = 0
        for i in group:
            w, active, sign = self.weights[i], self.active[i], self.sign[i]
            mask = flat_mask[offset:offset + w.numel()].view_as(w)
            offset += w.numel()
            if reactivate:
                active.logical_or_(mask)
                w.copy_(torch.where(mask, sign * self.cfg.reactivation_value, w))
                self._reset_optimiser_state(w, mask)
            else:
                active.logical_and_(~mask)
                w.mul_(active)

    def _rewire(self, group: list[int], deficit: int, strengths: dict) -> None:
        if deficit == 0:
            return
        active = self._flat(group, self.active)
        if deficit > 0:
            dormant = active.numel() - int(self.target(group, self.step_count)) + deficit
            if active.device.type == "cpu":
                chosen = select.by_rejection(active, deficit, dormant, self.reactivation_generator)
            else:
                chosen = select.by_keys(active, deficit, self.reactivation_generator)
        else:  # a schedule lowered K: the weakest active connections go dormant
            strength = self._flat(group, strengths).masked_fill(~active, math.inf)
            chosen = torch.topk(strength, -deficit, largest=False, sorted=False).indices
        if len(group) == 1:
            self._apply_positions(group[0], chosen, reactivate=deficit > 0)
        else:
            mask = torch.zeros_like(active)
            mask[chosen] = True
            self._scatter_back(group, mask, reactivate=deficit > 0)

    def _apply_positions(self, i: int, chosen: torch.Tensor, reactivate: bool) -> None:
        w, active, sign = self.weights[i].view(-1), self.active[i].view(-1), self.sign[i].view(-1)
        if reactivate:
            active[chosen] = True
            if self.cfg.reactivation_value:  # at ε = 0 nothing to write: dormant w is already 0
                w[chosen] = sign[chosen].to(w.dtype) * self.cfg.reactivation_value
            if self.cfg.optimizer_state != "keep":  # only then is a mask worth building
                mask = torch.zeros_like(active)
                mask[chosen] = True
                self._reset_optimiser_state(self.weights[i], mask.view_as(self.weights[i]))
        else:
            active[chosen] = False
            w[chosen] = 0.0

    def _rewire_sync_free(self, group: list[int], deficit: torch.Tensor, strengths: dict) -> None:
        active = self._flat(group, self.active)
        revive = select.by_rank(active, deficit.clamp(min=0), self.reactivation_generator)
        self._scatter_back(group, revive, reactivate=True)
        if self.cfg.schedule_start is not None:  # only a schedule can lower K
            strength = self._flat(group, strengths).masked_fill(~active, math.inf)
            retire = select.lowest(strength, (-deficit).clamp(min=0)) & active
            self._scatter_back(group, retire, reactivate=False)

    def _reset_optimiser_state(self, w: torch.Tensor, mask: torch.Tensor) -> None:
        if self.cfg.optimizer_state != "zero_first_moment":
            return  # "keep": reactivated weights keep their optimiser moments
        state = self.optimiser.state.get(w, {})
        if "exp_avg" in state:
            state["exp_avg"].masked_fill_(mask, 0.0)
