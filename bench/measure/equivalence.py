"""Equivalence: does a point's fast variant compute what its reference computes? Untimed.

One check per component the point's variant changes, each on the point's own data and seed:

    deepr    exact DeepR or a rule of the user's (deepr:custom): the rule's invariants after every
             update of a few real training steps (bench.plugins.rewiring.check_rule): its masks
             shaped as the weights, exactly K active, every dormant weight zero
    forward  the variant and forward:reference built from one seed (same weights, same masks),
             one batch: output spikes `torch.equal`, every weight gradient within [check].grad_rtol of the
             reference's (one convolution over T·B inputs sums in another order than T over B)
    framing  the variant's frames of the first samples against tonic's framing, bit for bit

`check_point(settings)` is importable for a user's own tests; `snn-bench check FILE` runs it on
every point of a sweep file and stores the results, which the report sets beside the speed-ups.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from bench.config.check_options import DEFAULT_CHECK, CheckOptions
from bench.config.point_config import point_config
from bench.config.settings import Settings
from bench.config.variants import parse_variant
from bench.measure.data import dataset_context, open_dataset
from bench.measure.point import PointSession, apply_runtime, open_batches
from bench.plugins.dataset import build_dataset
from bench.plugins.rewiring import check_rule
from snn.train import NullTimer, no_rewiring, train_step


@dataclass(frozen=True)
class Check:
    component: str
    reference_variant: str
    passed: bool
    problems: tuple[str, ...]
    what: str


def checks_for(settings: Settings) -> list[str]:
    """The components of this point's variant that have an equivalence to check."""
    variant = parse_variant(settings.variant)
    return ([c for c in ("deepr",) if variant.of("deepr") in ("exact", "custom")]
            + [c for c in ("forward",) if variant.of("forward") != "reference"]
            + [c for c in ("framing",) if variant.of("framing") != "tonic"])


def check_point(settings: Settings, options: CheckOptions = DEFAULT_CHECK) -> list[Check]:
    """Every check this point's variant calls for (`checks_for`), on its own data and seed, as
    `options` (a sweep's [check] table) say. NotApplicable when the variant does not apply to
    the point's model or data."""
    run = {"deepr": lambda: _rewiring(settings, options.updates),
           "forward": lambda: _forward(settings, options.grad_rtol),
           "framing": lambda: _framing(settings, options.framed_samples)}
    return [run[component]() for component in checks_for(settings)]


def _session(settings: Settings, data=None):
    cfg = point_config(settings)
    device = apply_runtime(cfg)
    data = data or open_dataset(cfg)
    return cfg, PointSession(cfg, device, data), data


def _rewiring(settings: Settings, updates: int) -> Check:
    cfg, session, data = _session(settings)
    batches, _ = open_batches(cfg, data=data)
    try:
        plain = replace(session.trainer, rewire=no_rewiring)  # the rule's step is check_rule's
        targets = [round(settings.connectivity * w.numel()) for w in session.weights]
        result = check_rule(session.rewiring, session.weights, targets,
                            lambda: train_step(plain, batches, NullTimer()), updates=updates)
    finally:
        batches.close()
    return Check("deepr", "", result.passed, result.problems,
                 f"invariants before and after {updates} updates on real batches: masks shaped as the "
                 "weights, K active, dormant weights zero")


def _forward(settings: Settings, grad_rtol: float) -> Check:
    variant = parse_variant(settings.variant)
    reference = settings.changed(variant=variant.with_choice("forward", "reference").name)
    cfg, fast, data = _session(settings)
    _, slow, _ = _session(reference, data)  # one seed: the same weights and the same DeepR masks
    batches, _ = open_batches(cfg, data=data)
    try:
        frames, targets = next(batches)
    finally:
        batches.close()
    frames = frames.to(fast.trainer.device).float()
    targets = targets.to(fast.trainer.device)
    outputs = []
    for session in (fast, slow):
        session.trainer.net.train()
        session.trainer.optimiser.zero_grad(set_to_none=True)
        if session.trainer.reset is not None:
            session.trainer.reset(session.trainer.net)
        spikes = session.trainer.net(frames)
        session.trainer.loss_fn(spikes, targets).backward()
        outputs.append(spikes.detach())
    problems = []
    if not torch.equal(outputs[0], outputs[1]):
        differing = int((outputs[0] != outputs[1]).sum())
        problems.append(f"{differing} of {outputs[0].numel()} output spikes differ from forward:reference's")
    for i, (a, b) in enumerate(zip(fast.weights, slow.weights)):
        if a.grad is None or b.grad is None:
            problems.append(f"weight {i}: no gradient in {'the variant' if a.grad is None else 'the reference'}")
            continue
        scale = float(b.grad.abs().max()) or 1.0
        error = float((a.grad - b.grad).abs().max()) / scale
        if error > grad_rtol:
            problems.append(f"weight {i}: gradient differs by {error:.2g} of its largest entry (tolerance {grad_rtol:g})")
    return Check("forward", reference.variant, not problems, tuple(problems),
                 f"one batch from one seed: output spikes equal, weight gradients within {grad_rtol:g} relative")


def _framing(settings: Settings, framed_samples: int) -> Check:
    cfg = point_config(settings)
    fast = open_dataset(cfg).train  # the data set plug-in's samples, framed each way
    slow = build_dataset(cfg.dataset, dataset_context(replace(cfg, frames=replace(cfg.frames, framing="tonic")),
                                                      settings)).train
    problems = [f"sample {i}: frames differ from tonic's" for i in range(min(framed_samples, len(fast)))
                if not np.array_equal(np.asarray(fast[i][0]), np.asarray(slow[i][0]))]
    variant = parse_variant(settings.variant).with_choice("framing", "tonic").name
    return Check("framing", variant, not problems, tuple(problems),
                 f"the first {framed_samples} training samples' frames against tonic's, bit for bit")
