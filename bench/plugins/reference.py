"""A plug-in reference → the object it names, with one-line errors naming the setting and the fix.

    package.module:attribute      imported as usual (the module must be importable)
    path/to/file.py:attribute     loaded from the file (a relative path: from the sweep file's folder)

Each load also gives a digest of the source it came from, recorded with every point, so a rule
edited between two runs into one store is noticed.
"""

from __future__ import annotations

import hashlib
import importlib
import inspect
import os
import re
from pathlib import Path

from bench.errors import SettingError, UserError
from bench.plugins import files

# What a reference looks like: a module path or a .py file, then ":" and an attribute name.
# A file may hold colons (a Windows drive: C:\Users\me\plug.py): its name runs to the last ".py:".
REFERENCE = re.compile(r"(?P<source>.+\.py|[A-Za-z_][\w.]*):(?P<attribute>[A-Za-z_]\w*)")


class PluginError(SettingError):
    """A plug-in reference that cannot be loaded, or that does not keep the contract."""


def reference_problem(value) -> str | None:
    """What is wrong with a reference's spelling (checked without importing anything), or None."""
    if not isinstance(value, str) or REFERENCE.fullmatch(value.strip()) is None:
        return (f"must be 'package.module:attribute' or 'path/to/file.py:attribute', got {value!r}")
    return None


def absolute_reference(value: str, base: Path) -> str:
    """A file reference made absolute from `base` (a sweep file's folder); a module reference as
    it is. One spelling per file, so one rule is one point id wherever the sweep ran from."""
    match = REFERENCE.fullmatch(value.strip())
    if match is None or not match["source"].endswith(".py"):
        return value
    return f"{(base / match['source']).expanduser().resolve()}:{match['attribute']}"


def load(reference: str, setting: str) -> tuple[object, str]:
    """(the object `reference` names, a digest of its source); PluginError naming `setting`."""
    if (problem := reference_problem(reference)) is not None:
        raise PluginError(f"{setting} {problem}")
    match = REFERENCE.fullmatch(reference.strip())
    source, attribute = match["source"], match["attribute"]
    if source.endswith(".py"):
        path = Path(source)
        if not path.is_file():
            raise PluginError(f"{setting}: no file {path} (a relative path is taken from the sweep "
                              "file's folder, or the working directory on the command line)")
        module = _load_file(path, setting)
    else:
        try:
            module = importlib.import_module(source)
        except Exception as error:  # any import failure is the plug-in's: say which and why
            raise PluginError(f"{setting}: module {source!r} does not import ({type(error).__name__}: "
                              f"{error}); install it, or name a file as path/to/file.py:{attribute}") from error
    if not hasattr(module, attribute):
        names = sorted(n for n in vars(module) if not n.startswith("_"))
        raise PluginError(f"{setting}: {source} has no attribute {attribute!r}; it has "
                          f"{', '.join(names[:20]) or 'nothing public'}")
    return getattr(module, attribute), _digest(module)


def _load_file(path: Path, setting: str):
    """The module of a plug-in file, under the name every process imports it by
    (bench.plugins.files); PluginError naming `setting` when it does not import."""
    name = files.module_name(path)
    try:
        return importlib.import_module(name)
    except Exception as error:  # any import failure is the plug-in's: say which and why
        raise PluginError(f"{setting}: {path} does not import ({type(error).__name__}: {error})") from error


def _source_files(module) -> list[Path]:
    """The source a plug-in runs, what it imports beside it included (a helper changed between
    two runs changes the digest too): a file's folder, its .py files and the packages in it; a
    module of a package of the user's (this checkout's snn.plugin, say), that whole package. A
    module of an installed distribution is its file alone: its version is recorded besides."""
    file = getattr(module, "__file__", None)
    if not file or not Path(file).is_file():
        return []
    file = Path(file).resolve()
    if "site-packages" in file.parts or "dist-packages" in file.parts:
        return [file]
    if (file.parent / "__init__.py").exists():  # in a package of the user's: all of that package
        top = file.parent
        while (top.parent / "__init__.py").exists():
            top = top.parent
        return sorted(top.rglob("*.py"))
    folder = file.parent
    found = set(folder.glob("*.py"))
    for package in (p.parent for p in folder.glob("*/__init__.py")):
        found.update(package.rglob("*.py"))
    return sorted(found)


def _digest(module) -> str:
    """sha256 over the plug-in's source files (`_source_files`: names and contents; its module
    name where it has no file)."""
    sources = _source_files(module)
    if not sources:
        return hashlib.sha256(module.__name__.encode()).hexdigest()[:16]
    digest = hashlib.sha256()
    base = Path(os.path.commonpath(sources)) if len(sources) > 1 else sources[0].parent
    for source in sources:  # names relative to their common folder: a copied tree digests alike
        digest.update(str(source.relative_to(base)).encode())
        digest.update(source.read_bytes())
    return digest.hexdigest()[:16]


def load_factory(reference: str, setting: str, takes: str) -> tuple[object, str]:
    """(the factory `reference` names, its source digest): a callable of one argument, the
    `takes` context; PluginError naming `setting` otherwise."""
    factory, digest = load(reference, setting)
    if not callable(factory):
        raise PluginError(f"{setting} {reference} names a {type(factory).__name__}, not a factory: "
                          f"name a class or function that takes one {takes}")
    try:
        inspect.signature(factory).bind(object())
    except TypeError as error:
        raise PluginError(f"{setting} {reference}: the factory must take one argument, the "
                          f"{takes} ({error})") from error
    except ValueError:  # no signature to read (a builtin): let the call say
        pass
    return factory, digest


class PluginOptions:
    """What a model's and a data set's contexts share: their options table and the point's seed
    (`options`, `seed` fields of the dataclass), read the same way. A subclass names its options
    setting, what it is, and its own random stream."""

    OPTIONS_SETTING = ""  # "model_options"
    WHAT = ""  # "model"
    STREAM = ""  # its stream of the seed (snn.seeds)

    def generator(self, stream: str | None = None):
        """A CPU torch.Generator of one named stream of the point's seed (snn.seeds), by default
        the plug-in's own. The harness seeds torch's global generator from the "weights" stream
        before calling a model factory, so default initialisers need nothing from here."""
        import torch

        from snn.seeds import stream_seed

        return torch.Generator().manual_seed(stream_seed(self.seed, stream or self.STREAM))

    def option(self, name: str, default=None, choices=None):
        """The option `name`, or `default` when unset; PluginError when `choices` are given and
        it is none of them."""
        value = self.options.get(name, default)
        if choices is not None and value not in choices:
            raise PluginError(f"{self.OPTIONS_SETTING} {name} = {value!r} is unknown to this {self.WHAT}: "
                              f"choose one of {', '.join(map(repr, choices))}")
        return value

    def refuse_unknown_options(self, known) -> None:
        """PluginError naming every option the factory does not read, and the ones it does."""
        unknown = sorted(set(self.options) - set(known))
        if unknown:
            raise PluginError(f"{self.OPTIONS_SETTING} {', '.join(unknown)} "
                              f"{'is' if len(unknown) == 1 else 'are'} unknown to this {self.WHAT}; "
                              f"it reads {', '.join(known) or 'no options'}")


class NotApplicable(UserError):
    """A variant that cannot apply to a point's model or data (fused neurons on a network without
    snn.Leaky neurons, a framing of data that is not events): the point is recorded as skipped
    with this one-line reason, never failed and never run as the reference instead."""
