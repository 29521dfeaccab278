"""A sweep file (TOML) → the validated list of points to time, grouped for side-by-side timing.

    name = "default"
    [references]                           # what variants are compared against (defaults:
    deepr = "notebook"                     #   deepr:notebook, forward:reference, framing:tonic)
    [settings]                             # fixed for every point
    batch_size = 16
    [grid]                                 # the full product of these axes
    num_workers = [0, 2]
    variant = ["notebook", "exact"]
    [[points]]                             # and/or explicit points
    layer_type = "linear"

Every problem in the file is reported at once, each naming the key and the fix. A point whose
device is absent here is planned as skipped, with the reason, never an error.
"""

from __future__ import annotations

import itertools
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from bench.env import config_hash
from bench.point import device_absence, parse_device
from bench.profiling import selection as profile_selection
from bench.profiling.selection import ProfileSelection
from bench.settings import (
    PIPELINE_COMPONENTS,
    REFERENCES,
    SETTING_NAMES,
    VARIANT_COMPONENTS,
    known_variants,
    normalise,
    parse_variant,
    point_config,
)
from snn.data.transforms import SENSOR_SIZE
from snn.model import LAYER_TYPES

TOP_LEVEL_KEYS = ("name", "description", "references", "settings", "grid", "points", "profile")
# Settings that may differ inside one group of points timed side by side (but for the variant's
# PIPELINE_COMPONENTS, which need a loader of their own).
COMPARED_SETTINGS = ("variant", "connectivity")


class SweepConfigError(ValueError):
    """A sweep file that cannot be run; the message lists every problem found."""


def _int(low: int):
    def check(value) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int):
            return f"must be a whole number, got {value!r}"
        return None if value >= low else f"must be {low} or more, got {value}"
    return check


def _bool(value) -> str | None:
    return None if isinstance(value, bool) else f"must be true or false, got {value!r}"


def _connectivity(value) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"must be a number in (0, 1], got {value!r}"
    return None if 0.0 < value <= 1.0 else f"must lie in (0, 1] (the fraction of connections kept), got {value}"


def _positive(value) -> str | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        return f"must be a positive number, got {value!r}"
    return None


def _choice(options):
    def check(value) -> str | None:
        return None if value in options else f"unknown {value!r}: choose one of {', '.join(options)}"
    return check


def _device(value) -> str | None:
    try:
        parse_device(str(value))
    except ValueError as error:
        return str(error)
    return None


def _variant(value) -> str | None:
    try:
        parse_variant(value)
    except ValueError:
        return f"unknown variant {value!r}: choose from {', '.join(known_variants())}"
    return None


def _frame_size(value) -> str | None:
    problem = _int(1)(value)
    if problem is None and SENSOR_SIZE[0] % value:
        problem = f"must divide the sensor's {SENSOR_SIZE[0]} pixels, got {value}"
    return problem


def _data(value) -> str | None:
    return None if value is None or isinstance(value, str) else f"must be a path or \"synthetic\", got {value!r}"


def _threads(value) -> str | None:
    return None if value is None else _int(1)(value)


CHECKS = {
    "data": _data,
    "layer_type": _choice(LAYER_TYPES),
    "num_steps": _int(1),
    "frame_size": _frame_size,
    "batch_size": _int(1),
    "num_workers": _int(0),
    "pin_memory": _bool,
    "persistent_workers": _bool,
    "endless_sampler": _bool,
    "variant": _variant,
    "connectivity": _connectivity,
    "device": _device,
    "threads": _threads,
    "flush_denormal": _bool,
    "lr": _positive,
    "warmup_steps": _int(0),
    "measured_steps": _int(1),
    "seed": _int(0),
}
assert set(CHECKS) == set(SETTING_NAMES), "every setting needs a check"


@dataclass(frozen=True)
class PlannedPoint:
    settings: dict  # normalised: every setting present
    point_id: str  # hash of the settings: the key completed points are resumed by
    group_id: str  # hash of the settings but COMPARED_SETTINGS: points timed side by side
    skip_reason: str | None = None  # set when the device is not on this machine

    @property
    def label(self) -> str:
        s = self.settings
        return (f"{s['layer_type']} {s['variant']} c={s['connectivity']:g} "
                f"workers={s['num_workers']} {s['device']}")

    def config(self):
        return point_config(self.settings)


@dataclass(frozen=True)
class SweepPlan:
    name: str
    points: list[PlannedPoint]
    references: dict = field(default_factory=lambda: dict(REFERENCES))
    description: str = ""
    duplicates: int = 0  # points the file asked for more than once (counted, run once)
    source: str = ""
    profile: ProfileSelection | None = None  # points to profile after timing, if any
    groups: list[list[PlannedPoint]] = field(init=False, repr=False)

    def profiled_points(self) -> list[PlannedPoint]:
        """The points the [profile] table selects that can run here."""
        if self.profile is None:
            return []
        return [p for p in self.points if p.skip_reason is None and self.profile.selects(p.settings)]

    def __post_init__(self) -> None:
        by_group: dict[str, list[PlannedPoint]] = {}
        for point in self.points:
            by_group.setdefault(point.group_id, []).append(point)
        object.__setattr__(self, "groups", list(by_group.values()))


def _check_settings(settings, where: str, problems: list[str]) -> None:
    if not isinstance(settings, dict):
        problems.append(f"{where} must be a table of settings, got {settings!r}")
        return
    for name, value in settings.items():
        if name not in CHECKS:
            problems.append(f"{where}: unknown setting {name!r}; known settings are "
                            f"{', '.join(SETTING_NAMES)}")
        elif (problem := CHECKS[name](value)) is not None:
            problems.append(f"{where}.{name} {problem}")


