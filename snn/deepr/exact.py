"""Exact Deep Rewiring (Bellec et al., ICLR 2018, Algorithm 1), for weights of any shape.

Each potential connection k has a fixed sign s_k and a parameter θ_k; the weight is s_k·θ_k while
θ_k ≥ 0 (active) and 0 while dormant. The optimiser updates the weight tensor w directly, which
for active k is the update of θ_k (s_k² = 1). After each optimiser step, `step()`:

1. optionally applies L1 and temperature noise to active θ: θ ← θ − ηα + √(2ηT)·ν;
2. makes every active k with θ_k < 0 dormant (w_k = 0; dormant weights the optimiser moved are
   zeroed too: gradients flow densely, updates apply to active connections only);
3. reactivates exactly as many dormant connections as are missing from the target K, chosen
   uniformly without replacement, with θ = ε and their own fixed sign; when a connectivity
   schedule lowers K, the weakest active connections (smallest θ) go dormant;
4. applies the optimiser-state policy to reactivated weights.

So exactly K connections are active after every step. Every rewired weight is a view of one flat
buffer (`snn.deepr.flat`), and so are the masks (`active` bool, `sign` int8): the update costs a
fixed handful of passes over one tensor, not a handful per layer. On the CPU in float32/float64
those passes are compiled loops (`snn.deepr.kernels`: about 1.6 in-place passes); elsewhere
they are torch ops over the same buffer. Host syncs: none on the CPU path; one per step on the
torch path (a single `.tolist()` of the counts), or none with `sync_free=True` (ranks by sort;
the CUDA default).

Randomness: the initial mask, the reactivation choices and the noise each have a stream of the
point's seed (`snn.seeds`). The compiled path draws reactivations with SplitMix64 inside the
kernel, the torch path with a torch Generator; both are uniform, but they choose different
connections, so a run reproduces itself on one path, not across paths.
"""

from __future__ import annotations

import contextlib
import math

import numpy as np
import torch
from torch import nn
from torch.profiler import record_function

from snn.config import DeepRConfig
from snn.deepr import select
from snn.deepr.flat import flatten_into_buffer
from snn.seeds import stream_seed

COMPILED_DTYPES = (torch.float32, torch.float64)


def compiled_path_for(weights: torch.Tensor) -> bool:
    """Whether the compiled CPU kernels (`snn.deepr.kernels`, numba) can update these weights."""
    if weights.device.type != "cpu" or weights.dtype not in COMPILED_DTYPES:
        return False
    try:
        import snn.deepr.kernels  # noqa: F401
    except ImportError:  # pragma: no cover - numba is a dependency; kept for builds that lack it
        return False
    return True


def _labelled(name: str):
    """A torch.profiler range around a compiled kernel, which the profiler cannot see inside;
    opened only while a profiler runs (record_function costs about 6 µs even when none does)."""
    return record_function(name) if torch.autograd._profiler_enabled() else contextlib.nullcontext()


