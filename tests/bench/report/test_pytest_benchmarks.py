import json

import pytest

from bench.report.pytest_benchmarks import (
    BenchmarkRunError,
    compare_runs,
    load_run,
    machine_differences,
    resolve,
    run_table,
)
from bench.report.render import render_report


def _saved_run(path, medians: dict[str, float], data: bool = True, cpu: str = "AMD EPYC"):
    """A file in pytest-benchmark's saved-run format (the fields the report reads)."""
    benchmarks = []
    for fullname, median in medians.items():
        group, name = fullname.split("::")
        rounds = [median * f for f in (0.98, 0.99, 1.0, 1.0, 1.01, 1.02)]
        stats = {"median": median, "iqr": median * 0.02, "min": min(rounds), "rounds": len(rounds)}
        if data:
            stats["data"] = rounds
        benchmarks.append({"group": group, "name": name, "fullname": fullname, "stats": stats,
                           "extra_info": {}})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"machine_info": {"node": "vm", "cpu": {"brand_raw": cpu},
                                                 "snn_bench": {"threads": 1}},
                                "commit_info": {"id": "abcdef1234567", "dirty": False},
                                "benchmarks": benchmarks}))
    return path


MAIN = {"framing::tonic": 0.010, "framing::bincount": 0.002, "forward::reference": 0.100}
BRANCH = {"framing::tonic": 0.010, "framing::bincount": 0.001, "forward::reference": 0.130}


def test_a_run_is_tabled_against_its_groups_fastest(tmp_path):
    run = load_run(_saved_run(tmp_path / "0001_main.json", MAIN))
    table = run_table(run)
    tonic = table[table["name"] == "tonic"].iloc[0]
    assert tonic["median_ms"] == pytest.approx(10.0) and tonic["x_group_fastest"] == pytest.approx(5.0)


def test_two_runs_compare_by_benchmark_with_flags_beyond_the_threshold(tmp_path):
    main = load_run(_saved_run(tmp_path / "0001_main.json", MAIN))
    branch = load_run(_saved_run(tmp_path / "0002_branch.json", BRANCH))
    table = compare_runs(branch, main, threshold=0.10).set_index("name")
    assert table.loc["bincount", "flag"] == "improvement" and table.loc["reference", "flag"] == "regression"
    assert table.loc["tonic", "flag"] == "" and table.loc["bincount", "ratio"] == pytest.approx(0.5)
    assert table.loc["bincount", "ci_low"] <= 0.5 <= table.loc["bincount", "ci_high"]


def test_runs_saved_without_round_data_compare_by_medians_only(tmp_path):
    main = load_run(_saved_run(tmp_path / "0001_main.json", MAIN, data=False))
    branch = load_run(_saved_run(tmp_path / "0002_branch.json", BRANCH, data=False))
    table = compare_runs(branch, main, threshold=0.10)
    assert table["ci_low"].isna().all() and set(table["flag"]) == {"", "improvement", "regression"}


def test_a_directory_resolves_to_its_newest_run_and_bad_paths_say_what_to_pass(tmp_path):
    _saved_run(tmp_path / "Linux" / "0001_a.json", MAIN)
    newest = _saved_run(tmp_path / "Linux" / "0002_b.json", BRANCH)
    assert resolve(tmp_path) == newest
    with pytest.raises(BenchmarkRunError, match="does not exist: pass a saved run"):
        resolve(tmp_path / "Linux" / "missing.json")
    (tmp_path / "empty").mkdir()
    with pytest.raises(BenchmarkRunError, match="no saved pytest-benchmark run under .*make bench-save"):
        resolve(tmp_path / "empty")
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(BenchmarkRunError, match="is not a pytest-benchmark run"):
        load_run(tmp_path / "bad.json")


def test_different_machines_are_named(tmp_path):
    main = load_run(_saved_run(tmp_path / "0001_main.json", MAIN, cpu="Intel Xeon"))
    branch = load_run(_saved_run(tmp_path / "0002_branch.json", BRANCH))
    assert machine_differences(branch, main) == ["cpu: AMD EPYC now, Intel Xeon in the baseline"]


def test_the_report_can_hold_only_saved_benchmark_runs(tmp_path):
    main = _saved_run(tmp_path / "0001_main.json", MAIN)
    branch = _saved_run(tmp_path / "0002_branch.json", BRANCH)
    page = render_report(None, tmp_path / "out", benchmark_run=branch, benchmark_baseline=main)
    html = page.read_text()
    assert 'id="pytest-benchmark"' in html and 'id="pytest-benchmark-compare"' in html
    assert (tmp_path / "out" / "pytest-benchmark.png").stat().st_size > 10_000
    assert 'id="findings-section"' not in html  # no sweep results were given
    with pytest.raises(ValueError, match="nothing to report"):
        render_report(None, tmp_path / "out2")


def _noisy_run(path, medians: dict[str, list[float]]):
    """A saved run whose rounds are given, as pytest-benchmark stores them."""
    run = _saved_run(path, {name: sorted(rounds)[len(rounds) // 2] for name, rounds in medians.items()})
    saved = json.loads(run.read_text())
    for benchmark in saved["benchmarks"]:
        benchmark["stats"]["data"] = medians[benchmark["fullname"]]
        benchmark["stats"]["rounds"] = len(medians[benchmark["fullname"]])
    run.write_text(json.dumps(saved))
    return run


def test_the_compare_judge_fails_a_regression_with_one_line_each_and_passes_noise(tmp_path, capsys):
    from bench.report.pytest_benchmarks import main

    _saved_run(tmp_path / "saved" / "machine" / "0001_main.json", MAIN)
    assert main(["--current", str(_saved_run(tmp_path / "now.json", BRANCH)), "--baseline",
                 str(tmp_path / "saved"), "--threshold", "10"]) == 1
    out = capsys.readouterr().out
    (line,) = [x for x in out.splitlines() if x.startswith("regression:")]
    assert line.startswith("regression: reference (forward) took 1.30x the saved run's median")
    assert "past the 10% threshold and the two runs' own noise" in line
    # a median 60% slower whose rounds spread over the same range (a bimodal wait) is noise
    flip = {"loader::workers=2": [0.0001, 0.0001, 0.02, 0.02, 0.0001, 0.02, 0.0001]}
    flop = {"loader::workers=2": [0.02, 0.0001, 0.02, 0.0001, 0.02, 0.02, 0.0001]}
    _noisy_run(tmp_path / "saved2" / "m" / "0001_a.json", flip)
    assert main(["--current", str(_noisy_run(tmp_path / "now2.json", flop)), "--baseline",
                 str(tmp_path / "saved2")]) == 0
    assert "no regression" in capsys.readouterr().out
    assert main(["--current", str(tmp_path / "absent.json")]) == 2
    assert "does not exist" in capsys.readouterr().err
