"""What `snn-bench check` does: one table of options (bench.config.options) for a sweep's [check]
table and the command's flags (a flag overrides the table); torch-free."""

from __future__ import annotations

from dataclasses import dataclass

from bench.config.options import Option, number, table_values, whole

CHECK_OPTIONS: tuple[Option, ...] = (
    Option("updates", int, 3, whole(1),
           "training steps, each followed by a rewiring update, after which a rule's invariants are checked"),
    Option("grad_rtol", float, 1e-4, number(0.0, strict=True, high=1.0),
           "a forward variant's weight gradients may differ from the reference's by this fraction of "
           "the largest entry (one convolution over T·B inputs sums in another order than T over B)"),
    Option("framed_samples", int, 8, whole(1), "training samples whose frames are compared with tonic's"),
)


@dataclass(frozen=True)
class CheckOptions:
    updates: int
    grad_rtol: float
    framed_samples: int


def check_options(table: dict, where: str = "[check]") -> CheckOptions:
    """CheckOptions from CHECK_OPTIONS' keys, the defaults where not given; SettingError listing
    every problem."""
    return CheckOptions(**table_values(where, table, CHECK_OPTIONS))


DEFAULT_CHECK = check_options({})
