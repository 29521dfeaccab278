"""What one training step of a network computes, read for comparison with another's: its spikes
layer by layer, its output, its weight gradients, and its peak tensor memory. Untimed.

`snn-bench check` (bench.measure.equivalence) compares a forward variant with forward:reference,
and a model that declares `agrees_with` (the seed network in another SNN library,
snn.libraries) with the model it ports, on one batch from one seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from bench.plugins.model import Tap
from snn.train import autocast


@dataclass
class StepRecord:
    """One forward and backward of a session's network on one batch."""

    spikes: dict[str, torch.Tensor]  # tap name → every spike it passed, calls concatenated: (T·B, ...)
    output: torch.Tensor
    grads: list[torch.Tensor | None]  # each rewirable weight's gradient, in the network's order


def _recorder(tap: Tap, seen: dict[str, list[torch.Tensor]]):
    """A hook appending what passes `tap`; a per-step loop calls it T times, a layerwise one once,
    and both concatenate to the same (T·B, ...) in time-major order."""
    if tap.where == "input":
        return tap.module.register_forward_pre_hook(lambda _m, args: seen[tap.name].append(args[0].detach()))
    return tap.module.register_forward_hook(lambda _m, _a, out: seen[tap.name].append(out.detach()))


def record_step(session, frames: torch.Tensor, targets: torch.Tensor) -> StepRecord:
    """The session's network trained one step's forward and backward on (frames, targets), with
    every neuron tap of its spec recorded. Gradients are left on the weights."""
    taps = session.spec.taps()
    seen: dict[str, list[torch.Tensor]] = {tap.name: [] for tap in taps}
    hooks = [_recorder(tap, seen) for tap in taps]
    try:
        output = _forward_backward(session, frames, targets)
    finally:
        for hook in hooks:
            hook.remove()
    spikes = {name: torch.cat(parts) for name, parts in seen.items() if parts}
    return StepRecord(spikes, output.detach(), [None if w.grad is None else w.grad.detach().clone()
                                                for w in session.weights])


def _forward_backward(session, frames, targets) -> torch.Tensor:
    trainer = session.trainer
    trainer.net.train()
    trainer.optimiser.zero_grad(set_to_none=True)
    if trainer.reset is not None:
        trainer.reset(trainer.net)
    with autocast(trainer.device, trainer.autocast):  # an approximate variant's, as the training step's
        output = trainer.net(frames)
    trainer.loss_fn(output, targets).backward()
    return output


def peak_step_memory(session, frames: torch.Tensor, targets: torch.Tensor) -> int:
    """Most bytes of tensors alive at once during one forward and backward, above what was alive
    before it (the allocator's view, from torch.profiler's memory events; CUDA's own counter on a
    GPU). Measured apart from any timing, so no timed step carries the profiler."""
    from torch.profiler import ProfilerActivity, profile

    from bench.profiling.torch_trace import peak_tensor_memory

    device = session.trainer.device
    if device.type == "cuda":
        torch.cuda.synchronize(device)
        torch.cuda.reset_peak_memory_stats(device)
        start = torch.cuda.memory_allocated(device)
        _forward_backward(session, frames, targets)
        torch.cuda.synchronize(device)
        return torch.cuda.max_memory_allocated(device) - start
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        _forward_backward(session, frames, targets)
    return peak_tensor_memory(prof)


@dataclass(frozen=True)
class StepAgreement:
    """How far one step of a network is from another's on the same batch: the figures of the
    agreement matrix (bench.report.libraries)."""

    spikes_differing: dict[str, int]  # per neuron layer (tap name): spikes that differ
    spikes_total: dict[str, int]
    output_max_abs: float  # largest |difference| of the output
    grad_max_abs: list[float]  # per rewirable weight: largest |difference| of its gradient
    grad_max_rel: list[float]  # the same over the reference gradient's largest |entry|


def compare_steps(step: StepRecord, reference: StepRecord) -> StepAgreement:
    """`step` against `reference`, layer by layer (taps of the same name) and weight by weight."""
    shared = [name for name in reference.spikes if name in step.spikes
              and step.spikes[name].shape == reference.spikes[name].shape]
    missing = sorted(set(reference.spikes) - set(shared))
    if missing:
        raise ValueError(f"neuron taps {', '.join(missing)} of the reference have no tap of the same name "
                         "and shape in the model: name its ModelSpec.neurons as the reference names them")
    grad_abs, grad_rel = [], []
    for a, b in zip(step.grads, reference.grads):
        if a is None or b is None or a.shape != b.shape:
            grad_abs.append(float("nan"))
            grad_rel.append(float("nan"))
            continue
        error = float((a - b).abs().max())
        grad_abs.append(error)
        grad_rel.append(error / (float(b.abs().max()) or 1.0))
    return StepAgreement(
        spikes_differing={n: int((step.spikes[n] != reference.spikes[n]).sum()) for n in shared},
        spikes_total={n: reference.spikes[n].numel() for n in shared},
        output_max_abs=float((step.output - reference.output).abs().max()) if step.output.shape ==
        reference.output.shape else float("nan"),
        grad_max_abs=grad_abs, grad_max_rel=grad_rel)
