"""The configs of the system under test, in one module that imports nothing heavy.

Each is a frozen dataclass checked in `__post_init__`; the modules that build from them (snn.model,
snn.data.transforms, snn.data.loader, snn.deepr) import them from here, so the harness can plan
and list points, and hash their configs into ids, without loading torch, snnTorch or tonic.
"""

from __future__ import annotations

from dataclasses import dataclass

from snn.names import (
    APPROXIMATIONS,
    DEEPR_VARIANTS,
    FORWARDS,
    FRAMINGS,
    FUSED_NEURONS,
    LAYER_TYPES,
    LOADINGS,
    SENSOR_SIZE,
    SPARSE_INITS,
    SURROGATE_NAMES,
)

BUDGETS = ("per_layer", "global")  # DeepR: K per layer, or one K across all rewired layers
OPTIMIZER_STATE_POLICIES = ("keep", "zero_first_moment")


def doubly_sparse(forward: str, approximation: str) -> bool:
    """forward sparse and approximation sparseprop both replace the layers' products with sparse
    ones: a network takes one at most."""
    return forward == "sparse" and approximation == "sparseprop"


@dataclass(frozen=True)
class NetConfig:
    """Everything that shapes the network; hashable so it can key results."""

    # The seed network's preset; None when another model plug-in builds the network (the harness
    # then reads only `forward` and `num_steps` of this config).
    layer_type: str | None = "conv2d"
    input_shape: tuple[int, int, int] = (2, 32, 32)  # (P, H, W) of one frame
    num_steps: int = 60  # T: time bins the forward pass loops over
    num_classes: int = 11
    # Widths of the three feature stages; the presets below pick values that keep the
    # parameter count comparable across layer types (about 0.3M).
    channels: tuple[int, int, int] | None = None
    hidden: int = 256
    beta: float = 0.9
    surrogate: str = "fast_sigmoid"
    surrogate_scale: float = 25.0
    # Multiplies PyTorch's default weight init. At 1.0, spikes die out within four layers
    # (rates fall below 1e-3 after AvgPool → Leaky) and training never starts; at 4.0 every
    # layer of every preset fires at 5–30% on DVS-like input (measured on synthetic data).
    init_gain: float = 4.0
    # Multiplies the first weight layer's init on top of init_gain: that layer reads raw event
    # counts (tens to hundreds per pixel and time bin), the deeper ones read spikes. At 1.0 the
    # first layer saturates on DVS-like counts (about half its neurons fire at every step) and
    # dense training on the bundled synthetic set passed 50% test accuracy only after ~200
    # iterations; at 0.1 it passed 90% within 50 (docs/design.md). The model option input_gain.
    input_gain: float = 1.0
    forward: str = "reference"  # reference (the notebook loop) | multistep | fused (same spikes)
    # | sparse (fused neurons, CSR weights: the same to float rounding; snn.sparse)
    # as_built (exact) | bf16 (synapses under bfloat16 autocast) | sparseprop (sparse Linear kernels):
    # approximate, judged by accuracy, not equality (snn.approx)
    approximation: str = "as_built"

    def __post_init__(self) -> None:
        if self.forward not in FORWARDS:
            raise ValueError(f"unknown forward {self.forward!r}: choose one of {', '.join(FORWARDS)}")
        if self.approximation not in APPROXIMATIONS:
            raise ValueError(f"unknown approximation {self.approximation!r}: choose one of "
                             f"{', '.join(APPROXIMATIONS)}")
        if doubly_sparse(self.forward, self.approximation):
            raise ValueError("approximation sparseprop and forward sparse both replace the layers' "
                             "products with sparse ones: pick one (e.g. forward fused with approximation sparseprop)")
        if self.layer_type is not None and self.layer_type not in LAYER_TYPES:
            raise ValueError(
                f"unknown layer_type {self.layer_type!r}: choose one of {', '.join(LAYER_TYPES)}"
            )
        if self.surrogate not in SURROGATE_NAMES:
            raise ValueError(
                f"unknown surrogate {self.surrogate!r}: choose one of {', '.join(SURROGATE_NAMES)}"
            )
        if self.forward in FUSED_NEURONS and self.surrogate != "fast_sigmoid":
            raise ValueError(f"forward {self.forward!r} implements the fast_sigmoid surrogate only, not "
                             f"{self.surrogate!r}: use forward = multistep with this surrogate")
        if not 0.0 <= self.beta <= 1.0:
            raise ValueError(f"beta must lie in [0, 1], got {self.beta}")
        if self.init_gain <= 0:
            raise ValueError(f"init_gain must be positive, got {self.init_gain}")
        if not self.input_gain > 0:
            raise ValueError(f"input_gain must be positive, got {self.input_gain}")
        if self.num_steps < 1:
            raise ValueError(f"num_steps must be at least 1, got {self.num_steps}")
        p, h, w = self.input_shape
        if self.layer_type not in ("linear", None) and (h % 8 or w % 8):
            raise ValueError(
                f"{self.layer_type} needs H and W divisible by 8 (three 2× poolings), got {h}×{w}"
            )

    @property
    def stage_channels(self) -> tuple[int, int, int]:
        if self.channels is not None:
            return self.channels
        return {"conv2d": (12, 32, 64), "conv1d": (32, 48, 256), "linear": (128, 128, 128)}[
            self.layer_type
        ]


