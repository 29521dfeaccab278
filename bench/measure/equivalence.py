"""Equivalence: does a point's fast variant compute what its reference computes? Untimed.

One check per component the point's variant changes, each on the point's own data and seed:

    deepr    exact DeepR or a rule of the user's (deepr:custom): the rule's invariants after every
             update of a few real training steps (bench.plugins.rewiring.check_rule): its masks
             shaped as the weights, exactly K active, every dormant weight zero
    forward  the variant and forward:reference built from one seed (same weights, same masks),
             one batch: output spikes `torch.equal`, every weight gradient within [check].grad_rtol of the
             reference's (one convolution over T·B inputs sums in another order than T over B)
    framing  the variant's frames of the first samples against tonic's framing, bit for bit
    agreement  a model that declares `agrees_with` (the seed network ported to another SNN
             library, snn.libraries) against the model it ports, built at one seed (the same
             weights), one batch: spikes differing per neuron layer, the output's and each weight
             gradient's largest difference. It fails only a model that claims the same spikes (no
             declared differences); one that differs by design is measured, and passes.

The forward and agreement checks also record each side's peak tensor memory over one forward and
backward (bench.measure.agreement.peak_step_memory), apart from any timing.

`check_point(settings)` is importable for a user's own tests; `snn-bench check FILE` runs it on
every point of a sweep file and stores the results, which the report sets beside the speed-ups.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace

import numpy as np
import torch

from bench.config.check_options import DEFAULT_CHECK, CheckOptions
from bench.config.point_config import point_config
from bench.config.settings import SEED_MODEL, Settings
from bench.config.variants import APPROXIMATE_LABEL, parse_variant
from bench.measure.agreement import StepRecord, compare_steps, peak_step_memory, record_step
from bench.measure.data import dataset_context, open_dataset
from bench.measure.point import PointSession, apply_runtime, open_batches
from bench.plugins.dataset import build_dataset
from bench.plugins.rewiring import INVARIANT_RULES, check_rule, targets_of
from snn.approx import sparseprop_choices
from snn.train import NullTimer, no_rewiring, train_step


@dataclass(frozen=True)
class Check:
    component: str
    reference_variant: str
    passed: bool
    problems: tuple[str, ...]
    what: str
    figures: dict = field(default_factory=dict)  # what was measured, for the report (JSON-able)


def checks_for(settings: Settings) -> list[str]:
    """The components of this point's variant that have an equivalence to check."""
    variant = parse_variant(settings.variant)
    return ([c for c in ("deepr",) if variant.of("deepr") in INVARIANT_RULES]
            # an approximate variant's spikes differ by design: measured against the same variant
            # computed as built (approx), never held to the forward's equality
            + [c for c in ("forward",) if variant.of("forward") != "reference" and not variant.approximate]
            + [c for c in ("approx",) if variant.approximate]
            + [c for c in ("framing",) if variant.of("framing") != "tonic"]
            + [c for c in ("agreement",) if settings.model != SEED_MODEL])  # if its spec declares agrees_with


def check_point(settings: Settings, options: CheckOptions = DEFAULT_CHECK) -> list[Check]:
    """Every check this point's variant calls for (`checks_for`), on its own data and seed, as
    `options` (a sweep's [check] table) say. NotApplicable when the variant does not apply to
    the point's model or data."""
    run = {"deepr": lambda: _rewiring(settings, options.updates),
           "forward": lambda: _forward(settings, options.grad_rtol),
           "framing": lambda: _framing(settings, options.framed_samples),
           "approx": lambda: _approximation(settings),
           "agreement": lambda: _agreement(settings, options.grad_rtol)}
    checks = [run[component]() for component in checks_for(settings)]
    return [check for check in checks if check is not None]


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
        targets = targets_of(session.weights, settings.connectivity)
        result = check_rule(session.rewiring, session.weights, targets,
                            lambda: train_step(plain, batches, NullTimer()), updates=updates)
    finally:
        batches.close()
    return Check("deepr", "", result.passed, result.problems,
                 f"invariants before and after {updates} updates on real batches: masks shaped as the "
                 "weights, K active, dormant weights zero")


