"""One shape for every table of options: name, type, default, check, help.

Point settings (bench.config.settings), a study file's [study] table (bench.study.spec) and a
profile's options ([profile] in a sweep file, `snn-bench profile`'s flags; bench.profiling.options)
are each a tuple of `Option`s. Their checks (every problem reported at once), their CLI flags and
their docs tables come from here, so adding an option is one entry plus the code that uses it.
Imports nothing heavy.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from bench.errors import SettingError

Check = Callable[[object], "str | None"]  # a value → what is wrong with it, or None


# -- value checks: each returns the problem in words (completing "<option> ..."), or None -------
def whole(low: int, high: int | None = None) -> Check:
    def check(value) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int):
            return f"must be a whole number, got {value!r}"
        if value < low:
            return f"must be {low} or more, got {value}"
        return None if high is None or value <= high else f"must be at most {high}, got {value}"
    return check


def number(low: float, *, strict: bool, high: float | None = None) -> Check:
    """A finite number above (strict) or at least `low`, and at most `high` when given."""
    def check(value) -> str | None:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return f"must be a number, got {value!r}"
        if not math.isfinite(value):
            return f"must be a finite number, got {value}"
        ok = value > low if strict else value >= low
        if not ok:
            return f"must be {'above' if strict else 'at least'} {low:g}, got {value}"
        return None if high is None or value <= high else f"must be at most {high:g}, got {value:g}"
    return check


def fraction(value) -> str | None:
    """A number in (0, 1]."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return f"must be a number in (0, 1], got {value!r}"
    return None if 0.0 < value <= 1.0 else f"must lie in (0, 1], got {value:g}"


def flag(value) -> str | None:
    return None if isinstance(value, bool) else f"must be true or false, got {value!r}"


def one_of(options: Sequence[str]) -> Check:
    def check(value) -> str | None:
        return None if value in options else f"unknown {value!r}: choose one of {', '.join(options)}"
    return check


def or_none(check: Check) -> Check:
    return lambda value: None if value is None else check(value)


def distinct_whole_numbers(value) -> str | None:
    """A non-empty list of distinct whole numbers, 0 or more (a study's seeds)."""
    if (not isinstance(value, (list, tuple)) or not value or len(set(value)) != len(value)
            or any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in value)):
        return f"must be a non-empty list of distinct whole numbers, 0 or more, got {value!r}"
    return None


@dataclass(frozen=True)
class Option:
    name: str  # the key in its table; the flag is --name-with-dashes
    kind: type  # int, float, bool, str or tuple (a list in TOML)
    default: object
    check: Check
    help: str

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")


def show_value(value) -> str:
    """A value as a TOML file spells it ("unset" for None): for tables and help."""
    if value is None:
        return "unset"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, tuple):
        return "[" + ", ".join(map(show_value, value)) + "]"
    return str(value)


def check_table(where: str, table, options: Iterable[Option], problems: list[str]) -> dict:
    """A table's values by name, every option present (the default where not given); each
    unknown key or bad value is appended to `problems`, naming `where` and the fix."""
    options = {o.name: o for o in options}
    values = {name: o.default for name, o in options.items()}
    if not isinstance(table, dict):
        problems.append(f"{where} must be a table, got {table!r}")
        return values
    for key, value in table.items():
        option = options.get(key)
        if option is None:
            problems.append(f"{where}: unknown key {key!r}; use {', '.join(options)}")
        elif (problem := option.check(value)) is not None:
            problems.append(f"{where}.{key} {problem}")
        else:
            values[key] = tuple(value) if option.kind is tuple else (
                float(value) if option.kind is float and value is not None else value)
    return values


def table_values(where: str, table, options: Iterable[Option]) -> dict:
    """`check_table` for a table read on its own: its values, or one SettingError listing every
    problem."""
    problems: list[str] = []
    values = check_table(where, table, options, problems)
    if problems:
        raise SettingError("; ".join(problems))
    return values


def markdown_table(options: Iterable[Option], key: str = "key") -> str:
    """The options as a Markdown table: key (flag), type, default, what it sets."""
    rows = [f"| {key} (flag) | type | default | what it sets |", "| --- | --- | --- | --- |"]
    for o in options:
        kind = {tuple: "list", dict: "table"}.get(o.kind, o.kind.__name__)
        rows.append(f"| `{o.name}` (`{o.flag}`) | {kind} | {show_value(o.default)} | {o.help}. |")
    return "\n".join(rows)


def add_flags(group, options: Iterable[Option]) -> None:
    """One flag per option (and one per older spelling, where an option has `aliases`); a flag
    not given leaves the table's default (argparse.SUPPRESS)."""
    for o in options:
        kwargs = {"dest": o.name, "default": argparse.SUPPRESS,
                  "help": f"{o.help} (default: {show_value(o.default)})".replace("%", "%%")}
        if o.kind is bool:
            kwargs["action"] = argparse.BooleanOptionalAction
        elif o.kind is tuple:
            kwargs.update(type=int, nargs="+", metavar=o.name.upper())
        elif o.kind is dict:
            kwargs.update(type=_json_table, metavar="JSON")
        else:
            kwargs.update(type=o.kind, metavar=o.name.upper())
        aliases = ["--" + alias.replace("_", "-") for alias in getattr(o, "aliases", ())]
        group.add_argument(o.flag, *aliases, **kwargs)


def _json_table(text: str) -> dict:
    """A table given on the command line as JSON: '{"zeta": 0.3}'."""
    try:
        value = json.loads(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(f"not JSON ({error}): write a table as '{{\"name\": 0.3}}'") from error
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError(f"{text!r} is not a table: write it as '{{\"name\": 0.3}}'")
    return value


def given_flags(args, options: Iterable[Option]) -> dict:
    """The options given on the command line, by name."""
    return {o.name: getattr(args, o.name) for o in options if hasattr(args, o.name)}
