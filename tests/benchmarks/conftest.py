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
