"""Plug-in files as importable modules: `bench.plugins.files.p<hex of the file's absolute path>`.

A plug-in given as a file (`path/to/file.py:attribute`) has no module name of its own. Loaded
under a made-up name, its classes pickle by a name no other process can import: a DataLoader
worker of a group run (whose processes start by forkserver here, by spawn on macOS and Windows)
failed with ModuleNotFoundError. Under this package the name carries the file's path, so any
process (a loader's worker, a group run's fresh process, a Ray task on the same file system)
imports the same file under the same name: importing this package, as unpickling the name does
first, installs the finder that does it. The file's folder goes on sys.path as a script's does,
so a plug-in imports the modules beside it.
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from pathlib import Path

PREFIX = __name__ + ".p"


def module_name(path: Path) -> str:
    """The module name a plug-in file is imported under, in every process."""
    return PREFIX + str(path.resolve()).encode().hex()


def _path_of(name: str) -> Path | None:
    try:
        return Path(bytes.fromhex(name[len(PREFIX):]).decode())
    except (ValueError, UnicodeDecodeError):
        return None


class PluginFileFinder(importlib.abc.MetaPathFinder):
    """Finds `bench.plugins.files.p<hex>` at the file the name spells."""

    def find_spec(self, fullname, path=None, target=None):
        if not fullname.startswith(PREFIX) or (file := _path_of(fullname)) is None or not file.is_file():
            return None
        if str(file.parent) not in sys.path:  # as `python file.py` would: the modules beside it import
            sys.path.insert(0, str(file.parent))
        return importlib.util.spec_from_file_location(fullname, file)


if not any(isinstance(finder, PluginFileFinder) for finder in sys.meta_path):
    sys.meta_path.append(PluginFileFinder())
