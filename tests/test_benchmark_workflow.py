"""The `pytest --benchmark-compare` workflow end to end, on one small benchmark in a subprocess:
save a run, compare against it, and the hints when there is nothing to compare with."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[1]
ONE_BENCHMARK = ["tests/benchmarks/test_framing.py", "-k", "bincount and 10000", "-q",
                 "-p", "no:cacheprovider"]


def _pytest(*args, storage):
    command = [sys.executable, "-m", "pytest", *ONE_BENCHMARK, f"--benchmark-storage=file://{storage}", *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_comparing_with_nothing_saved_prints_a_hint(tmp_path):
    done = _pytest("--benchmark-compare", storage=tmp_path)
    assert done.returncode == 2
    assert "no saved pytest-benchmark run to compare with" in done.stdout + done.stderr
    assert "make bench-save" in done.stdout + done.stderr


def test_the_literal_compare_command_times_the_benchmarks_and_compares(tmp_path):
    # `pytest --benchmark-compare`, as the README promises: no --benchmark-enable needed
    saved = _pytest("--benchmark-autosave", "--benchmark-enable", storage=tmp_path)
    assert saved.returncode == 0, saved.stdout + saved.stderr
    compared = _pytest("--benchmark-compare", "--benchmark-compare-fail=median:1000%", storage=tmp_path)
    assert compared.returncode == 0, compared.stdout + compared.stderr
    assert "0001" in compared.stdout and "Median" in compared.stdout  # a timed comparison table


def test_a_saved_run_records_the_machine_and_is_compared_against(tmp_path):
    saved = _pytest("--benchmark-enable", "--benchmark-autosave", "--benchmark-save-data", storage=tmp_path)
    assert saved.returncode == 0, saved.stdout + saved.stderr
    (run,) = tmp_path.glob("*/0001_*.json")
    machine = json.loads(run.read_text())["machine_info"]["snn_bench"]
    assert {"cpu_model", "cores", "torch", "cuda", "gpu", "threads"} <= set(machine)
    assert machine["threads"] == 1
    compared = _pytest("--benchmark-enable", "--benchmark-compare",
                       "--benchmark-compare-fail=median:1000%", storage=tmp_path)
    assert compared.returncode == 0, compared.stdout + compared.stderr
    assert "0001" in compared.stdout  # the saved run appears as a row of the comparison


def test_a_regression_fails_with_one_line_not_a_traceback(tmp_path):
    saved = _pytest("--benchmark-enable", "--benchmark-autosave", storage=tmp_path)
    assert saved.returncode == 0, saved.stdout + saved.stderr
    (run,) = tmp_path.glob("*/0001_*.json")
    data = json.loads(run.read_text())
    for benchmark in data["benchmarks"]:  # pretend main was a thousand times faster
        for field in ("min", "max", "mean", "median", "q1", "q3"):
            benchmark["stats"][field] /= 1000
    run.write_text(json.dumps(data))
    compared = _pytest("--benchmark-enable", "--benchmark-compare",
                       "--benchmark-compare-fail=median:30%", storage=tmp_path)
    output = compared.stdout + compared.stderr
    assert compared.returncode == 1, output
    assert "benchmark comparison failed" in output and "Traceback" not in output


def test_make_bench_compare_is_judged_at_the_project_s_one_regression_threshold():
    from bench.regression import REGRESSION_PERCENT

    dry = subprocess.run(["make", "-n", "bench-compare"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert dry.returncode == 0, dry.stderr
    assert "--benchmark-compare --benchmark-json=" in dry.stdout
    assert "-m bench.report.pytest_benchmarks" in dry.stdout and f"--threshold {REGRESSION_PERCENT}" in dry.stdout


# Suites whose save and compare once disagreed on an unchanged commit: the framing (+112% on a
# 25-us call timed alone) and the loader with workers (a median flipping between a waiting batch
# and a produced one).
HELD_STILL = ["tests/benchmarks/test_framing.py", "tests/benchmarks/test_loader.py", "-k",
              "10000 or next_batch", "-q", "-p", "no:cacheprovider"]


def test_a_save_and_a_compare_of_the_same_commit_flag_nothing(tmp_path):
    """make bench-save, then make bench-compare's two commands, on two suites of this commit."""
    def timed(*args):
        command = [sys.executable, "-m", "pytest", *HELD_STILL, f"--benchmark-storage=file://{tmp_path}",
                   "--benchmark-enable", "--benchmark-group-by=group", *args]
        return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=600)

    saved = timed("--benchmark-autosave", "--benchmark-save-data")
    assert saved.returncode == 0, saved.stdout + saved.stderr
    now = tmp_path / "now.json"
    compared = timed("--benchmark-compare", f"--benchmark-json={now}")
    assert compared.returncode == 0, compared.stdout + compared.stderr
    judged = subprocess.run([sys.executable, "-m", "bench.report.pytest_benchmarks", "--current", str(now),
                             "--baseline", str(tmp_path), "--confirm"],  # as make bench-compare judges
                            cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert judged.returncode == 0, judged.stdout + judged.stderr
    assert "no regression" in judged.stdout


def test_a_regression_a_fresh_process_does_not_show_again_is_not_one(tmp_path):
    """--confirm: a benchmark flagged on one run's rounds is timed again alone in a fresh process."""
    saved = _pytest("--benchmark-enable", "--benchmark-autosave", "--benchmark-save-data", storage=tmp_path)
    assert saved.returncode == 0, saved.stdout + saved.stderr
    (run,) = tmp_path.glob("*/0001_*.json")
    slowed = json.loads(run.read_text())
    for benchmark in slowed["benchmarks"]:  # as if this process had run it twice as slow
        benchmark["stats"]["data"] = [2 * x for x in benchmark["stats"]["data"]]
        for field in ("min", "max", "mean", "median", "q1", "q3"):
            benchmark["stats"][field] *= 2
    now = tmp_path / "now.json"
    now.write_text(json.dumps(slowed))
    judge = [sys.executable, "-m", "bench.report.pytest_benchmarks", "--current", str(now), "--baseline", str(run)]
    flagged = subprocess.run(judge, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert flagged.returncode == 1 and "regression: " in flagged.stdout
    confirmed = subprocess.run([*judge, "--confirm"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert confirmed.returncode == 0, confirmed.stdout + confirmed.stderr
    assert "not confirmed: " in confirmed.stdout and "no regression" in confirmed.stdout
