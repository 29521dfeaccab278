"""DeepR settings: one frozen dataclass for both variants."""

from __future__ import annotations

from dataclasses import dataclass

from snn.names import DEEPR_VARIANTS as VARIANTS
from snn.names import SPARSE_INITS

BUDGETS = ("per_layer", "global")
OPTIMIZER_STATE_POLICIES = ("keep", "zero_first_moment")


@dataclass(frozen=True)
class DeepRConfig:
    variant: str = "exact"  # none (dense) | notebook (the user's baseline) | exact
    # Fraction of connections kept active: one value, or one per rewired layer.
    connectivity: float | tuple[float, ...] = 0.1
    lr: float = 5e-3  # η of the L1 and noise terms; the notebook's reactivation value lr·sign
    l1: float = 0.0  # α
    temperature: float = 0.0  # T
    reactivation_value: float = 0.0  # ε: θ of a reactivated connection
    # The initial active weights: "rescaled" multiplies them by 1/√c, so each neuron's summed
    # input keeps the variance the dense init gave it; "masked" keeps the dense values, and at
    # c ≤ 0.1 the seed network's spikes then die out by its third layer (measured), so the
    # deeper layers get no gradient and DeepR has nothing to rewire there.
    sparse_init: str = "rescaled"
    budget: str = "per_layer"  # K per layer, or one K across all rewired layers
    # What a reactivated weight inherits from Adam: its moments as they were ("keep"), or a
    # zeroed first moment so stale momentum does not push it straight back out.
    optimizer_state: str = "keep"
    sync_free: bool | None = None  # None: sync-free on CUDA, one host sync per step elsewhere
    # Optional linear schedule: connectivity moves from schedule_start to `connectivity` over
    # schedule_steps steps (e.g. start dense and prune down).
    schedule_start: float | None = None
    schedule_steps: int = 0
    seed: int = 0

    def __post_init__(self) -> None:
        if self.variant not in VARIANTS:
            raise ValueError(f"unknown DeepR variant {self.variant!r}: choose one of {', '.join(VARIANTS)}")
        values = self.connectivity if isinstance(self.connectivity, tuple) else (self.connectivity,)
        for c in values + ((self.schedule_start,) if self.schedule_start is not None else ()):
            if not 0.0 < c <= 1.0:
                raise ValueError(f"connectivity must lie in (0, 1], got {c}")
        if self.budget not in BUDGETS:
            raise ValueError(f"unknown budget {self.budget!r}: choose one of {', '.join(BUDGETS)}")
        if self.budget == "global" and isinstance(self.connectivity, tuple):
            raise ValueError("a global budget takes one connectivity, not one per layer")
        if self.optimizer_state not in OPTIMIZER_STATE_POLICIES:
            raise ValueError(f"unknown optimizer_state {self.optimizer_state!r}: choose one of "
                             f"{', '.join(OPTIMIZER_STATE_POLICIES)}")
        if self.sparse_init not in SPARSE_INITS:
            raise ValueError(f"unknown sparse_init {self.sparse_init!r}: choose one of "
                             f"{', '.join(SPARSE_INITS)}")
        if self.l1 < 0 or self.temperature < 0 or self.lr <= 0:
            raise ValueError("need lr > 0, l1 >= 0 and temperature >= 0")
        if self.schedule_start is not None and self.schedule_steps < 1:
            raise ValueError("a connectivity schedule needs schedule_steps >= 1")

    def per_layer(self, n_layers: int) -> list[float]:
        if not isinstance(self.connectivity, tuple):
            return [self.connectivity] * n_layers
        if len(self.connectivity) != n_layers:
            raise ValueError(f"{len(self.connectivity)} connectivities given for {n_layers} "
                             "rewired layers: give one value or one per layer")
        return list(self.connectivity)

    def connectivity_at(self, final: float, step: int) -> float:
        """A layer's connectivity at an update step (the schedule, else `final`)."""
        if self.schedule_start is None:
            return final
        progress = min(step / self.schedule_steps, 1.0)
        return self.schedule_start + (final - self.schedule_start) * progress
