"""The one table of point settings: name, type, default, check, help, and what each configures.

A sweep file's keys, `snn-bench run`/`profile`'s flags (the keys with dashes), `list`'s columns,
docs/settings.md's table and the nested configs (bench.config.point_config) all read this table, so
adding a setting is one `Setting` here plus the code that uses it.

Normalised `Settings` (every name present, canonical spelling) are also what the store keys
points on and what a report groups by. This module imports nothing heavy: reports read it too.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Collection
from dataclasses import dataclass
from pathlib import Path

from bench.config.devices import DEVICE_FORMS, device_problem
from bench.config.options import (
    Option,
    flag,
    fraction,
    number,
    one_of,
    or_none,
    show_value,
    whole,
)
from bench.config.variants import Variant, known_variants, parse_variant
from bench.errors import SettingError
from bench.plugins.reference import absolute_reference, reference_problem
from bench.results.ids import config_hash
from snn.names import (
    BAD_SAMPLE_POLICIES,
    DATA_ROOT_ENV,
    LAYER_TYPES,
    LR_RULES,
    OPTIMISERS,
    SENSOR_SIZE,
    SPARSE_INITS,
)

SYNTHETIC_DATA = "synthetic"  # the data_root value naming the bundled synthetic set
SEED_MODEL = "snn.plugin:seed_network"  # the model and data set plug-ins a point uses by default
SEED_DATASET = "snn.plugin:dvs_gesture"
# The seed network's ports to other SNN libraries (snn.libraries): built from the same layers,
# so the `layer_type` preset applies to them as to the seed network itself.
LIBRARY_MODELS = "snn.libraries."
CACHE_ENV = "SNN_BENCH_CACHE"  # overrides where the synthetic set is kept

def _frame_size(value) -> str | None:
    problem = whole(1)(value)
    if problem is None and SENSOR_SIZE[0] % value:
        problem = f"must divide the sensor's {SENSOR_SIZE[0]} pixels (e.g. 16, 32, 64), got {value}"
    return problem


def _connectivity(value) -> str | None:
    problem = fraction(value)
    return None if problem is None else problem + " (the fraction of connections kept)"


def _variant(value) -> str | None:
    try:
        parse_variant(value)
    except SettingError as error:
        return str(error).removeprefix("variant ")  # completes "variant ...", as every check does
    return None


def options_table(value) -> str | None:
    """A table of option names to plain values (numbers, strings, booleans, lists of them)."""
    plain = (bool, int, float, str)
    if not isinstance(value, dict) or not all(isinstance(k, str) for k in value):
        return f"must be a table of named options, got {value!r}"
    bad = [k for k, v in value.items()
           if not (isinstance(v, plain) or (isinstance(v, list) and all(isinstance(x, plain) for x in v)))]
    return f"options must be numbers, strings, booleans or lists of them; not {', '.join(bad)}" if bad else None


def _data_root(value) -> str | None:
    return None if isinstance(value, str) and value else f'must be a path or "{SYNTHETIC_DATA}", got {value!r}'


@dataclass(frozen=True)
class Setting(Option):
    """A point setting: an option (name, kind, default, check, help; None allowed where the
    default is None) and what it configures."""

    component: str = ""  # data, frames, loader, net, deepr, train, runtime or timing
    aliases: tuple[str, ...] = ()  # older spellings, accepted as keys and flags
    # A setting added after points were stored: while it holds its default, the point id leaves it
    # out, so adding it changes no stored point's id.
    id_omits_default: bool = False
    # Variant choices ("deepr:exact") it only matters with; other points get `neutral` instead.
    only_with: tuple[str, ...] = ()
    neutral: object = None
    # A setting of the built-in plug-in only (the seed network's layer_type): neutral when the
    # plug-in setting named here names another's (is_builtin_model).
    builtin_of: str | None = None

    def applies(self, variant: Variant, settings: dict | None = None) -> bool:
        if self.builtin_of is not None and settings is not None and not is_builtin_model(settings[self.builtin_of]):
            return False
        return not self.only_with or any(variant.uses(choice) for choice in self.only_with)


_DEEPR = ("deepr:notebook", "deepr:exact", "deepr:custom")
# Sane bounds, so a typo is refused before it trains: the user's notebook tried lr up to 1, and
# lr / connectivity at c = 0.1 makes that 10; more threads or workers than this is a typo.
MAX_LR = 10.0
MAX_THREADS = 1024
MAX_RUNS = 100
SETTINGS: tuple[Setting, ...] = (
    Setting("data_root", str, None, or_none(_data_root),
            f'DVS Gesture data root, or "{SYNTHETIC_DATA}" for the bundled synthetic set '
            f"(default: ${DATA_ROOT_ENV})", "data", aliases=("data",)),
    Setting("bad_samples", str, "error", one_of(BAD_SAMPLE_POLICIES),
            "an event file that fails the checks (empty, NaN, unsorted, outside the sensor): "
            "error (stop, naming it) or skip (leave it out, counted in env.skipped_samples)", "data"),
    Setting("dataset", str, SEED_DATASET, reference_problem,
            "the data set plug-in's factory, 'package.module:attribute' or 'path/to/file.py:attribute' "
            "(a path relative to the sweep file); the default is DVS Gesture through tonic. See "
            "docs/plugins.md", "data", id_omits_default=True),
    Setting("dataset_options", dict, None, or_none(options_table),
            "the data set's options, a table (on the command line, JSON) its factory reads as "
            "context.options", "data", id_omits_default=True),
    Setting("model", str, SEED_MODEL, reference_problem,
            "the model plug-in's factory, 'package.module:attribute' or 'path/to/file.py:attribute' "
            "(a path relative to the sweep file); the default is the seed network. See docs/plugins.md",
            "net", id_omits_default=True),
    Setting("model_options", dict, None, or_none(options_table),
            "the model's options, a table (on the command line, JSON) its factory reads as "
            "context.options", "net", id_omits_default=True),
    Setting("layer_type", str, "conv2d", or_none(one_of(LAYER_TYPES)),
            "the seed network's preset: " + ", ".join(LAYER_TYPES), "net", builtin_of="model", neutral=None),
    Setting("num_steps", int, 60, whole(1), "time steps, = framed time bins", "net",
            aliases=("time_steps",)),
    Setting("frame_size", int, 32, _frame_size, "frame height = width; divides 128", "frames"),
    Setting("batch_size", int, 16, whole(1), "samples per training step", "loader"),
    Setting("num_workers", int, 0, whole(0, MAX_THREADS), "DataLoader worker processes", "loader"),
    Setting("pin_memory", bool, False, flag, "DataLoader pin_memory", "loader"),
    Setting("endless_sampler", bool, True, flag,
            "one endless shuffled stream instead of epochs (steady state; false measures epoch "
            "boundaries too)", "loader"),
    Setting("persistent_workers", bool, True, flag,
            "keep workers across epochs (matters only with workers and endless_sampler = false)",
            "loader"),
    Setting("variant", str, "deepr:none", _variant,
            "one implementation per component, joined by +: " + ", ".join(known_variants()),
            "variant"),
    Setting("connectivity", float, None, or_none(_connectivity),
            "fraction of connections DeepR keeps active, below 1; required with a DeepR variant, "
            "1.0 for dense points", "deepr", only_with=_DEEPR, neutral=1.0),
    Setting("l1", float, 0.0, number(0.0, strict=False, high=1.0),
            "DeepR's L1 coefficient alpha on active weights", "deepr",
            only_with=("deepr:exact",), neutral=0.0),
    Setting("temperature", float, 0.0, number(0.0, strict=False, high=1.0),
            "DeepR's noise temperature T on active weights", "deepr",
            only_with=("deepr:exact",), neutral=0.0),
    Setting("sparse_init", str, "rescaled", one_of(SPARSE_INITS),
            "DeepR's initial active weights: rescaled (x 1/sqrt(connectivity), so a neuron's summed "
            "input keeps the dense init's variance) or masked (dense values; below c = 0.1 the seed "
            "network's spikes die out by its third layer)", "deepr", only_with=_DEEPR,
            neutral="rescaled"),
    Setting("rewiring_rule", str, None, or_none(reference_problem),
            "the factory of a rewiring rule of your own, 'package.module:attribute' or "
            "'path/to/file.py:attribute' (a path relative to the sweep file); timed by deepr:custom. "
            "See docs/plugins.md", "deepr", only_with=("deepr:custom",), neutral=None,
            id_omits_default=True),
    Setting("rewiring_options", dict, None, or_none(options_table),
            "the rule's options, a table (on the command line, JSON) its factory reads as "
            "context.options", "deepr", only_with=("deepr:custom",), neutral=None, id_omits_default=True),
    Setting("device", str, "cpu", device_problem, f"device: {DEVICE_FORMS}", "runtime"),
    Setting("threads", int, None, or_none(whole(1, MAX_THREADS)),
            "torch's intra-op threads and numba's kernel threads (default: one per core): set after numba "
            "starts (which would reset them), checked after every step (a step that changes them fails "
            "its point) and recorded as read then", "runtime"),
    Setting("flush_denormal", bool, False, flag,
            "flush denormal floats to zero (faster on CPUs)", "runtime"),
    Setting("lr", float, 5e-3, number(0.0, strict=True, high=MAX_LR),
            "learning rate of Adam and of DeepR's update", "train"),
    Setting("lr_rule", str, "per_connectivity", one_of(LR_RULES),
            "fixed: lr as given; per_connectivity: lr / connectivity, as the user's notes suggest "
            "for DeepR at low connectivity", "train", only_with=_DEEPR, neutral="fixed"),
    Setting("optimiser", str, "adam", one_of(OPTIMISERS), "the optimiser: adam or sgd", "train"),
    Setting("seed", int, 0, whole(0), "seed of the point (weights, DeepR, data order)", "train"),
    Setting("warmup_steps", int, 2, whole(0), "unmeasured steps before timing", "timing",
            aliases=("warmup",)),
    Setting("measured_steps", int, 10, whole(1), "timed training steps", "timing",
            aliases=("steps",)),
    Setting("runs", int, 3, whole(1, MAX_RUNS),
            "independent runs of each timing group, each in a fresh process with a fresh loader and "
            "warm-up, its points in a shuffled order; intervals are taken across runs (1: across "
            "the steps of one run, which a rerun can land outside)", "timing"),
    Setting("disturbed_reruns", int, 2, whole(0, MAX_RUNS),
            "times a group run that the machine disturbed (other processes taking its cores while its "
            "threads waited, steal time, or a fixed kernel slower after it than before: "
            "bench.measure.interference) is timed again before it is stored as disturbed, kept out "
            "of the answers, and timed again by the next resume; 0: never timed again (still "
            "recorded as disturbed)", "timing",
            id_omits_default=True),
    Setting("workload_batches", int, 0, whole(0),
            "after timing, count NeuroBench's workload metrics (synaptic operations, activation and "
            "connection sparsity, footprint) over this many test batches, and the counting's cost; "
            "0: off. Never inside a timed step", "timing"),
)
BY_NAME = {s.name: s for s in SETTINGS}


@dataclass(frozen=True)
class Settings:
    """One point's settings after `normalise`: every setting present, checked, spelt canonically.

    The fields are the table's names in its order, typed as the table says (a test holds the two
    together); their defaults, checks and help live only in the table. Code reads attributes;
    `as_dict()` is the stored form, and the point id is the hash of it."""

    data_root: str | None
    bad_samples: str
    dataset: str
    dataset_options: dict | None
    model: str
    model_options: dict | None
    layer_type: str | None
    num_steps: int
    frame_size: int
    batch_size: int
    num_workers: int
    pin_memory: bool
    endless_sampler: bool
    persistent_workers: bool
    variant: str
    connectivity: float
    l1: float
    temperature: float
    sparse_init: str
    rewiring_rule: str | None
    rewiring_options: dict | None
    device: str
    threads: int
    flush_denormal: bool
    lr: float
    lr_rule: str
    optimiser: str
    seed: int
    warmup_steps: int
    measured_steps: int
    runs: int
    disturbed_reruns: int
    workload_batches: int

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)

    @property
    def id(self) -> str:
        """The point id: the hash of the stored form (what the store resumes by), less the
        settings added later that hold their default (Setting.id_omits_default)."""
        return config_hash({name: value for name, value in self.as_dict().items()
                            if not (BY_NAME[name].id_omits_default and value == BY_NAME[name].default)})

    def __hash__(self) -> int:  # the options tables are dicts: hash by the id instead
        return hash(self.id)

    @classmethod
    def from_dict(cls, stored: dict) -> Settings:
        """Settings as a row stored them (already normalised when they were written); a setting
        added since (Setting.id_omits_default) takes its default."""
        if isinstance(stored, Settings):
            return stored
        return cls(**{s.name: stored[s.name] if s.name in stored or not s.id_omits_default else s.default
                      for s in SETTINGS})

    def changed(self, **changes) -> Settings:
        """These settings with some changed, normalised again (a reference point's, say)."""
        return normalise({**self.as_dict(), **changes})


SETTING_NAMES = tuple(BY_NAME)
PLUGIN_SETTINGS = ("dataset", "model", "rewiring_rule")  # the settings that name a plug-in
DEFAULTS = {s.name: s.default for s in SETTINGS}
ALIASES = {alias: s.name for s in SETTINGS for alias in s.aliases}


def canonical_name(name: str) -> str | None:
    """A setting's name from its name or an alias; None when unknown."""
    return name if name in BY_NAME else ALIASES.get(name)


def value_problem(name: str, value) -> str | None:
    """What is wrong with one value of one (canonical) setting, or None."""
    return BY_NAME[name].check(value)


def unknown_setting(name: str) -> str:
    return f"unknown setting {name!r}; known settings are {', '.join(SETTING_NAMES)}"


def canonical(settings: dict) -> dict:
    """Aliases spelt canonically; SettingError for unknown names or a name given twice."""
    out: dict = {}
    problems = []
    for name, value in settings.items():
        canon = canonical_name(name)
        if canon is None:
            problems.append(unknown_setting(name))
        elif canon in out:
            problems.append(f"{canon} is given twice (as {canon} and an alias of it): keep one")
        else:
            out[canon] = value
    if problems:
        raise SettingError("; ".join(problems))
    return out


def _cross_problems(full: dict, variant: Variant) -> list[str]:
    """Checks that need several settings: what a DeepR variant requires of connectivity, and
    deepr:custom of a rule."""
    if is_builtin_model(full["model"]) and full["layer_type"] is None:
        return [f"layer_type must name the seed network's preset ({', '.join(LAYER_TYPES)}); it is unset only "
                "for another model"]
    deepr = variant.of("deepr")
    if deepr == "none":
        return []
    if deepr == "custom" and full["rewiring_rule"] is None:
        return [f"variant {variant.name} times a rewiring rule of your own: set rewiring_rule to its "
                "factory, e.g. rewiring_rule = \"examples/rewiring/rules.py:SET\" (see docs/plugins.md)"]
    c = full["connectivity"]
    if c is None:
        return [f"variant {variant.name} needs a connectivity: set connectivity to the fraction of "
                "connections DeepR keeps, at most 1 (e.g. connectivity = 0.1 in the sweep file, or "
                "--connectivity 0.1)"]
    # c = 1.0 is a real DeepR configuration, as in the user's notebook: every connection starts
    # active, and one whose weight crosses zero is removed and another drawn (sign-constrained)
    return []


def normalise(settings: dict | Settings) -> Settings:
    """Every setting present and checked: aliases resolved, defaults filled in, the variant spelt
    in full, numbers of float settings as floats, data root and threads resolved, and a setting
    that does not apply to the variant set to its neutral value (a dense point's connectivity is
    1.0). SettingError lists every problem at once."""
    given = canonical(settings.as_dict() if isinstance(settings, Settings) else settings)
    problems = [f"{name} {p}" for name, value in given.items()
                if (p := value_problem(name, value)) is not None]
    if problems:
        raise SettingError("; ".join(problems))
    full = {**DEFAULTS, **given}
    variant = parse_variant(full["variant"])
    full["variant"] = variant.name
    for setting in SETTINGS:
        value = full[setting.name]
        if setting.kind is float and value is not None:
            full[setting.name] = float(value)  # 1 and 1.0 are one point, not two ids
        if not setting.applies(variant, full):
            full[setting.name] = setting.neutral
    if full["data_root"] is None:
        full["data_root"] = os.environ.get(DATA_ROOT_ENV)  # recorded, so the id names the data used
    full["data_root"] = canonical_data_root(full["data_root"])
    for name in PLUGIN_SETTINGS:  # a file path: from the working directory (a sweep resolved it first)
        if full[name] is not None:
            full[name] = absolute_reference(full[name], Path.cwd())
    if full["threads"] is None:
        full["threads"] = os.cpu_count() or 1
    problems = _cross_problems(full, variant)
    if problems:
        raise SettingError("; ".join(problems))
    return Settings(**full)


def cache_root() -> Path:
    """snn-bench's per-user cache, not per working directory: $SNN_BENCH_CACHE, else
    $XDG_CACHE_HOME/snn-bench, else ~/.cache/snn-bench."""
    cache = os.environ.get(CACHE_ENV) or Path(
        os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "snn-bench"
    return Path(cache).expanduser()


def synthetic_root() -> Path:
    """Where the bundled synthetic set lives: <cache_root>/synthetic."""
    return cache_root() / "synthetic"


def frame_cache_root() -> Path:
    """Where `cache:frames` keeps frames: <cache_root>/frames/<key>/."""
    return cache_root() / "frames"


def effective_lr(settings: Settings) -> float:
    """The learning rate a point trains with, after its lr_rule."""
    if settings.lr_rule == "per_connectivity":
        return settings.lr / settings.connectivity
    return settings.lr


def data_path(data_root: str | None) -> str | None:
    """The directory a data_root setting names ("synthetic" is the bundled set's folder)."""
    return str(synthetic_root()) if data_root == SYNTHETIC_DATA else data_root


def canonical_data_root(data_root: str | None) -> str | None:
    """One spelling per data folder (absolute, symlinks and "..", "~" and trailing slashes
    resolved), so the same data always gives the same point id; "synthetic" stays a name."""
    if data_root is None or data_root == SYNTHETIC_DATA:
        return data_root
    return str(Path(data_root).expanduser().resolve())


# The settings every label names; the others are named only when away from their default.
_LABELLED = ("layer_type", "variant", "connectivity", "num_workers", "device")
_NOT_LABELLED = ("data_root", "threads")  # resolved per machine: a default says nothing


def ported_library(model: str) -> str | None:
    """The library a port of the seed network runs in ("norse" for snn.libraries.norse:network),
    or None for any other model."""
    return model[len(LIBRARY_MODELS):].partition(":")[0] if model.startswith(LIBRARY_MODELS) else None


def is_builtin_model(model: str) -> bool:
    """The seed network or one of its library ports: the models `layer_type` shapes."""
    return model == SEED_MODEL or ported_library(model) is not None


def network_name(model: str, layer_type: str | None) -> str:
    """What a reader calls a point's network: the seed network's preset ("conv2d"), a library
    port's preset and library ("conv2d spikingjelly"), or another model's factory name ("plain_lif")."""
    if model == SEED_MODEL:
        return layer_type
    if (library := ported_library(model)) is not None:
        return f"{layer_type} {library}"
    return model.rpartition(":")[2]


def point_label(settings: Settings | dict, also: Collection[str] = (), ran: str | None = None) -> str:
    """A point as a reader names it: "conv2d | deepr:exact c=0.1 | 0 workers | cpu", then any
    other setting away from its default, or named in `also` (a report passes the settings that
    differ between its points, threads and data root included): "| seed=1 lr=0.05". The one
    label every table, figure and message uses. `ran`: what a pipeline:fastest point ran (its
    env.pipeline_resolved) where that is not the variant it asked for: "pipeline:fastest (ran
    deepr:exact)", never components that did not run."""
    s = Settings.from_dict(settings)
    shown = s.variant if ran is None or ran == s.variant else f"pipeline:fastest (ran {ran})"
    variant = shown + (f" c={s.connectivity:g}" if s.connectivity not in (None, 1.0) else "")
    label = f"{network_name(s.model, s.layer_type)} | {variant} | {s.num_workers} workers | {s.device}"
    extras = []
    for setting in SETTINGS:
        name, value = setting.name, getattr(s, setting.name)
        if name in _LABELLED or name == "model":
            continue
        away = (name not in _NOT_LABELLED and value != setting.default
                and not (setting.only_with and value == setting.neutral))
        if name in PLUGIN_SETTINGS and value is not None:
            value = value.rpartition(":")[2]
        if name in also or away:
            extras.append(f"{name}={value:g}" if isinstance(value, float) else f"{name}={value}")
    return label + (" | " + " ".join(extras) if extras else "")


def markdown_table() -> str:
    """The settings as a Markdown table (docs/settings.md holds it, checked by a test)."""
    rows = ["| setting (flag) | type | default | configures | what it sets |",
            "| --- | --- | --- | --- | --- |"]
    for s in SETTINGS:
        aliases = f"; was {', '.join(f'`{a}`' for a in s.aliases)}" if s.aliases else ""
        only = f" Only with {', '.join(s.only_with)}." if s.only_with else ""
        only += (f" Only with the default {s.builtin_of} or its library ports ({LIBRARY_MODELS}*)."
                 if s.builtin_of else "")
        kind = "table" if s.kind is dict else s.kind.__name__
        rows.append(f"| `{s.name}` (`{s.flag}`{aliases}) | {kind} | {show_value(s.default)} "
                    f"| {s.component} | {s.help}.{only} |")
    return "\n".join(rows)
