"""Flat point settings (what a sweep file and the command line speak) → a nested `PointConfig`.

One flat dict per point is also what the results store keys on and what a report groups by, so
there is exactly one place that knows how a name like `num_workers` maps into the nested configs.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from bench.point import PointConfig
from snn.data.dvsgesture import DATA_ROOT_ENV
from snn.data.loader import LoaderConfig
from snn.data.transforms import FRAMINGS, FrameConfig
from snn.deepr import VARIANTS as DEEPR_VARIANTS
from snn.deepr import DeepRConfig
from snn.model import FORWARDS, NetConfig

# Every component with interchangeable implementations, its variants, and the default one.
VARIANT_COMPONENTS: dict[str, tuple[tuple[str, ...], str]] = {
    "deepr": (DEEPR_VARIANTS, "none"),
    "forward": (FORWARDS, "reference"),
    "framing": (FRAMINGS, "tonic"),
}
# What each component's variants are compared against by default: the user's own code.
REFERENCES = {"deepr": "notebook", "forward": "reference", "framing": "tonic"}
# Components that change the data pipeline: points that differ in them cannot share a loader.
PIPELINE_COMPONENTS = ("framing",)

SYNTHETIC_DATA = "synthetic"  # the `data` value naming the bundled synthetic set
SYNTHETIC_ROOT = "data/synthetic"  # where `make data` / the sweep runner write it

DEFAULTS: dict = {
    "data": None,  # a data root, or "synthetic"; None: $SNN_BENCH_DATA
    "layer_type": "conv2d",
    "num_steps": 60,  # time steps, = framed time bins
    "frame_size": 32,
    "batch_size": 16,
    "num_workers": 0,
    "pin_memory": False,
    # Steady state: one endless shuffled stream, so no epoch boundary (an empty prefetch queue,
    # workers re-forked) falls in the measured steps; the small synthetic set would otherwise
    # end an epoch every few steps. Set false to measure epoch boundaries too.
    "endless_sampler": True,
    "persistent_workers": True,  # only matters with endless_sampler = false
    "variant": "deepr:none",
    "connectivity": 1.0,  # DeepR's kept fraction; dense points are normalised to 1.0
    "device": "cpu",
    "threads": None,  # None: one per core (resolved and recorded before anything runs)
    "flush_denormal": False,
    "lr": 5e-3,
    "warmup_steps": 2,
    "measured_steps": 10,
    "seed": 0,
}
SETTING_NAMES = tuple(DEFAULTS)


@dataclass(frozen=True)
class Variant:
    """One implementation per component, e.g. {"deepr": "exact"}; the rest take defaults."""

    choices: tuple[tuple[str, str], ...]  # (component, name), in VARIANT_COMPONENTS order

    @property
    def name(self) -> str:
        """Components away from their default, e.g. "deepr:exact+forward:multistep"; the first
        component is always named, so the all-default variant reads "deepr:none"."""
        parts = [f"{c}:{n}" for i, (c, n) in enumerate(self.choices)
                 if i == 0 or n != VARIANT_COMPONENTS[c][1]]
        return "+".join(parts)

    def of(self, component: str) -> str:
        return dict(self.choices)[component]

    def with_choice(self, component: str, name: str) -> "Variant":
        return Variant(tuple((c, name if c == component else n) for c, n in self.choices))


def parse_variant(text: str) -> Variant:
    """'exact', 'deepr:exact' or 'deepr:exact+…' → a Variant naming every component."""
    chosen: dict[str, str] = {}
    for part in str(text).split("+"):
        component, _, name = part.strip().rpartition(":")
        if not component:
            owners = [c for c, (names, _) in VARIANT_COMPONENTS.items() if name in names]
            if len(owners) != 1:
                raise ValueError(f"unknown variant {text!r}: choose from {', '.join(known_variants())}")
            component = owners[0]
        if component not in VARIANT_COMPONENTS or name not in VARIANT_COMPONENTS[component][0]:
            raise ValueError(f"unknown variant {text!r}: choose from {', '.join(known_variants())}")
        if component in chosen:
            raise ValueError(f"variant {text!r} names the {component} component twice")
        chosen[component] = name
    return Variant(tuple((c, chosen.get(c, default)) for c, (_, default) in VARIANT_COMPONENTS.items()))


def known_variants() -> list[str]:
    return [f"{c}:{n}" for c, (names, _) in VARIANT_COMPONENTS.items() for n in names]


def normalise(settings: dict) -> dict:
    """Defaults filled in, unknown names refused, the variant spelt in full, threads resolved,
    and a dense point's connectivity set to 1.0 (it keeps every connection whatever was asked)."""
    unknown = sorted(set(settings) - set(SETTING_NAMES))
    if unknown:
        raise ValueError(f"unknown setting(s) {', '.join(unknown)}: known settings are "
                         f"{', '.join(SETTING_NAMES)}")
    full = {**DEFAULTS, **settings}
    variant = parse_variant(full["variant"])
    full["variant"] = variant.name
    if full["data"] is None:
        full["data"] = os.environ.get(DATA_ROOT_ENV)  # recorded, so the id names the data used
    if full["threads"] is None:
        full["threads"] = os.cpu_count() or 1
    if variant.of("deepr") == "none":
        full["connectivity"] = 1.0
    return full


def data_root_of(data: str | None) -> str | None:
    return SYNTHETIC_ROOT if data == SYNTHETIC_DATA else data


def point_config(settings: dict) -> PointConfig:
    """The nested config of normalised settings; the dataclasses validate the values."""
    s = normalise(settings)
    variant = parse_variant(s["variant"])
    frames = FrameConfig(frame_size=s["frame_size"], n_time_bins=s["num_steps"],
                         framing=variant.of("framing"))
    return PointConfig(
        data_root=data_root_of(s["data"]),
        net=NetConfig(layer_type=s["layer_type"], num_steps=s["num_steps"],
                      input_shape=frames.frame_shape, forward=variant.of("forward")),
        frames=frames,
        loader=LoaderConfig(batch_size=s["batch_size"], num_workers=s["num_workers"],
                            pin_memory=s["pin_memory"], seed=s["seed"],
                            persistent_workers=s["persistent_workers"] and s["num_workers"] > 0,
                            endless=s["endless_sampler"]),
        deepr=DeepRConfig(variant=variant.of("deepr"), connectivity=float(s["connectivity"]),
                          lr=s["lr"], seed=s["seed"]),
        device=s["device"],
        threads=s["threads"],
        flush_denormal=s["flush_denormal"],
        lr=s["lr"],
        warmup_steps=s["warmup_steps"],
        measured_steps=s["measured_steps"],
        seed=s["seed"],
    )
