"""`python -m snn.libraries.install`: each SNN library of the comparison installed against this
environment's torch, which is given to pip as a constraint so no library can move it. A library
that cannot install or import is recorded as "not installable: <reason>" and the others go on;
the record (snn.libraries.status) is what a port's skip reason reads."""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import subprocess
import sys
import tempfile
from pathlib import Path

from snn.libraries.status import library_specs, status_file


def _last_error(output: str) -> str:
    lines = [line.strip() for line in output.splitlines()
             if line.strip() and not line.startswith("WARNING: Location")]
    errors = [line for line in lines if line.startswith("ERROR")]
    return (errors or lines or ["pip gave no reason"])[-1][:300]


def install(library: str, spec: str, torch_version: str) -> str:
    with tempfile.TemporaryDirectory() as folder:
        constraints = Path(folder) / "constraints.txt"
        constraints.write_text(f"torch=={torch_version}\n")
        done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
                               "-c", str(constraints), spec], capture_output=True, text=True)
    if done.returncode != 0:
        return f"not installable: {spec} against torch=={torch_version}: {_last_error(done.stderr + done.stdout)}"
    check = subprocess.run([sys.executable, "-c", f"import {library}"], capture_output=True, text=True)
    if check.returncode != 0:
        return f"not installable: {spec} installed but does not import: {_last_error(check.stderr)}"
    return f"installed {importlib.metadata.version(library)}"


def main() -> int:
    torch_version = importlib.metadata.version("torch")
    specs = library_specs()
    if not specs:
        print("no libraries listed: install the project first (make setup), whose `libraries` extra pins them",
              file=sys.stderr)
        return 2
    status = {}
    for library, spec in specs.items():
        status[library] = install(library, spec, torch_version)
        print(f"{library}: {status[library]}")
    after = importlib.metadata.version("torch")
    if after != torch_version:  # the constraint forbids it; said loudly if pip ever disagrees
        print(f"torch moved from {torch_version} to {after}: reinstall it with `make setup`", file=sys.stderr)
        return 1
    status_file().write_text(json.dumps(status, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
