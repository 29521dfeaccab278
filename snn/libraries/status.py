"""Which SNN libraries are installed, and why one is not: written by `make setup-libraries`
(snn.libraries.install), read by a port whose library does not import."""

from __future__ import annotations

import json
import re
import sys
from importlib.metadata import PackageNotFoundError, requires
from pathlib import Path

EXTRA = "libraries"  # pyproject.toml's optional dependencies that pin them: the one place


def library_specs() -> dict[str, str]:
    """library → its pinned requirement, from the installed project's `libraries` extra."""
    try:
        requirements = requires("snn-bench") or []
    except PackageNotFoundError:  # run from a source tree that was never installed
        requirements = []
    specs = {}
    for requirement in requirements:
        spec, _, marker = requirement.partition(";")
        if re.search(rf"extra\s*==\s*['\"]{EXTRA}['\"]", marker):
            specs[re.split(r"[<>=!~ \[]", spec.strip())[0]] = spec.strip()
    return specs


def status_file() -> Path:
    """Beside the interpreter's environment (the .venv), so a second checkout has its own."""
    return Path(sys.prefix) / "snn-bench-libraries.json"


def read_status() -> dict[str, str]:
    """library → "installed <version>" or "not installable: <reason>"; {} before any install."""
    try:
        return json.loads(status_file().read_text())
    except (OSError, ValueError):
        return {}


def missing_reason(library: str, error: BaseException) -> str:
    """One line: why `library` cannot be used here, and the fix."""
    recorded = read_status().get(library, "")
    if recorded.startswith("not installable"):
        return f"{library} is {recorded}"
    return (f"{library} does not import ({type(error).__name__}: {error}): install it with "
            "`make setup-libraries` (it installs against the project's torch, never moving it)")
