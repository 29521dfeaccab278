"""The rewiring-rule contract: a user's rule timed in the rewiring stage as DeepR is.

A rule is made by a factory, `factory(context: RewiringContext) -> rule`, named by the
`rewiring_rule` setting and run by the variant `deepr:custom`. The rule keeps two methods:

    rule.step()            the rewiring stage: called after every optimiser step, timed
    rule.active_masks()    one bool tensor per parameter, its shape, True where a connection is
                           active; read between steps, never timed (traffic, connection counts,
                           the invariant check)

The context gives it what exact DeepR gets: the parameters it may rewire (every Linear/Conv
weight), the optimiser, the connectivity, the learning rate, its options table, and random
streams from the point's seed. `context.initial_masks()` draws exact DeepR's initial active
sets from the same stream, so a custom rule timed beside `deepr:exact` starts from the same
network. Built-in DeepR keeps the same two methods, so one `check_rule` judges every rule.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import torch

from bench.plugins.reference import NotApplicable, PluginError, load_factory
from snn.deepr import refuse_empty_layers, rescale_initial_weights, select
from snn.seeds import stream_seed

SETTING = "rewiring_rule"
# The notebook's DeepR and exact DeepR, built through the same factory contract as a user's rule.
BUILTIN_RULES = {"notebook": "snn.plugin:notebook_deepr", "exact": "snn.plugin:exact_deepr"}
# The deepr choices held to the invariants (K active per parameter, dormant weights zero) by
# `snn-bench check` and at the end of every timed run; the notebook's DeepR promises no exact K.
INVARIANT_RULES = ("exact", "custom")


@dataclass(frozen=True)
class RewiringContext:
    """What a rule's factory is given (read-only)."""

    parameters: tuple[torch.nn.Parameter, ...]  # what the rule may rewire, in the network's order
    optimiser: torch.optim.Optimizer
    connectivity: float  # the fraction of each parameter's entries to keep active
    lr: float  # the point's learning rate (after its lr_rule)
    seed: int
    options: Mapping[str, object] = field(default_factory=dict)  # the rewiring_options table
    # the point's DeepR settings (snn.config.DeepRConfig: l1, temperature, budget, ...), for the
    # built-in rules and any rule that reads them
    deepr: object | None = None

    def targets(self) -> list[int]:
        """K = round(c·n) per parameter: how many entries stay active (exact DeepR's budget)."""
        return targets_of(self.parameters, self.connectivity)

    def generator(self, stream: str = "rewiring_rule") -> torch.Generator:
        """A generator of one named stream of the point's seed (snn.seeds): "rewiring_rule" for
        the rule's own draws; "deepr_mask" draws exact DeepR's initial masks."""
        device = self.parameters[0].device
        return torch.Generator(device=device).manual_seed(stream_seed(self.seed, stream))

    def initial_masks(self) -> list[torch.Tensor]:
        """Exact DeepR's initial active sets (same stream, same order), shaped as the parameters."""
        generator = self.generator("deepr_mask")
        return [select.initial_mask(p.numel(), k, generator, p.device).view_as(p)
                for p, k in zip(self.parameters, self.targets())]


def build_rule(reference: str, context: RewiringContext):
    """The rule a reference's factory makes for `context`; PluginError when the factory does not
    take a context or its rule lacks `step()` or `active_masks()`."""
    factory, _ = load_factory(reference, SETTING, "RewiringContext")
    rule = factory(context)
    missing = [name for name in ("step", "active_masks") if not callable(getattr(rule, name, None))]
    if missing:
        raise PluginError(f"{SETTING} {reference}: the rule it made ({type(rule).__name__}) has no "
                          f"{' or '.join(m + '()' for m in missing)}; a rule needs step() (the rewiring "
                          "stage) and active_masks() (one bool tensor per parameter)")
    problem = mask_problem(rule.active_masks(), context.parameters)
    if problem:
        raise PluginError(f"{SETTING} {reference}: {problem}")
    return rule


def build_point_rule(reference: str, options: Mapping[str, object], layers: list[torch.nn.Module],
                     cfg, optimiser: torch.optim.Optimizer):
    """deepr:custom at one point, built as snn.deepr.build_rewiring builds DeepR: the same
    refusal of a layer left empty, then the rule (which masks its parameters), then the same
    initial rescaling (`sparse_init`), so every variant starts from the same network."""
    refuse_empty_layers(layers, cfg)
    context = RewiringContext(parameters=tuple(layer.weight for layer in layers), optimiser=optimiser,
                              connectivity=float(cfg.connectivity), lr=cfg.lr, seed=cfg.seed,
                              options=dict(options), deepr=cfg)
    rule = build_rule(reference, context)
    if cfg.sparse_init == "rescaled":
        rescale_initial_weights(layers, cfg)
    return rule