class ExactDeepR:
    def __init__(self, layers: list[nn.Module], cfg: DeepRConfig,
                 optimiser: torch.optim.Optimizer | None = None, compiled: bool | None = None):
        """`compiled`: None picks the compiled CPU kernels where they apply; False forces the
        torch ops (tests compare the two); True insists and fails where they cannot run."""
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
        # Every layer is rewired, at connectivity 1.0 too: there DeepR is sign-constrained, as the
        # notebook's is (a weight that crosses zero is removed and a dormant one drawn in its place).
        self.rewired = list(range(len(self.weights)))
        self.active: list[torch.Tensor | None] = [None] * len(self.weights)
        self.sign: list[torch.Tensor | None] = [None] * len(self.weights)
        if not self.rewired:
            self.groups = []
            return
        self.flat = flatten_into_buffer([self.weights[i] for i in self.rewired])
        w = self.flat.buffer
        # Budget groups as runs of rewired layers (positions in self.rewired): each layer its own
        # K, or one K across all of them. Either way a group is one contiguous slice of the buffer.
        n = len(self.rewired)
        self.groups = [[r] for r in range(n)] if cfg.budget == "per_layer" else [list(range(n))]
        self.group_ends = np.array([self.flat.ends[g[-1]] for g in self.groups], dtype=np.int64)
        # (start, end) of each group's slice of the buffer: fixed, like the groups
        self.group_ranges = [(int(s), int(e)) for s, e in
                             zip(np.concatenate([[0], self.group_ends[:-1]]), self.group_ends)]
        with torch.no_grad():
            sign = torch.sign(w).to(torch.int8)
            self.sign_flat = torch.where(sign == 0, torch.ones_like(sign), sign)
            self.active_flat = torch.cat([
                select.initial_mask(end - start, target, self.mask_generator, w.device)
                for (start, end), target in zip(self.group_ranges, self._targets(0))])
            w.mul_(self.active_flat)  # θ = |w0| where active, 0 where dormant
        for i, part in zip(self.rewired, self.flat.slices()):
            self.active[i] = self.active_flat[part].view_as(self.weights[i])
            self.sign[i] = self.sign_flat[part].view_as(self.weights[i])
        possible = compiled_path_for(w) and not self.sync_free
        if compiled and not possible:
            raise ValueError(f"the compiled DeepR kernels need float32/float64 weights on the CPU "
                             f"and sync_free off, not {w.dtype} on {w.device}: leave compiled unset")
        self.compiled = possible if compiled is None else compiled
        if self.compiled:
            rng = stream_seed(cfg.seed, "deepr_reactivation")  # drawn by the kernel itself
            self._arrays = CompiledState.for_buffers(w, self.sign_flat, self.active_flat,
                                                     self.flat.ends, self.group_ends, cfg, rng)
        # Without a schedule K never changes: compute the targets once.
        self._fixed_targets = self._targets(0) if cfg.schedule_start is None else None

    # -- targets ---------------------------------------------------------------------------
    def _targets(self, step: int) -> list[int]:
        """K per group at a step: round(c·numel) per layer, or one budget across layers."""
        targets = []
        for group, (start, end) in zip(self.groups, self.group_ranges):
            c = self.cfg.connectivity_at(self.connectivity[self.rewired[group[0]]], step)
            targets.append(round(c * (end - start)))  # global budget: one connectivity (validated)
        return targets

    def active_masks(self) -> list[torch.Tensor]:
        """Each weight's active set, a bool tensor of its shape (all True for a layer left dense)."""
        return [torch.ones_like(w, dtype=torch.bool) if a is None else a.clone()
                for w, a in zip(self.weights, self.active)]

    def active_counts(self) -> list[int]:
        """Active connections per layer (a host sync: for tests and reports, not the hot path)."""
        return [w.numel() if a is None else int(a.sum()) for w, a in zip(self.weights, self.active)]

    # -- the update --------------------------------------------------------------------------
    def step(self) -> None:
        if not self.groups:
            return
        self.flat.check()
        self.step_count += 1
        targets = self._fixed_targets or self._targets(self.step_count)
        if self.compiled:  # numpy views of buffers that need no grad: no autograd to switch off
            self._compiled_step(targets)
        else:
            with torch.no_grad():
                self._torch_step(targets)

    def _torch_step(self, targets: list[int]) -> None:
        counts = self._torch_deaths()
        group_counts = [counts[g].sum() for g in self.groups]
        if self.sync_free:
            for (start, end), target, count in zip(self.group_ranges, targets, group_counts):
                self._rewire_sync_free(start, end, target - count.round().long())
            return
        group_counts = [round(c) for c in torch.stack(group_counts).tolist()]  # the one sync
        deficits = np.asarray(targets) - np.asarray(group_counts)
        positions = []
        for (start, end), deficit, count in zip(self.group_ranges, deficits, group_counts):
            if deficit > 0:
                positions.append(start + self._choose(start, end, int(deficit), end - start - count))
        if positions:
            chosen = torch.cat(positions)
            self.active_flat[chosen] = True
            if self.cfg.reactivation_value:  # at ε = 0 nothing to write: dormant w is already 0
                w = self.flat.buffer
                w[chosen] = self.sign_flat[chosen].to(w.dtype) * self.cfg.reactivation_value
            self._after_reactivation(chosen)
        if (deficits < 0).any():
            self._prune(-deficits)

    # -- compiled CPU path ---------------------------------------------------------------------
    def _compiled_step(self, targets: list[int]) -> None:
        # Every argument is made once in CompiledState: at 0.3M weights the whole update takes
        # about 40 µs, and building a numpy scalar or re-importing costs a few µs each.
        a, kernels = self._arrays, self._arrays.kernels
        noise = a.no_noise
        if self.cfg.temperature:
            noise = torch.randn(a.w.shape, generator=self.noise_generator,
                                dtype=self.flat.buffer.dtype).numpy()
        if self._fixed_targets is None or a.targets is None:
            a.set_targets(targets)
        with _labelled("deepr_deaths_kernel"):
            kernels.deaths(a.w, a.sign, a.active, a.layer_ends, a.counts, a.shift, noise, a.scale)
        with _labelled("deepr_revive_kernel"):
            taken, excess = kernels.revive(a.w, a.sign, a.active, a.epsilon, a.layer_ends, a.counts,
                                           a.group_ends, a.targets, a.rng, a.chosen, a.scratch)
        if excess:
            self._prune(self._excess(a.counts, a.targets))
        if self.cfg.optimizer_state != "keep" and taken:
            self._after_reactivation(torch.from_numpy(a.chosen[:taken].copy()))

    def _excess(self, layer_counts: np.ndarray, targets: np.ndarray) -> np.ndarray:
        """Active beyond K per group, from the per-layer counts after deaths."""
        counts = [sum(int(layer_counts[r]) for r in group) for group in self.groups]
        return np.maximum(np.asarray(counts) - targets, 0)

    # -- torch path (CUDA, half precision, or no numba) -------------------------------------------
    def _torch_deaths(self) -> torch.Tensor:
        """Deaths over the whole buffer; returns each layer's active count, as device tensors.

        Written in float arithmetic on purpose: on the CPU, comparisons that produce bool
        tensors and bool→float casts run 5–8× slower than float ops and uint8→float casts.
        """
        w, sign, active, cfg = self.flat.buffer, self.sign_flat, self.active_flat, self.cfg
        theta = sign.to(w.dtype).mul_(w)  # θ where active; stray optimiser moves elsewhere
        if cfg.l1 or cfg.temperature:
            if cfg.l1:
                theta.sub_(cfg.lr * cfg.l1)
            if cfg.temperature:
                noise = torch.randn(theta.shape, generator=self.noise_generator, device=theta.device,
                                    dtype=theta.dtype)
                theta.add_(noise, alpha=math.sqrt(2 * cfg.lr * cfg.temperature))
            w.copy_(theta * sign)
        keep = theta.ge_(0).mul_(active.view(torch.uint8).to(w.dtype))  # 1.0: active, θ ≥ 0
        w.mul_(keep)  # dormant weights (new and old) are exactly zero
        active.copy_(keep)
        # Counted in float32 (exact up to 2^24), never in the weights' dtype: a bf16 or fp16 sum
        # rounds (K = 45000 came out as 44971-45052); larger layers pay for a float64 sum.
        return torch.stack([keep[part].sum(dtype=torch.float64 if part.stop - part.start >= 2**24
                                           else torch.float32) for part in self.flat.slices()])

    def _choose(self, start: int, end: int, count: int, dormant: int) -> torch.Tensor:
        active = self.active_flat[start:end]
        if active.device.type == "cpu":
            return select.by_rejection(active, count, dormant, self.reactivation_generator)
        return select.by_keys(active, count, self.reactivation_generator)

    def _rewire_sync_free(self, start: int, end: int, deficit: torch.Tensor) -> None:
        active, w = self.active_flat[start:end], self.flat.buffer[start:end]
        revive = select.by_rank(active, deficit.clamp(min=0), self.reactivation_generator)
        active.logical_or_(revive)
        w.copy_(torch.where(revive, self.sign_flat[start:end] * self.cfg.reactivation_value, w))
        self._after_reactivation(revive, start)
        if self.cfg.schedule_start is not None:  # only a schedule can lower K
            strength = (w * self.sign_flat[start:end]).masked_fill(~active, math.inf)
            retire = select.lowest(strength, (-deficit).clamp(min=0)) & active
            active.logical_and_(~retire)
            w.mul_(active)

    # -- shared ------------------------------------------------------------------------------
    def _prune(self, excess) -> None:
        """A schedule lowered K: the weakest active connections (smallest θ) of each group go."""
        w, active = self.flat.buffer, self.active_flat
        for (start, end), count in zip(self.group_ranges, excess):
            if count <= 0:
                continue
            strength = (w[start:end] * self.sign_flat[start:end]).masked_fill(~active[start:end], math.inf)
            chosen = start + torch.topk(strength, int(count), largest=False, sorted=False).indices
            active[chosen] = False
            w[chosen] = 0.0

    def _after_reactivation(self, chosen: torch.Tensor | None, offset: int = 0) -> None:
        """The optimiser-state policy for reactivated connections: positions, or a bool mask
        over the buffer from `offset` on."""
        if chosen is None or self.cfg.optimizer_state != "zero_first_moment":
            return  # "keep": reactivated weights keep their optimiser moments
        mask = torch.zeros_like(self.active_flat)
        if chosen.dtype == torch.bool:
            mask[offset:offset + chosen.numel()] = chosen
        else:
            mask[chosen.to(mask.device)] = True
        for i, part in zip(self.rewired, self.flat.slices()):
            state = self.optimiser.state.get(self.weights[i], {})
            if "exp_avg" in state:
                state["exp_avg"].masked_fill_(mask[part].view_as(self.weights[i]), 0.0)


