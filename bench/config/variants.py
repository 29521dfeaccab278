"""Variants: one implementation chosen per component, e.g. "deepr:exact+forward:multistep".

Each component's first variant is the user's own code, the reference the others are timed
against. Components in PIPELINE_COMPONENTS change the data pipeline, so their variants need a
DataLoader of their own and are compared with their reference unpaired.
"""

from __future__ import annotations

from dataclasses import dataclass

from bench.errors import SettingError
from snn.config import doubly_sparse
from snn.names import APPROXIMATIONS, DEEPR_VARIANTS, FORWARDS, FRAME_CACHES, FRAMINGS, LOADINGS

# Every component with interchangeable implementations, its variants, and the default one.
VARIANT_COMPONENTS: dict[str, tuple[tuple[str, ...], str]] = {
    "deepr": (DEEPR_VARIANTS, "none"),
    "forward": (FORWARDS, "reference"),
    "framing": (FRAMINGS, "tonic"),
    "loading": (LOADINGS, "persistent"),
    "cache": (FRAME_CACHES, "off"),
    # approximate arithmetic (snn.approx): judged by accuracy, not equality; never in a pipeline
    "approx": (APPROXIMATIONS, "as_built"),
}
# What the report says of every approximate variant (component "approx"), wherever it shows one.
APPROXIMATE_LABEL = "approximate: judged by accuracy, not equality"
# Components that change the data pipeline: points that differ in them cannot share a loader.
PIPELINE_COMPONENTS = ("framing", "loading", "cache")


# Named pipelines, one choice for every component: the user's code throughout, and the fastest
# variant of each that computes the same thing (fused: the same spikes; compiled framing
# and the frame cache: the same frames; exact DeepR is the exact algorithm the notebook
# approximates). Written "pipeline:notebook" or "pipeline:fastest" wherever a variant is.
PIPELINES: dict[str, dict[str, str]] = {
    "notebook": {"deepr": "notebook", "forward": "reference", "framing": "tonic",
                 "loading": "next_iter", "cache": "off", "approx": "as_built"},
    "fastest": {"deepr": "exact", "forward": "fused", "framing": "compiled",
                "loading": "persistent", "cache": "frames", "approx": "as_built"},
}
# What each component's variants are compared against by default: the user's own code, which is
# the notebook pipeline's choice of that component.
REFERENCES = dict(PIPELINES["notebook"])


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

    def uses(self, choice: str) -> bool:
        """Whether this variant picks `choice` ("deepr:exact")."""
        component, _, name = choice.partition(":")
        return self.of(component) == name

    @property
    def approximate(self) -> bool:
        """Whether this variant computes something other than its reference on purpose (snn.approx):
        judged by accuracy, not equality."""
        return self.of("approx") != "as_built"

    def with_choice(self, component: str, name: str) -> "Variant":
        return Variant(tuple((c, name if c == component else n) for c, n in self.choices))


def known_variants() -> list[str]:
    return ([f"{c}:{n}" for c, (names, _) in VARIANT_COMPONENTS.items() for n in names]
            + [f"pipeline:{name}" for name in PIPELINES])


def pipeline_variant(name: str) -> Variant:
    """A named pipeline ("notebook", "fastest") as the Variant it stands for."""
    return Variant(tuple((c, PIPELINES[name][c]) for c in VARIANT_COMPONENTS))


def pipeline_name(variant_text: str) -> str | None:
    """"pipeline:<name>" when a variant is exactly a named pipeline, else None."""
    variant = parse_variant(variant_text)
    return next((f"pipeline:{n}" for n in PIPELINES if pipeline_variant(n) == variant), None)


def parse_variant(text: str) -> Variant:
    """'exact', 'deepr:exact' or 'deepr:exact+…' → a Variant naming every component."""
    unknown = SettingError(f"variant {text!r} is unknown: choose from {', '.join(known_variants())}, "
                           "joined by + (e.g. deepr:exact+forward:multistep)")
    parts = [part.strip() for part in str(text).split("+")]
    if len(parts) > 1 and any(part.startswith("pipeline:") for part in parts):
        named = next(part for part in parts if part.startswith("pipeline:"))
        spelled = pipeline_variant(named.partition(":")[2]).name if named.partition(":")[2] in PIPELINES else None
        raise SettingError(f"variant {text!r} joins a named pipeline with other parts, but a pipeline "
                           "already names every component: write its components and change the one you "
                           "want" + (f" ({named} is {spelled})" if spelled else ""))
    component, _, name = str(text).strip().partition(":")
    if component == "pipeline":  # a whole pipeline, alone: it names every component
        if name not in PIPELINES:
            raise unknown
        return pipeline_variant(name)
    chosen: dict[str, str] = {}
    for part in str(text).split("+"):
        component, _, name = part.strip().rpartition(":")
        if not component:
            owners = [c for c, (names, _) in VARIANT_COMPONENTS.items() if name in names]
            if len(owners) != 1:
                raise unknown
            component = owners[0]
        if component not in VARIANT_COMPONENTS or name not in VARIANT_COMPONENTS[component][0]:
            raise unknown
        if component in chosen:
            raise SettingError(f"variant {text!r} names the {component} component twice: "
                               "pick one implementation per component")
        chosen[component] = name
    if doubly_sparse(chosen.get("forward", ""), chosen.get("approx", "")):
        raise SettingError(f"variant {text!r} joins forward:sparse and approx:sparseprop, which both make "
                           "the layers' products sparse: pick one (e.g. forward:fused+approx:sparseprop)")
    return Variant(tuple((c, chosen.get(c, default)) for c, (_, default) in VARIANT_COMPONENTS.items()))
