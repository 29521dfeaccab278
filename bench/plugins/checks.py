"""Checks of every plug-in a plan names (model, data set, rewiring rule), before anything runs."""

from __future__ import annotations

from bench.config.settings import PLUGIN_SETTINGS
from bench.plugins.reference import PluginError, load, load_factory

CONTEXTS = {"model": "ModelContext", "dataset": "DatasetContext", "rewiring_rule": "RewiringContext"}


def _references(points) -> dict[str, str]:
    """reference → the setting naming it, over every plug-in setting of these points' Settings."""
    found: dict[str, str] = {}
    for settings in points:
        for name in PLUGIN_SETTINGS:
            reference = getattr(settings, name)
            if reference is not None:
                found.setdefault(reference, name)
    return found


def check_plugins(points) -> None:
    """Every distinct plug-in the points name loads and is a factory of one argument; one
    PluginError listing every problem."""
    problems = []
    for reference, setting in _references(points).items():
        try:
            load_factory(reference, setting, CONTEXTS[setting])
        except PluginError as error:
            problems.append(str(error))
    if problems:
        raise PluginError("; ".join(problems))


def changed_plugins(stored_rows, points) -> list[str]:
    """One warning per plug-in whose source changed since points built with it were stored:
    their ids are the same, their code is not."""
    current = _references(points)
    stored: dict[str, set[str]] = {}
    for row in stored_rows:
        for ref, digest in ((getattr(row, "env", None) or {}).get("plugin_digests") or {}).items():
            if ref in current:
                stored.setdefault(ref, set()).add(digest)
    warnings = []
    for ref, digests in stored.items():
        try:
            now = load(ref, current[ref])[1]
        except PluginError:
            continue  # check_plugins says why, for the points about to run
        if digests - {now}:
            warnings.append(f"{ref} has changed since points built with it were stored (source digest "
                            f"{', '.join(sorted(digests - {now}))} then, {now} now): those points are "
                            "kept as they were; sweep into a fresh --out to time the new code")
    return warnings
