"""A sweep file (TOML) → a checked `SweepSpec`, every problem reported at once with its key and fix.

    name = "default"
    [references]                           # what variants are compared against (defaults:
    deepr = "notebook"                     #   deepr:notebook, forward:reference, framing:tonic)
    [settings]                             # fixed for every point
    batch_size = 16
    [grid]                                 # the full product of these axes
    num_workers = [0, 2]
    variant = ["notebook", "exact"]
    connectivity = [0.1]
    [[points]]                             # and/or explicit points
    layer_type = "linear"
    [profile]                              # optional: points to profile after timing
    match = [{ variant = "exact" }]

Keys are the settings of bench.config.settings (their aliases too); values are checked there. Checks
that need a whole point (a DeepR variant's connectivity) run when bench.config.plan expands the file.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from bench.config.check_options import CHECK_OPTIONS
from bench.config.options import check_table
from bench.config.settings import SETTING_NAMES, canonical_name, unknown_setting, value_problem
from bench.config.variants import REFERENCES, VARIANT_COMPONENTS, parse_variant
from bench.errors import UserError
from bench.profiling import selection as profile_selection
from bench.profiling.options import PROFILE_OPTIONS, profile_options
from bench.profiling.selection import ProfileSelection

TOP_LEVEL_KEYS = ("name", "description", "references", "settings", "grid", "points", "profile", "check")
MAX_POINTS = 10_000  # a larger sweep is refused unless the user raises the limit (--max-points)
# A sweep's name becomes a folder (reports/<name>): a plain name, never a path.
_PLAIN_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")


class SweepConfigError(UserError, ValueError):
    """A sweep file that cannot be run; the message lists every problem found."""


@dataclass(frozen=True)
class SweepSpec:
    name: str
    description: str
    source: str
    fixed: dict  # canonical setting names
    grid: dict  # axis → values
    points: list[dict]
    references: dict
    profile: ProfileSelection | None
    check: dict = field(default_factory=dict)  # the [check] table, checked (bench.config.check_options)


def problem_list(source: str, problems: list[str]) -> str:
    return f"{source}: {len(problems)} problem(s):\n" + "\n".join(f"  - {p}" for p in problems)


def _settings_table(settings, where: str, problems: list[str]) -> dict:
    """The table with canonical names; each unknown name or bad value is a problem."""
    if not isinstance(settings, dict):
        problems.append(f"{where} must be a table of settings, got {settings!r}")
        return {}
    out = {}
    for name, value in settings.items():
        canon = canonical_name(name)
        if canon is None:
            problems.append(f"{where}: {unknown_setting(name)}")
        elif canon in out:
            problems.append(f"{where}: {canon} is given twice (once as an alias): keep one")
        elif (problem := value_problem(canon, value)) is not None:
            problems.append(f"{where}.{name} {problem}")
        else:
            out[canon] = value
    return out


def _section(spec: dict, key: str, kind: type, shape: str, problems: list[str]):
    """spec[key] if it has the right TOML type, else an empty one and a problem."""
    value = spec.get(key, kind())
    if isinstance(value, kind):
        return value
    problems.append(f"{key} must be {shape}, got {value!r}")
    return kind()


def _grid(grid: dict, problems: list[str]) -> dict:
    out = {}
    for axis, values in grid.items():
        canon = canonical_name(axis)
        if canon is None:
            problems.append(f"[grid]: unknown axis {axis!r}; axes are settings: {', '.join(SETTING_NAMES)}")
        elif not isinstance(values, list) or not values:
            problems.append(f"[grid].{axis} must be a non-empty list of values, got {values!r}")
        else:
            found = [f"[grid].{axis} value {p}" for v in values if (p := value_problem(canon, v))]
            problems += found
            if not found:
                out[canon] = values
    return out


def _references(references: dict, problems: list[str]) -> dict:
    for component, name in references.items():
        if component not in VARIANT_COMPONENTS:
            problems.append(f"[references]: unknown component {component!r}; components are "
                            f"{', '.join(VARIANT_COMPONENTS)}")
        elif name not in VARIANT_COMPONENTS[component][0]:
            problems.append(f"[references].{component}: unknown variant {name!r}; choose one of "
                            f"{', '.join(VARIANT_COMPONENTS[component][0])}")
    return {**REFERENCES, **references}


def _profile(table: dict, problems: list[str]) -> ProfileSelection | None:
    if not table:
        return None
    for key in sorted(set(table) - set(profile_selection.KEYS)):
        problems.append(f"[profile]: unknown key {key!r}; use {', '.join(profile_selection.KEYS)}")
    options = {k: v for k, v in table.items() if k in profile_selection.KEYS and k != "match"}
    option_problems: list[str] = []
    values = check_table("[profile]", options, PROFILE_OPTIONS, option_problems)
    problems += option_problems
    match = table.get("match", "all")
    if match == "all":
        matches = None
    elif isinstance(match, list) and all(isinstance(m, dict) for m in match):
        matches = []
        for n, m in enumerate(match, 1):
            m = _settings_table(m, f"[profile].match #{n}", problems)
            if "variant" in m:
                m = {**m, "variant": parse_variant(m["variant"]).name}
            matches.append(m)
        matches = tuple(matches)
    else:
        problems.append(f'[profile].match must be "all" or a list of settings tables, got {match!r}')
        return None
    if option_problems:
        return None
    return ProfileSelection(match=matches, options=profile_options(values))


def check_sweep(spec: dict, source: str = "<sweep>") -> SweepSpec:
    """A parsed TOML document → SweepSpec; SweepConfigError listing every problem."""
    problems: list[str] = []
    for key in sorted(set(spec) - set(TOP_LEVEL_KEYS)):
        problems.append(f"unknown top-level key {key!r}: use {', '.join(TOP_LEVEL_KEYS)}")
    fixed = _settings_table(_section(spec, "settings", dict, "a table of settings: [settings]", problems),
                            "[settings]", problems)
    grid = _grid(_section(spec, "grid", dict, "a table of axis = [values]: [grid]", problems), problems)
    points = [_settings_table(point, f"[[points]] #{n}", problems) for n, point in
              enumerate(_section(spec, "points", list, "an array of tables: [[points]]", problems), 1)]
    references = _references(_section(spec, "references", dict,
                                       'a table of component = variant, e.g. deepr = "notebook"',
                                       problems), problems)
    profile = _profile(_section(spec, "profile", dict, "a table: [profile]", problems), problems)
    check = _section(spec, "check", dict, "a table: [check]", problems)
    check_table("[check]", check, CHECK_OPTIONS, problems)
    name = str(spec.get("name") or "")
    if not name:  # the file's own name, when it can name a folder
        name = Path(source).stem if _PLAIN_NAME.fullmatch(Path(source).stem) else "sweep"
    elif not _PLAIN_NAME.fullmatch(name):
        problems.append(f"name {name!r} must be a plain folder name (letters, digits, . _ -; no "
                        "slashes or leading dot): it names the results folder under reports/")
    if problems:
        raise SweepConfigError(problem_list(source, problems))
    return SweepSpec(name=name,
                     description=str(spec.get("description", "")), source=source, fixed=fixed,
                     grid=grid, points=points, references=references, profile=profile, check=check)


def read_document(path: str | Path) -> dict:
    """A sweep or study file's TOML as a dict; SweepConfigError when it is missing or not TOML."""
    path = Path(path)
    if not path.is_file():
        raise SweepConfigError(f"sweep file {path} does not exist: pass a TOML file such as "
                               "bench/configs/default.toml")
    try:
        return tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as error:
        raise SweepConfigError(f"{path} is not valid TOML: {error}") from error


def read_sweep(path: str | Path) -> SweepSpec:
    return check_sweep(read_document(path), source=str(path))
