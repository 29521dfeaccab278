"""The report over stores written row by row with the real constructors: baseline matching,
regression flags, HTML escaping, and rendering without torch."""

import subprocess
import sys
from pathlib import Path

import pytest

from bench.report import compare
from bench.report.load import load_results
from bench.report.render import render_report
from bench.results.store import ResultStore
from tests.bench.make_rows import error_row, settings, skipped_row, timed_rows

ROOT = Path(__file__).parents[3]


def _store(directory, step_median: float, env=None, **overrides):
    point = settings(**overrides)
    ResultStore(directory).append(timed_rows("p", "r1", step_median, point_settings=point, env=env))
    return directory


def test_a_slower_run_is_flagged_a_regression_against_its_baseline(tmp_path):
    now = load_results(_store(tmp_path / "now", 0.2))
    before = load_results(_store(tmp_path / "before", 0.1))
    (row,) = compare.compare(now, before, threshold=0.1).to_dict("records")
    assert row["ratio"] == 2.0 and row["flag"] == "regression"
    (row,) = compare.compare(before, now, threshold=0.1).to_dict("records")
    assert row["flag"] == "improvement"


def test_a_change_within_the_threshold_is_not_flagged(tmp_path):
    now = load_results(_store(tmp_path / "now", 0.105))
    before = load_results(_store(tmp_path / "before", 0.1))
    (row,) = compare.compare(now, before, threshold=0.1).to_dict("records")
    assert row["flag"] == ""


def test_baselines_match_on_every_setting_but_the_data_path(tmp_path):
    now = load_results(_store(tmp_path / "now", 0.2, data_root="/a"))
    same_elsewhere = load_results(_store(tmp_path / "moved", 0.2, data_root="/b"))
    other_seed = load_results(_store(tmp_path / "seed", 0.2, data_root="/a", seed=1))
    assert len(compare.compare(now, same_elsewhere)) == 1
    assert compare.compare(now, other_seed).empty


def test_a_hostile_label_or_path_is_escaped_in_the_page(tmp_path):
    hostile = "<script>alert(1)</script>"
    directory = tmp_path / "r"
    point = settings(data_root=f"/data/{hostile}")
    env = {"data_root": f"/data/{hostile}"}
    ResultStore(directory).append([
        *timed_rows("p", "r1", 0.1, point_settings=point, env=env),
        error_row("q", "r1", message=f"ValueError: {hostile}", point_settings=point)])
    page = render_report(directory, tmp_path / "out").read_text()
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_rendering_a_report_imports_neither_torch_nor_the_runner_nor_the_profilers(tmp_path):
    directory = _store(tmp_path / "r", 0.1)
    code = ("import sys\nfrom bench.cli import main\n"
            f"assert main(['report', {str(directory)!r}, '--out', {str(tmp_path / 'out')!r}]) == 0\n"
            "loaded = [m for m in ('torch', 'bench.run.sweep', 'bench.measure.group', 'bench.profiling.run') "
            "if m in sys.modules]\nassert not loaded, loaded\n")
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_a_store_of_only_errors_and_skips_renders_the_page_that_lists_them(tmp_path):
    directory = tmp_path / "r"
    ResultStore(directory).append([error_row("a", "r1", message="ValueError: the data broke"),
                                   skipped_row("b", "r1", reason="device 'cuda' is absent")])
    page = render_report(directory, tmp_path / "out").read_text()
    assert "ValueError: the data broke" in page and "device &#39;cuda&#39; is absent" in page
    assert "Nothing was timed" in page or 'id="problems-section"' in page


def test_runs_on_different_data_are_flagged_never_called_a_regression(tmp_path):
    now = load_results(_store(tmp_path / "now", 0.7, env={"data_fingerprint": "synthetic:300k"}))
    before = load_results(_store(tmp_path / "before", 0.1, env={"data_fingerprint": "synthetic:2k"}))
    (row,) = compare.compare(now, before, threshold=0.1).to_dict("records")
    assert row["ratio"] == pytest.approx(7.0) and row["flag"] == compare.DIFFERENT_DATA
    page = render_report(tmp_path / "now", tmp_path / "out", baseline_dir=tmp_path / "before").read_text()
    assert "ran on different data" in page and "0 regression(s)" in page


def test_points_that_differ_only_in_threads_get_different_labels(tmp_path):
    directory = tmp_path / "r"
    ResultStore(directory).append(timed_rows("p1", "r1", 0.1, point_settings=settings(threads=1))
                                  + timed_rows("p2", "r1", 0.1, point_settings=settings(threads=2)))
    labels = set(load_results(directory).stages["config"])
    assert labels == {"conv2d | deepr:none | 0 workers | cpu | threads=1",
                      "conv2d | deepr:none | 0 workers | cpu | threads=2"}
