"""NeuroBench's workload metrics of a timed point, measured after its timing (never inside a
timed step): the first `workload_batches` test batches, loaded once per group, are evaluated
twice, plainly and with the counters on (snn.workload), and the two evaluation times give the
counting's overhead.

The layers and neurons counted are those the model's spec names (bench.plugins.model.ModelSpec:
its Linear/Conv layers, and its neurons or taps). The network is the one the point just trained, in eval mode, so its activation sparsity is
that of the weights it was timed with and its connection sparsity that of its DeepR masks.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import asdict

import torch

from bench.measure.timing import device_sync
from snn.workload import WorkloadCounter


def first_batches(loader, count: int) -> list[torch.Tensor]:
    """The frames of the loader's first `count` batches, loaded (and framed) once: every point of
    a group, and both of its passes, read these same tensors."""
    return [frames for frames, _ in itertools.islice(loader, count)]


@torch.no_grad()
def _evaluate(spec, batches: list[torch.Tensor], device: torch.device, counter: WorkloadCounter | None) -> float:
    """Seconds to run `batches` through the spec's network (counted when `counter`)."""
    sync = device_sync(device)
    net = spec.module
    net.eval()
    seconds = 0.0
    for frames in batches:
        frames = frames.to(device).float()
        if spec.reset is not None:
            spec.reset(net)
        if counter is not None:
            counter.rows_per_step = frames.shape[0]  # a layer fed all T·B inputs splits them by step
        sync()
        start = time.perf_counter()
        net(frames)
        sync()
        seconds += time.perf_counter() - start
        if counter is not None:
            counter.add_samples(frames.shape[0])
    net.train()
    return seconds


def measure_workload(spec, batches: list[torch.Tensor], device: torch.device) -> dict:
    """WorkloadMetrics' fields, plus eval_s (plain), eval_counting_s and their ratio. An unmeasured
    pass goes first: the first forward in eval mode pays set-up costs (new shapes, allocations)
    that would otherwise land on the plain pass alone and flatter the counting."""
    _evaluate(spec, batches, device, None)
    plain_s = _evaluate(spec, batches, device, None)
    counter = WorkloadCounter(spec.module, spec.synapses(), spec.taps())  # from the model's spec
    with counter:
        counting_s = _evaluate(spec, batches, device, counter)
    return {**asdict(counter.metrics()), "eval_s": plain_s, "eval_counting_s": counting_s,
            "counting_overhead": counting_s / plain_s if plain_s > 0 else float("nan")}