@dataclass(eq=False)
class Rewired:
    """One rewirable parameter as snn.deepr reads a layer: its `weight` (and a name for messages)."""

    name: str
    weight: torch.nn.Parameter


def build_point_rewiring(cfg, rewired: list[Rewired], optimiser: torch.optim.Optimizer):
    """The point's rewiring (cfg: a bench PointConfig) over the model's rewirable parameters:
    None when dense, else the rule its factory makes, DeepR (notebook or exact: BUILTIN_RULES)
    and the user's (deepr:custom) alike. NotApplicable
    when the model gives nothing to rewire, or parameters of several dtypes or devices."""
    variant = cfg.deepr.variant
    if variant == "none":
        return None
    if not rewired:
        raise NotApplicable(f"deepr:{variant} does not apply to model {cfg.model}: it has no rewirable "
                            "parameters (no Linear/Conv weight, and its spec names none in rewirable=)")
    kinds = {(str(r.weight.dtype), str(r.weight.device)) for r in rewired}
    if len(kinds) > 1:
        raise NotApplicable(f"deepr:{variant} does not apply to model {cfg.model}: its rewirable parameters "
                            f"mix dtypes or devices ({', '.join(sorted(map(' on '.join, kinds)))}), and one "
                            "rewiring buffer holds one dtype on one device")
    if variant == "notebook" and rewired[0].weight.dtype != torch.float32:
        # the user's code, kept as written: its float32 masks promote a bfloat16 weight to float32
        # and cannot be index-put into a float64 one, so it would time another network or fail
        raise NotApplicable(f"deepr:notebook does not apply to model {cfg.model}: its rewirable parameters are "
                            f"{str(rewired[0].weight.dtype).removeprefix('torch.')}, and the notebook's DeepR, kept as "
                            "the user wrote it, works in float32 only; use deepr:exact, which keeps the weights' dtype")
    reference = cfg.rewiring_rule if variant == "custom" else BUILTIN_RULES[variant]
    return build_point_rule(reference, dict(cfg.rewiring_options), rewired, cfg.deepr, optimiser)


def mask_problem(masks, parameters) -> str | None:
    """What is wrong with a rule's masks as a list of bool tensors shaped as its parameters."""
    masks = list(masks)
    if len(masks) != len(parameters):
        return f"active_masks() gave {len(masks)} mask(s) for {len(parameters)} parameter(s)"
    for i, (mask, p) in enumerate(zip(masks, parameters)):
        if not isinstance(mask, torch.Tensor) or mask.dtype != torch.bool:
            return f"active_masks()[{i}] is a {getattr(mask, 'dtype', type(mask).__name__)}, not a bool tensor"
        if mask.shape != p.shape:
            return f"active_masks()[{i}] has shape {tuple(mask.shape)}, not its parameter's {tuple(p.shape)}"
    return None


@dataclass(frozen=True)
class RuleCheck:
    """What `check_rule` found: one problem per failed invariant (empty: the rule keeps them)."""

    updates: int
    problems: tuple[str, ...]

    @property
    def passed(self) -> bool:
        return not self.problems


def targets_of(parameters, connectivity: float | Sequence[float]) -> list[int]:
    """K = round(c·n) per parameter, for one connectivity or one per parameter
    (RewiringContext.targets, and for parameters outside a context)."""
    per_parameter = [connectivity] * len(parameters) if isinstance(connectivity, (int, float)) else connectivity
    return [round(c * p.numel()) for c, p in zip(per_parameter, parameters, strict=True)]


@torch.no_grad()
def invariant_problems(rule, parameters, targets, when: str) -> list[str]:
    """Each invariant `rule` breaks now, as "<when>: <problem>" (empty: it keeps them all)."""
    masks = list(rule.active_masks())
    if (problem := mask_problem(masks, parameters)) is not None:
        return [f"{when}: {problem}"]
    problems = []
    for i, (mask, p, k) in enumerate(zip(masks, parameters, targets)):
        active = int(mask.sum())
        if active != k:
            problems.append(f"{when}: parameter {i} has {active} active connections, not its target {k}")
        if bool((p[~mask] != 0).any()):
            problems.append(f"{when}: parameter {i} has nonzero dormant weights")
    return problems


def check_rule(rule, parameters, targets: list[int], train_step: Callable[[], None],
               updates: int = 3) -> RuleCheck:
    """Run `updates` training steps (`train_step`: forward, backward and optimiser, no rewiring),
    each followed by `rule.step()`, and check the invariants before the first and after every
    update: the masks are bool tensors shaped as the parameters, exactly `targets[i]` entries
    are active, and every dormant weight is zero. Importable for users' own tests."""
    problems = invariant_problems(rule, parameters, targets, "before the first update")
    for update in range(1, updates + 1):
        train_step()
        rule.step()
        problems += invariant_problems(rule, parameters, targets, f"after update {update}")
    return RuleCheck(updates=updates, problems=tuple(problems))
