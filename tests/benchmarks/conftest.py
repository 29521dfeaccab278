"""pytest-benchmark suites. `make test` runs each once, untimed (--benchmark-disable); the
machine_info hook and the missing-baseline hint live in tests/conftest.py.

Each benchmark records its median under (group, variant) with the group's reference variant;
a timed run ends with a table of speed-ups against the reference, measured in that run.
"""

from __future__ import annotations

import pytest

# group → {"reference": name, "medians": {variant: seconds}}, filled by timed runs only.
GROUPS: dict[str, dict] = {}
# case → (notebook/exact, exact/floor) as bench.stats.Ratio, from interleaved rounds.
DEEPR_TARGETS: dict[str, tuple] = {}
# forward variant → reference/variant forward+backward as bench.stats.Ratio, interleaved rounds.
FORWARD_TARGETS: dict[str, object] = {}


@pytest.fixture
def record_median():
    def record(benchmark, variant: str, reference: str) -> None:
        if benchmark.enabled and benchmark.stats is not None:
            group = GROUPS.setdefault(benchmark.group, {"reference": reference, "medians": {}})
            group["medians"][variant] = benchmark.stats.stats.median
    return record


@pytest.fixture
def record_deepr_targets():
    def record(case: str, speedup, floor_multiple) -> None:
        DEEPR_TARGETS[case] = (speedup, floor_multiple)
    return record


@pytest.fixture
def record_forward_target():
    def record(forward: str, speedup) -> None:
        FORWARD_TARGETS[forward] = speedup
    return record


def pytest_terminal_summary(terminalreporter):
    from tests.benchmarks.test_sparse import crossover_lines

    write = terminalreporter.write_line
    _write_forward_target(write)
    for line in crossover_lines():
        write(line)
    if not GROUPS:
        return
    write("")
    write("speed-up of each variant over its group's reference (ratio of medians, this run; "
          "for the floor: how many elementwise passes the reference costs)")
    write(f"{'group':<44}{'variant':<12}{'median ms':>11}{'reference/variant':>19}")
    for name in sorted(GROUPS):
        group = GROUPS[name]
        reference = group["medians"].get(group["reference"])
        for variant, median in sorted(group["medians"].items(), key=lambda item: -item[1]):
            ratio = f"{reference / median:.2f}x" if reference else "-"
            write(f"{name:<44}{variant:<12}{median * 1e3:>11.3f}{ratio:>19}")
    _write_floor_targets(write)


# Exact DeepR's targets (issue 13), judged on paired ratios from interleaved rounds in this run.
FASTER_THAN_NOTEBOOK = 5.0  # notebook / exact at least this
FLOOR_MULTIPLE = 3.0  # exact / floor at most this


def _write_floor_targets(write) -> None:
    if not DEEPR_TARGETS:
        return
    write("")
    write(f"exact DeepR against its targets: notebook/exact >= {FASTER_THAN_NOTEBOOK:g}x, "
          f"exact/floor <= {FLOOR_MULTIPLE:g}x (median of per-round ratios, rounds interleaved, "
          "95% CI; this run)")
    write(f"{'case':<40}{'notebook/exact':>24}{'exact/floor':>24}  targets")
    missed = 0
    for case, (speedup, multiple) in sorted(DEEPR_TARGETS.items()):
        met = speedup.median >= FASTER_THAN_NOTEBOOK and multiple.median <= FLOOR_MULTIPLE
        missed += not met
        write(f"{case:<40}{_ratio(speedup):>24}{_ratio(multiple):>24}  {'met' if met else 'MISSED'}")
    write(f"{len(DEEPR_TARGETS) - missed} of {len(DEEPR_TARGETS)} cases met both targets")


# The fast forward's target (issue 14): forward+backward at least this much faster than the
# notebook loop, seed conv2d, batch 16, T = 60, 2 threads.
FORWARD_SPEEDUP = 1.5


def _write_forward_target(write) -> None:
    if not FORWARD_TARGETS:
        return
    write("")
    write(f"forward+backward against the notebook loop, target >= {FORWARD_SPEEDUP:g}x (seed conv2d, "
          "batch 16, T = 60, 2 threads; median of per-round ratios, rounds interleaved, 95% CI; this run)")
    for forward, speedup in sorted(FORWARD_TARGETS.items()):
        verdict = "met" if speedup.median >= FORWARD_SPEEDUP else "MISSED"
        write(f"{'reference/' + forward:<28}{_ratio(speedup):>24}  {verdict}")


def _ratio(r) -> str:
    return f"{r.median:.2f}x ({r.ci_low:.2f}-{r.ci_high:.2f})"
