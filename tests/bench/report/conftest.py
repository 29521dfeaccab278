"""Two real sweeps on the tiny synthetic set (one with a failing point and a profile), and the
report of the first against the second: what the report tests read."""

import io

import pytest

from bench.config.plan import plan_sweep
from bench.report.render import render_report
from bench.run.executors import FreshProcessExecutor
from bench.run.sweep import run_sweep

TINY = {"num_steps": 8, "batch_size": 8, "threads": 1, "warmup_steps": 1, "measured_steps": 4,
        "runs": 2}  # two runs: the figures across runs, cheaply
GRID = {"num_workers": [0, 1], "variant": ["none", "notebook", "exact", "multistep"],
        "connectivity": [0.2, 0.05]}


@pytest.fixture(scope="session")
def report(tiny_root, tmp_path_factory):
    base = tmp_path_factory.mktemp("report")
    settings = {**TINY, "data_root": str(tiny_root)}
    current = plan_sweep({"name": "current", "settings": settings, "grid": GRID,
                          "points": [{"batch_size": 500},  # more than the data: an error row
                                     {"variant": "pipeline:notebook", "connectivity": 0.2},  # "your step"
                                     # a clearly faster step at the user's connectivity
                                     {"variant": "deepr:exact+forward:multistep", "connectivity": 0.2}],
                          "profile": {"match": [{"variant": "exact", "connectivity": 0.2}],
                                      "line_steps": 1, "plain_steps": 1, "trace_wait": 0,
                                      "trace_warmup": 1, "trace_active": 1}})
    baseline = plan_sweep({"name": "baseline", "settings": settings,
                           "grid": {**GRID, "variant": ["none", "exact"]}})
    quiet = io.StringIO()
    # each group run in a fresh process, as `snn-bench run` times it
    run_sweep(current, base / "current", executor=FreshProcessExecutor(), stream=quiet)
    run_sweep(baseline, base / "baseline", stream=quiet)
    page = render_report(base / "current", base / "out", baseline_dir=base / "baseline")
    return page
