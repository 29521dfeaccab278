import pandas as pd
import pytest

from bench.report import findings
from bench.report.load import NoResultsError, load_results
from bench.report.render import render_report

SECTIONS = ("findings-section", "environment-section", "steps-section", "workers-section",
            "speedups-section", "rewiring-section", "problems-section", "profiles-section",
            "baseline-section")


def test_the_report_has_every_section_and_its_files(report):
    html = report.read_text()
    for section in SECTIONS:
        assert f'id="{section}"' in html, section
    for image in ("stages.png", "workers.png", "rewiring.png", "rewiring_traffic.png", "baseline.png"):
        assert (report.parent / image).stat().st_size > 10_000 and f'src="{image}"' in html
    assert "http://" not in html and "https://" not in html  # opens offline


def test_the_error_row_is_listed_with_its_message(report):
    html = report.read_text()
    assert "fewer than one batch of 500" in html


def test_the_tidy_csv_holds_every_timed_stage_with_its_environment(report):
    frame = pd.read_csv(report.parent / "report.csv")
    assert {"stage", "median_s", "config", "env.cpu_model", "env.git_commit"} <= set(frame.columns)
    assert "samples_s" not in frame and len(frame["point_id"].unique()) == 2 * 6 + 2  # + the user's pipeline and the multistep one


def test_the_baseline_matches_configurations_timed_in_both_runs(report):
    html = report.read_text()
    assert "configurations matched" in html and 'id="baseline"' in html


def test_a_directory_without_results_is_a_clear_error(tmp_path):
    with pytest.raises(NoResultsError, match="run `snn-bench sweep FILE --out"):
        render_report(tmp_path, tmp_path / "out")


def test_loaded_results_keep_one_environment_per_machine(report):
    results = load_results(report.parent.parent / "current")
    assert len(results.environments) == 1 and len(results.profiles) == 2  # 0 and 1 workers


def test_the_rewiring_table_carries_each_points_traffic(report):
    table = findings.rewiring_table(load_results(report.parent.parent / "current").stages)
    assert (table["deaths_per_update"] >= 0).all() and table["deaths_per_update"].notna().all()
    exact = table[table["variant"] == "deepr:exact"]
    assert (exact["deaths_per_update"] == exact["revivals_per_update"]).all()  # exactly K kept