class CompiledState:
    """numpy views of the flat buffers, the kernels' scalars and scratch arrays, made once."""

    def __init__(self, w, sign, active, layer_ends, group_ends, cfg: DeepRConfig, rng_seed: int):
        # Imports numba (about 0.3 s): only once a compiled update is built.
        from snn.deepr import kernels

        self.kernels = kernels
        self.w, self.sign, self.active = w, sign, active
        self.layer_ends, self.group_ends = layer_ends, group_ends
        self.rng = kernels.new_stream(rng_seed)
        self.group_lengths = np.diff(group_ends, prepend=0)
        dtype = w.dtype.type  # the kernels compute θ in the weights' dtype, as the torch ops do
        self.shift = dtype(cfg.lr * cfg.l1)
        self.scale = dtype(math.sqrt(2 * cfg.lr * cfg.temperature))
        self.epsilon = float(cfg.reactivation_value)
        self.counts = np.empty(len(layer_ends), dtype=np.int64)
        self.no_noise = np.empty(0, dtype=w.dtype)
        self.targets = None
        self.chosen = self.scratch = np.empty(0, dtype=np.int64)

    @classmethod
    def for_buffers(cls, w: torch.Tensor, sign: torch.Tensor, active: torch.Tensor,
                    layer_ends: tuple[int, ...], group_ends: np.ndarray, cfg: DeepRConfig,
                    rng_seed: int) -> CompiledState:
        return cls(w.numpy(), sign.numpy(), active.numpy(), np.array(layer_ends, dtype=np.int64),
                   group_ends, cfg, rng_seed)

    def set_targets(self, targets: list[int]) -> None:
        """K per group; sizes `chosen` (at most K reactivations) and, for groups where K is
        over three quarters of the group (few dormant: listed, then shuffled), `scratch`."""
        self.targets = np.array(targets, dtype=np.int64)
        if self.chosen.size < self.targets.sum():
            self.chosen = np.empty(int(self.targets.sum()), dtype=np.int64)
        lengths = self.group_lengths
        few_dormant = 4 * (lengths - self.targets) < lengths
        if few_dormant.any() and self.scratch.size < lengths.max():
            self.scratch = np.empty(int(lengths.max()), dtype=np.int64)