@dataclass(frozen=True)
class FrameConfig:
    frame_size: int = 32  # output H = W; 128 / frame_size must be a whole number
    n_time_bins: int = 60  # T
    # tonic's Denoise is a pure-Python loop (~0.7 s for 300k events): off unless asked for.
    denoise_filter_time_us: int | None = None
    framing: str = "tonic"  # tonic (reference) | bincount (vectorised) | compiled (one loop)

    def __post_init__(self) -> None:
        if self.frame_size < 1 or SENSOR_SIZE[0] % self.frame_size:
            raise ValueError(
                f"frame_size must divide the sensor's {SENSOR_SIZE[0]} pixels, got {self.frame_size}"
            )
        if self.framing not in FRAMINGS:
            raise ValueError(f"unknown framing {self.framing!r}: choose one of {', '.join(FRAMINGS)}")
        if self.n_time_bins < 1:
            raise ValueError(f"n_time_bins must be at least 1, got {self.n_time_bins}")
        if self.denoise_filter_time_us is not None and self.denoise_filter_time_us <= 0:
            raise ValueError(
                f"denoise_filter_time_us must be positive or None, got {self.denoise_filter_time_us}"
            )

    @property
    def frame_shape(self) -> tuple[int, int, int]:
        """(P, H, W) of one frame."""
        return (SENSOR_SIZE[2], self.frame_size, self.frame_size)


@dataclass(frozen=True)
class LoaderConfig:
    batch_size: int = 16
    num_workers: int = 0
    pin_memory: bool = False
    persistent_workers: bool = False
    prefetch_factor: int | None = None  # None: torch's default (2) when num_workers > 0
    shuffle: bool = True
    drop_last: bool = True  # every measured step sees a full batch
    # One endless shuffled stream (successive permutations of the dataset) instead of epochs:
    # benchmarks measure the steady state, and an epoch boundary (an empty prefetch queue, the
    # first batch of the next epoch loaded from scratch) would otherwise land on whichever
    # measured step happens to cross it.
    endless: bool = False
    seed: int = 0
    # persistent: one iterator across steps; next_iter: next(iter(loader)) at every step, as the
    # user's notebook does (a new iterator each step: the harness's NotebookBatches).
    loading: str = "persistent"
    # pad: tonic's PadTensors (frames of any length, as float32); stack: frames of one length
    # stacked as they are (the frame cache's int16, made float on the device).
    collate: str = "pad"

    def __post_init__(self) -> None:
        if self.collate not in ("pad", "stack"):
            raise ValueError(f"unknown collate {self.collate!r}: choose pad or stack")
        if self.loading not in LOADINGS:
            raise ValueError(f"unknown loading {self.loading!r}: choose one of {', '.join(LOADINGS)}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be at least 1, got {self.batch_size}")
        if self.num_workers < 0:
            raise ValueError(f"num_workers must be 0 or more, got {self.num_workers}")
        if self.num_workers == 0 and (self.persistent_workers or self.prefetch_factor is not None):
            raise ValueError(
                "persistent_workers and prefetch_factor need worker processes: "
                "set num_workers > 0 or leave them unset"
            )
        if self.endless and not self.shuffle:
            raise ValueError("endless sampling draws shuffled permutations: set shuffle=True "
                             "or endless=False")
        if self.prefetch_factor is not None and self.prefetch_factor < 1:
            raise ValueError(f"prefetch_factor must be at least 1, got {self.prefetch_factor}")


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
        if self.variant not in DEEPR_VARIANTS:
            raise ValueError(f"unknown DeepR variant {self.variant!r}: choose one of {', '.join(DEEPR_VARIANTS)}")
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
