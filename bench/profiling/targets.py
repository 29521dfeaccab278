"""What line_profiler instruments, per area: the functions a researcher would read line by line.

Functions are named by import path so a DataLoader worker started with `spawn` (which shares no
memory with the parent) can resolve the same set.
"""

from __future__ import annotations

import importlib
import inspect

AREAS = ("forward", "rewiring", "data")

TARGETS: dict[str, tuple[str, ...]] = {
    "forward": (
        "snn.model:SeedNet.forward_reference",
        "snn.model:SeedNet.forward_layerwise",  # multistep and fused
        "snn.model:SeedNet._neurons_stepwise",
        "snn.lif:_LIFScan.forward",  # fused: its compiled loop is one line here
        "snn.lif:_LIFScan.backward",
        "snntorch._neurons.leaky:Leaky.forward",  # the neuron step
    ),
    "rewiring": (
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
    ),
    "data": (
        "snn.data.dvsgesture:CheckedDVSGesture.__getitem__",
        "tonic.datasets.dvsgesture:DVSGesture.__getitem__",
        "tonic.transforms:Compose.__call__",
        "tonic.transforms:Denoise.__call__",
        "tonic.transforms:Downsample.__call__",
        "tonic.transforms:ToFrame.__call__",
        "tonic.functional.to_frame:to_frame_numpy",
        "snn.data.framing:frames_by_bincount",
        "snn.data.framing:frames_by_loop",  # its compiled loop is one line here
        "tonic.collation:PadTensors.__call__",
    ),
}


def resolve(target: str):
    """'package.module:Class.attr' → the function object."""
    module_name, _, path = target.partition(":")
    obj = importlib.import_module(module_name)
    for part in path.split("."):
        obj = getattr(obj, part)
    return inspect.unwrap(obj)  # the function under a decorator such as torch.no_grad


def functions(areas) -> list:
    return [resolve(t) for area in areas for t in TARGETS[area]]


def area_of_function(areas) -> dict[tuple[str, int], str]:
    """(file, first line) of each function's code → its area, to label line-profile rows."""
    labels = {}
    for area in areas:
        for target in TARGETS[area]:
            code = resolve(target).__code__
            labels[(code.co_filename, code.co_firstlineno)] = area
    return labels