def _side_by_side(cfg, mine: PointSession, other: PointSession, data) -> tuple[StepRecord, StepRecord, dict]:
    """Two sessions built from one seed (the same weights) each take one forward and backward on
    the point's first batch: their records, and as figures how far apart they are
    (compare_steps) and each one's peak tensor memory."""
    batches, _ = open_batches(cfg, data=data)
    try:
        frames, targets = next(batches)
    finally:
        batches.close()
    frames, targets = frames.to(mine.trainer.device).float(), targets.to(mine.trainer.device)
    step, ref = record_step(mine, frames, targets), record_step(other, frames, targets)
    figures = {**asdict(compare_steps(step, ref)), "peak_memory_bytes": peak_step_memory(mine, frames, targets),
               "reference_peak_memory_bytes": peak_step_memory(other, frames, targets)}
    return step, ref, figures


def _forward(settings: Settings, grad_rtol: float) -> Check:
    variant = parse_variant(settings.variant)
    reference = settings.changed(variant=variant.with_choice("forward", "reference").name)
    cfg, fast, data = _session(settings)
    _, slow, _ = _session(reference, data)  # one seed: the same weights and the same DeepR masks
    step, ref, figures = _side_by_side(cfg, fast, slow, data)
    problems = []
    if not torch.equal(step.output, ref.output):
        differing = int((step.output != ref.output).sum())
        problems.append(f"{differing} of {step.output.numel()} output spikes differ from forward:reference's")
    for i, (a, b, error) in enumerate(zip(step.grads, ref.grads, figures["grad_max_rel"])):
        if a is None or b is None:
            problems.append(f"weight {i}: no gradient in {'the variant' if a is None else 'the reference'}")
        elif error > grad_rtol:
            problems.append(f"weight {i}: gradient differs by {error:.2g} of its largest entry "
                            f"(tolerance {grad_rtol:g})")
    return Check("forward", reference.variant, not problems, tuple(problems),
                 f"one batch from one seed: output spikes equal, weight gradients within {grad_rtol:g} relative",
                 figures)


def _approximation(settings: Settings) -> Check:
    """An approximate variant against the same variant computed as built, from one seed on one
    batch: how far apart they are (spikes per neuron layer, output, weight gradients), measured and
    never failed: such a variant is judged by accuracy (a study's time-to-accuracy)."""
    exact = settings.changed(variant=parse_variant(settings.variant).with_choice("approx", "as_built").name)
    cfg, approximate, data = _session(settings)
    _, built, _ = _session(exact, data)  # one seed: the same weights and the same DeepR masks
    _, _, figures = _side_by_side(cfg, approximate, built, data)
    figures["sparseprop_layers"] = sparseprop_choices(approximate.trainer.net)  # where its kernel won
    return Check("approx", exact.variant, True, (),
                 f"{APPROXIMATE_LABEL}: one batch from one seed against {exact.variant}, spikes per neuron "
                 "layer, output and weight gradients measured", figures)


def _agreement(settings: Settings, grad_rtol: float) -> Check | None:
    """The model against the one its spec says it ports (ModelSpec.agrees_with); None when it
    declares none."""
    cfg, port, data = _session(settings)
    claim = port.spec.agrees_with
    if claim is None:
        return None
    reference = settings.changed(**{**claim.settings, "model": claim.model,
                                    "model_options": dict(claim.options) or None})
    _, ref_session, _ = _session(reference, data)  # one seed: the same weights
    _, _, figures = _side_by_side(cfg, port, ref_session, data)
    figures.update(differences=list(claim.differences), reference_model=claim.model,
                   reference_options=dict(claim.options), grad_rtol=grad_rtol)
    problems = [f"{name}: {n} of {figures['spikes_total'][name]} spikes differ"
                for name, n in figures["spikes_differing"].items() if n]
    problems += [f"weight {i}: gradient differs by {e:.2g} of its largest entry"
                 for i, e in enumerate(figures["grad_max_rel"]) if not e <= grad_rtol]
    # A port that declares its differences is measured, not failed; one that claims none must agree.
    passed = bool(claim.differences) or not problems
    return Check("agreement", reference.variant, passed, tuple(problems),
                 f"one batch from one seed against {claim.model}: spikes per neuron layer, output and weight "
                 f"gradients; differs by design in: {'; '.join(claim.differences) or 'nothing declared'}", figures)


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
