"""pytest-benchmark suites. `make test` runs each once, untimed (--benchmark-disable); the
machine_info hook and the missing-baseline hint live in tests/conftest.py.

Each benchmark records its median under (group, variant) with the group's reference variant;
a timed run ends with a table of speed-ups against the reference, measured in that run.
"""

from __future__ import annotations

import pytest

# group → {"reference": name, "medians": {variant: seconds}}, filled by timed runs only.
GROUPS: dict[str, dict] = {}


@pytest.fixture
def record_median():
    def record(benchmark, variant: str, reference: str) -> None:
        if benchmark.enabled and benchmark.stats is not None:
            group = GROUPS.setdefault(benchmark.group, {"reference": reference, "medians": {}})
            group["medians"][variant] = benchmark.stats.stats.median
    return record


def pytest_terminal_summary(terminalreporter):
    if not GROUPS:
        return
    write = terminalreporter.write_line
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


# Exact DeepR's targets, judged on ratios of medians measured in this run.
FASTER_THAN_NOTEBOOK = 5.0  # notebook / exact at least this
FLOOR_MULTIPLE = 3.0  # exact / floor at most this


def _write_floor_targets(write) -> None:
    rows = [(name, g["medians"]) for name, g in sorted(GROUPS.items())
            if {"notebook", "exact", "floor"} <= g["medians"].keys()]
    if not rows:
        return
    write("")
    write(f"exact DeepR against its targets: notebook/exact >= {FASTER_THAN_NOTEBOOK:g}x, "
          f"exact/floor <= {FLOOR_MULTIPLE:g}x (ratios of medians, this run)")
    write(f"{'group':<52}{'notebook/exact':>16}{'exact/floor':>13}  targets")
    missed = 0
    for name, m in rows:
        speedup, multiple = m["notebook"] / m["exact"], m["exact"] / m["floor"]
        met = speedup >= FASTER_THAN_NOTEBOOK and multiple <= FLOOR_MULTIPLE
        missed += not met
        write(f"{name:<52}{speedup:>15.1f}x{multiple:>12.2f}x  {'met' if met else 'MISSED'}")
    write(f"{len(rows) - missed} of {len(rows)} cases met both targets")
