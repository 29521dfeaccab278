"""Shared fixtures: one small synthetic DVS Gesture written once per test session."""

from __future__ import annotations

import multiprocessing
import os

import pytest

from bench.measure.environment import benchmark_machine_info
from snn.data.synth import SynthConfig, write_synthetic_dvsgesture
from snn.threads import set_threads

# Small but complete: 110 files per split (tonic's minimum is 100), ~3000 events per sample.
TINY = SynthConfig(train_per_class=10, test_per_class=10, mean_events=3000, seed=0)


@pytest.fixture(scope="session")
def tiny_root(tmp_path_factory):
    """A read-only-by-convention data root; tests that damage files copy it first."""
    root = tmp_path_factory.mktemp("dvs")
    write_synthetic_dvsgesture(root, TINY)
    return root


@pytest.fixture(autouse=True)
def _no_data_root_from_the_environment(monkeypatch):
    # A developer's own SNN_BENCH_DATA must not leak into tests that check its absence.
    monkeypatch.delenv("SNN_BENCH_DATA", raising=False)


# -- pytest-benchmark (hooks live here, the one conftest loaded for every run) ----------------
def pytest_benchmark_update_machine_info(config, machine_info):
    # Every saved run and every comparison names the CPU, torch/CUDA, GPU and threads.
    from tests.benchmarks.settings import THREADS

    set_threads(THREADS)  # torch's and numba's, after numba starts (snn.threads)
    machine_info["snn_bench"] = benchmark_machine_info()


# `make test` runs the suite as macOS and Windows start processes: SNN_BENCH_START_METHOD=spawn
# makes spawn this process's start method, so DataLoader workers and group runs are spawned
# (fresh interpreters that import everything they unpickle), not forked.
START_METHOD_ENV = "SNN_BENCH_START_METHOD"


def pytest_configure(config):
    """Asking to compare is asking to time: `pytest --benchmark-compare` enables the benchmarks
    that the project's addopts disable for `make test`. (pytest-benchmark reads the option in its
    own pytest_configure, which runs last.) The start method of START_METHOD_ENV, where set."""
    if method := os.environ.get(START_METHOD_ENV):
        multiprocessing.set_start_method(method, force=True)
    if config.getoption("benchmark_compare", None):
        config.option.benchmark_enable = True


def pytest_sessionstart(session):
    """`--benchmark-compare` with nothing saved: a clear hint instead of a warning and no comparison."""
    benchmarks = getattr(session.config, "_benchmarksession", None)
    if benchmarks is None or not benchmarks.compare:
        return
    pattern = () if benchmarks.compare is True else (benchmarks.compare,)
    if not list(benchmarks.storage.load(*pattern)):
        pytest.exit(
            f"no saved pytest-benchmark run to compare with in {benchmarks.storage.path}"
            + (f" matching {benchmarks.compare!r}" if pattern else "")
            + ": save one first with `make bench-save` (say on main), then run "
            "`make bench-compare` on your branch", returncode=2)


@pytest.hookimpl(wrapper=True)
def pytest_terminal_summary(terminalreporter):
    """A regression beyond --benchmark-compare-fail ends the run with exit status 1 and a line
    saying so, instead of pytest-benchmark's PerformanceRegression traceback."""
    from pytest_benchmark.session import PerformanceRegression

    try:
        return (yield)
    except PerformanceRegression:
        terminalreporter.write_line(
            "benchmark comparison failed: the medians listed under 'Performance has regressed' "
            "are slower than the saved run by more than the --benchmark-compare-fail threshold",
            red=True, bold=True)
        terminalreporter._session.exitstatus = pytest.ExitCode.TESTS_FAILED
        return None