def _section(spec: dict, key: str, kind: type, shape: str, problems: list[str]):
    """spec[key] if it has the right TOML type, else an empty one and a problem."""
    value = spec.get(key, kind())
    if isinstance(value, kind):
        return value
    problems.append(f"{key} must be {shape}, got {value!r}")
    return kind()


def _check_grid(grid: dict, problems: list[str]) -> None:
    for axis, values in grid.items():
        if axis not in CHECKS:
            problems.append(f"[grid]: unknown axis {axis!r}; axes are settings: {', '.join(SETTING_NAMES)}")
        elif not isinstance(values, list) or not values:
            problems.append(f"[grid].{axis} must be a non-empty list of values, got {values!r}")
        else:
            problems += [f"[grid].{axis} value {p}" for p in map(CHECKS[axis], values) if p]


def _check_references(references: dict, problems: list[str]) -> None:
    for component, name in references.items():
        if component not in VARIANT_COMPONENTS:
            problems.append(f"[references]: unknown component {component!r}; components are "
                            f"{', '.join(VARIANT_COMPONENTS)}")
        elif name not in VARIANT_COMPONENTS[component][0]:
            problems.append(f"[references].{component}: unknown variant {name!r}; choose one of "
                            f"{', '.join(VARIANT_COMPONENTS[component][0])}")


def _check_profile(table: dict, problems: list[str]) -> ProfileSelection | None:
    if not table:
        return None
    for key in sorted(set(table) - set(profile_selection.KEYS)):
        problems.append(f"[profile]: unknown key {key!r}; use {', '.join(profile_selection.KEYS)}")
    for key in profile_selection.OPTION_KEYS:
        if key in table and (problem := _int(0)(table[key])) is not None:
            problems.append(f"[profile].{key} {problem}")
    match = table.get("match", "all")
    if match == "all":
        matches = None
    elif isinstance(match, list) and all(isinstance(m, dict) for m in match):
        matches = []
        for n, m in enumerate(match, 1):
            _check_settings(m, f"[profile].match #{n}", problems)
            if "variant" in m and _variant(m["variant"]) is None:
                m = {**m, "variant": parse_variant(m["variant"]).name}
            matches.append(m)
        matches = tuple(matches)
    else:
        problems.append(f'[profile].match must be "all" or a list of settings tables, got {match!r}')
        return None
    try:
        return ProfileSelection(match=matches, options=profile_selection.options_from(table))
    except ValueError as error:
        problems.append(f"[profile]: {error}")
        return None


def _planned(settings: dict) -> PlannedPoint:
    compared = {k: v for k, v in settings.items() if k not in COMPARED_SETTINGS}
    variant = parse_variant(settings["variant"])
    compared.update({c: variant.of(c) for c in PIPELINE_COMPONENTS})
    return PlannedPoint(settings=settings, point_id=config_hash(settings),
                        group_id=config_hash(compared),
                        skip_reason=device_absence(parse_device(settings["device"])))


def plan_sweep(spec: dict, source: str = "<sweep>", data_override: str | None = None) -> SweepPlan:
    problems: list[str] = []
    for key in sorted(set(spec) - set(TOP_LEVEL_KEYS)):
        problems.append(f"unknown top-level key {key!r}: use {', '.join(TOP_LEVEL_KEYS)}")
    fixed = _section(spec, "settings", dict, "a table of settings: [settings]", problems)
    _check_settings(fixed, "[settings]", problems)
    grid = _section(spec, "grid", dict, "a table of axis = [values]: [grid]", problems)
    _check_grid(grid, problems)
    explicit = _section(spec, "points", list, "an array of tables: [[points]]", problems)
    for n, point in enumerate(explicit, 1):
        _check_settings(point, f"[[points]] #{n}", problems)
    references = _section(spec, "references", dict,
                          'a table of component = variant, e.g. deepr = "notebook"', problems)
    _check_references(references, problems)
    profile = _check_profile(_section(spec, "profile", dict, "a table: [profile]", problems), problems)
    if problems:
        raise SweepConfigError(_problem_list(source, problems))

    combos: list[dict] = []
    if grid or not explicit:
        axes = list(grid)
        combos += [{**fixed, **dict(zip(axes, values))}
                   for values in itertools.product(*(grid[a] for a in axes))]
    combos += [{**fixed, **point} for point in explicit]
    points: dict[str, PlannedPoint] = {}
    for combo in combos:
        if data_override is not None:
            combo["data"] = data_override
        try:
            settings = normalise(combo)
            point_config(settings)  # cross-setting checks live in the dataclasses
        except ValueError as error:
            problems.append(f"point {combo}: {error}")
            continue
        planned = _planned(settings)
        points.setdefault(planned.point_id, planned)
    if problems:
        raise SweepConfigError(_problem_list(source, list(dict.fromkeys(problems))))
    return SweepPlan(name=str(spec.get("name") or Path(source).stem), points=list(points.values()),
                     references={**REFERENCES, **references},
                     description=str(spec.get("description", "")),
                     duplicates=len(combos) - len(points), source=source, profile=profile)


def load_sweep(path: str | Path, data_override: str | None = None) -> SweepPlan:
    path = Path(path)
    if not path.is_file():
        raise SweepConfigError(f"sweep file {path} does not exist: pass a TOML file such as "
                               "bench/configs/default.toml")
    try:
        spec = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        raise SweepConfigError(f"{path} is not valid TOML: {error}") from error
    return plan_sweep(spec, source=str(path), data_override=data_override)


def _problem_list(source: str, problems: list[str]) -> str:
    return f"{source}: {len(problems)} problem(s):\n" + "\n".join(f"  - {p}" for p in problems)
