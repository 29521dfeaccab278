"""pytest-benchmark suites. `make test` runs each once, untimed (--benchmark-disable)."""

from __future__ import annotations

import statistics
from collections import defaultdict

import pytest

# (group, variant) → median seconds, filled by timed runs only; summarised as ratios at the end.
MEDIANS: dict[tuple[str, str], float] = {}


@pytest.fixture
def record_median():
    def record(benchmark, group: str, variant: str) -> None:
        if benchmark.enabled and benchmark.stats is not None:
            MEDIANS[(group, variant)] = benchmark.stats.stats.median
    return record


def pytest_terminal_summary(terminalreporter):
    if not MEDIANS:
        return
    by_group = defaultdict(dict)
    for (group, variant), median in MEDIANS.items():
        by_group[group][variant] = median
    write = terminalreporter.write_line
    write("")
    write("DeepR rewiring, ratios of medians from this run (notebook/exact: speed-up; "
          "exact/floor: cost in elementwise passes)")
    write(f"{'group':<34}{'notebook ms':>12}{'exact ms':>10}{'floor ms':>10}"
          f"{'notebook/exact':>16}{'exact/floor':>13}")
    for group in sorted(by_group):
        m = by_group[group]
        nb, ex, fl = (m.get(v, float("nan")) for v in ("notebook", "exact", "floor"))
        write(f"{group:<34}{nb * 1e3:>12.3f}{ex * 1e3:>10.3f}{fl * 1e3:>10.3f}"
              f"{nb / ex:>16.1f}{ex / fl:>13.1f}")
    ratios = [m["notebook"] / m["exact"] for m in by_group.values() if {"notebook", "exact"} <= m.keys()]
    if ratios:
        write(f"median notebook/exact over groups: {statistics.median(ratios):.1f}x")
