"""What line_profiler instruments, per area: the functions a researcher would read line by line.

The areas' functions come from the point's plug-ins: "forward" from the model's spec
(`ModelSpec.line_targets`, else its module's `forward`), "data" from the data set's spec
(`DatasetSpec.line_targets`, else its training split's `__getitem__`), and "rewiring" from the
DeepR implementations below, plus a custom rule's own `step`. A target is a function or its
import path, "package.module:Class.attr"; a path lets a DataLoader worker started with `spawn`
(which shares no memory with the parent) resolve the same set.
"""

from __future__ import annotations

import importlib
import inspect

AREAS = ("forward", "rewiring", "data")

REWIRING_TARGETS = (
    "snn.deepr.notebook:NotebookDeepR.update",
    "snn.deepr.notebook:NotebookDeepR._rewiring",
    "snn.deepr.exact:ExactDeepR.step",
    "snn.deepr.exact:ExactDeepR._compiled_step",  # deaths and revival kernels, one line each
    "snn.deepr.exact:ExactDeepR._torch_step",
    "snn.deepr.exact:ExactDeepR._torch_deaths",
    "snn.deepr.exact:ExactDeepR._rewire_sync_free",
    "snn.deepr.exact:ExactDeepR._prune",
    "snn.deepr.select:by_rejection",
    "snn.deepr.select:lowest",
)

Targets = dict[str, tuple]  # area → its targets


def point_targets(model_spec, data_spec, rewiring=None) -> Targets:
    """Every area's targets for one point, from its model and data set specs and its rewiring."""
    forward = tuple(model_spec.line_targets) or (type(model_spec.module).forward,)
    data = tuple(data_spec.line_targets) or (type(data_spec.train).__getitem__,)
    rule = () if rewiring is None or type(rewiring).__module__.startswith("snn.deepr") else (type(rewiring).step,)
    return {"forward": forward, "rewiring": REWIRING_TARGETS + rule, "data": data}


def portable(targets: Targets) -> Targets:
    """The targets as import paths where a function has one (for a worker started by spawn)."""
    def name(target):
        if isinstance(target, str):
            return target
        function = inspect.unwrap(target)
        return f"{function.__module__}:{function.__qualname__}"
    return {area: tuple(map(name, found)) for area, found in targets.items()}


def resolve(target):
    """'package.module:Class.attr' (or a function) → the function object."""
    if not isinstance(target, str):
        return inspect.unwrap(target)
    module_name, _, path = target.partition(":")
    obj = importlib.import_module(module_name)
    for part in path.split("."):
        obj = getattr(obj, part)
    return inspect.unwrap(obj)  # the function under a decorator such as torch.no_grad


def functions(targets: Targets, areas) -> list:
    return [resolve(t) for area in areas for t in targets.get(area, ())]


def area_of_function(targets: Targets, areas) -> dict[tuple[str, int], str]:
    """(file, first line) of each function's code → its area, to label line-profile rows."""
    labels = {}
    for area in areas:
        for target in targets.get(area, ()):
            code = resolve(target).__code__
            labels[(code.co_filename, code.co_firstlineno)] = area
    return labels
