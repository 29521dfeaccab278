"""A tiny study end to end on the tiny synthetic set: file checks, runs, resume after kill -9,
and the report with its verdicts and time-to-accuracy table."""

import json
import os
import signal
import subprocess
from collections import Counter

import pytest

from bench.cli import main
from bench.config.sweepfile import SweepConfigError
from bench.results.rows import StudyRunRow
from bench.results.store import ResultStore
from bench.study.report import render_study_report
from bench.study.runner import run_study
from bench.study.spec import check_study, stored_record
from tests.bench.processes import start_and_wait_for_first_rows

SETTINGS = {"num_steps": 8, "batch_size": 8, "threads": 1, "layer_type": "linear",
            "variant": "deepr:exact", "lr_rule": "fixed"}
STUDY = {"seeds": [0, 1], "iterations": 6, "eval_every": 3, "target_accuracy": 0.2}


def _document(root, **study):
    return {"name": "tiny", "settings": {**SETTINGS, "data_root": str(root)},
            "grid": {"lr": [0.005, 0.05], "connectivity": [0.2]},
            "points": [{"variant": "deepr:none", "lr": 0.005}],
            "study": {**STUDY, **study}}


def test_every_point_runs_once_per_seed(tiny_root):
    study = check_study(_document(tiny_root))
    assert len(study.plan.points) == (2 + 1) * 2
    assert Counter(p.settings.seed for p in study.plan.points) == {0: 3, 1: 3}


def test_a_study_file_reports_every_problem_at_once(tiny_root):
    document = _document(tiny_root, iterations=0, eval_every="often", colour="red")
    document["grid"]["seed"] = [0, 1]
    with pytest.raises(SweepConfigError) as caught:
        check_study(document)
    message = str(caught.value)
    assert "4 problem(s)" in message
    assert "[study].iterations must be 1 or more, got 0" in message
    assert "[study].eval_every" in message and "unknown key 'colour'" in message
    assert "seed is set by [study].seeds" in message


# What every row kind's environment carries, from the one function that records it.
MACHINE_FIELDS_AND_DATA = {"host", "cpu_model", "torch", "threads", "numba_threads", "numba_jit", "data_root",
                           "synthetic_data", "data_fingerprint", "git_commit"}


def test_a_tiny_study_records_curves_and_renders_its_verdicts(tiny_root, tmp_path):
    study = check_study(_document(tiny_root))
    summary = run_study(study, tmp_path)
    assert (summary.trained, summary.failed) == (6, 0)
    runs = [r for r in ResultStore(tmp_path).rows() if isinstance(r, StudyRunRow)]
    for run in runs:
        assert len(run.losses) == run.iterations == 6 and run.stopped_by == "iterations"
        assert [e[0] for e in run.evals] == [0, 3, 6]  # at 0, every 3, at the end
        assert all(0 <= e[2] <= 1 for e in run.evals) and run.evals[-1][1] == pytest.approx(run.train_s)
        assert len(run.active_connections) == 3
        if run.settings.variant == "deepr:exact":
            assert len(run.deaths_per_update) == 6
            assert run.active_connections[-1] < run.total_connections
        assert run.env["synthetic_data"] is True
        assert MACHINE_FIELDS_AND_DATA <= set(run.env)  # the timing groups' environment, the same fields
    page = render_study_report(tmp_path, tmp_path / "report", stored_record(tmp_path)).read_text()
    assert "SYNTHETIC data" in page
    for claim in "abcd":
        assert f"({claim})" in page
    assert "time-to-accuracy" in page and (tmp_path / "report" / "study_loss_curves.png").stat().st_size > 0


def test_a_run_stops_at_its_wall_clock_budget(tiny_root, tmp_path):
    study = check_study({**_document(tiny_root, iterations=1000, budget_s=0.5, seeds=[0]),
                         "grid": {"lr": [0.005], "connectivity": [0.2]}, "points": []})
    run_study(study, tmp_path)
    (run,) = [r for r in ResultStore(tmp_path).rows() if isinstance(r, StudyRunRow)]
    assert run.stopped_by == "budget" and run.iterations < 1000 and run.train_s >= 0.5
    assert run.evals[-1][0] == run.iterations  # evaluated where it stopped


def test_kill_9_mid_study_then_a_rerun_stores_every_run_once(tiny_root, tmp_path):
    document = _document(tiny_root, iterations=30, eval_every=10)
    study_file, out = tmp_path / "study.toml", tmp_path / "out"
    lines = [f'name = "{document["name"]}"']
    for table in ("settings", "grid", "study"):
        lines += [f"[{table}]"] + [f"{k} = {json.dumps(v)}" for k, v in document[table].items()]
    for point in document["points"]:
        lines += ["[[points]]"] + [f"{k} = {json.dumps(v)}" for k, v in point.items()]
    study_file.write_text("\n".join(lines) + "\n")
    process = start_and_wait_for_first_rows(["study", str(study_file), "--out", str(out)], out,
                                            start_new_session=True, stdout=subprocess.DEVNULL,
                                            stderr=subprocess.DEVNULL)
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    before = {r.point_id for r in ResultStore(out).rows() if isinstance(r, StudyRunRow)}
    assert 0 < len(before) < 6, "the kill should land after the first run and before the last"
    summary = run_study(check_study(document, source=str(study_file)), out)
    assert summary.already_done == len(before) and summary.trained == 6 - len(before)
    stored = Counter(r.point_id for r in ResultStore(out).rows() if isinstance(r, StudyRunRow))
    assert len(stored) == 6 and set(stored.values()) == {1}
    assert main(["report", str(out)]) == 0  # a study's results render as a study, from its file copy
    assert "Verdicts on the user" in (out / "report" / "study.html").read_text()


def _write_study(path, root, grid_lrs, iterations=4):
    lrs = ", ".join(map(str, grid_lrs))
    path.write_text('name = "tiny"\n[settings]\n' + "".join(
        f"{k} = {json.dumps(v)}\n" for k, v in {**SETTINGS, "data_root": str(root)}.items())
        + f"[grid]\nlr = [{lrs}]\nconnectivity = [0.2]\n"
        f"[study]\nseeds = [0]\niterations = {iterations}\neval_every = 2\ntarget_accuracy = 0.2\n")


def test_a_study_judges_only_the_runs_its_current_file_asks_for(tiny_root, tmp_path, capsys):
    study_file, out = tmp_path / "study.toml", tmp_path / "out"
    _write_study(study_file, tiny_root, [0.005, 0.05])
    assert main(["study", str(study_file), "--out", str(out)]) == 0
    _write_study(study_file, tiny_root, [0.005])  # one lr removed from the grid
    assert main(["study", str(study_file), "--out", str(out)]) == 0
    assert "0 runs to train" in capsys.readouterr().err
    page = (out / "report" / "study.html").read_text()
    assert "1 runs trained" in page and "1 stored run(s) left out" in page
    assert main(["report", str(out)]) == 0  # the report command judges the same runs
    assert "1 stored run(s) left out" in (out / "report" / "study.html").read_text()


def test_runs_trained_under_other_iterations_are_trained_again_not_reused(tiny_root, tmp_path, capsys):
    study_file, out = tmp_path / "study.toml", tmp_path / "out"
    _write_study(study_file, tiny_root, [0.005], iterations=4)
    assert main(["study", str(study_file), "--out", str(out)]) == 0
    assert main(["study", str(study_file), "--out", str(out), "--iterations", "6"]) == 0
    assert "1 runs to train" in capsys.readouterr().err.split("study 'tiny'")[-1]
    runs = [r for r in ResultStore(out).rows() if isinstance(r, StudyRunRow)]
    assert sorted(r.iterations for r in runs) == [4, 6] and len({r.point_id for r in runs}) == 2
    page = (out / "report" / "study.html").read_text()
    assert "1 runs trained" in page and "1 stored run(s) left out" in page
    assert json.loads((out / "study.json").read_text())["options"]["iterations"] == 6


def test_a_study_of_an_approximate_variant_judges_it_by_accuracy_and_leaves_the_claims_out(tiny_root, tmp_path):
    import torch

    from snn.approx import bf16_unavailable
    if (reason := bf16_unavailable(torch.device("cpu"))) is not None:
        pytest.skip(reason)
    document = {"name": "approx", "settings": {**SETTINGS, "data_root": str(tiny_root), "connectivity": 0.2,
                                               "lr": 0.005},
                "grid": {"variant": ["deepr:exact+forward:fused", "deepr:exact+forward:fused+approx:bf16"]},
                "study": {**STUDY, "iterations": 3, "claims": False}}
    assert run_study(check_study(document), tmp_path).trained == 4
    page = render_study_report(tmp_path, tmp_path / "report", stored_record(tmp_path)).read_text()
    assert "verdicts-section" not in page and "(a)" not in page
    assert ("linear, c=0.2, lr=0.005: deepr:exact+forward:fused+approx:bf16 (approximate: judged by accuracy, not equality) against "
            "deepr:exact+forward:fused at iteration 3") in page
    assert "Configurations with approx:" in page


def test_without_its_record_the_report_never_pools_runs_of_other_options(tiny_root, tmp_path, capsys):
    study_file, out = tmp_path / "study.toml", tmp_path / "out"
    _write_study(study_file, tiny_root, [0.005], iterations=4)
    assert main(["study", str(study_file), "--out", str(out)]) == 0
    assert main(["study", str(study_file), "--out", str(out), "--iterations", "6"]) == 0
    (out / "study.json").unlink()  # the file copy says iterations = 4: its runs are judged alone
    assert main(["report", str(out)]) == 0
    page = (out / "report" / "study.html").read_text()
    assert "1 runs trained" in page and "1 stored run(s) left out: they were trained under other [study] options" in page


def test_a_damaged_study_record_is_one_line_naming_the_fix(tiny_root, tmp_path, capsys):
    study_file, out = tmp_path / "study.toml", tmp_path / "out"
    _write_study(study_file, tiny_root, [0.005], iterations=2)
    assert main(["study", str(study_file), "--out", str(out)]) == 0
    record = out / "study.json"
    record.write_text(record.read_text()[:40])  # cut short, as by a full disk
    capsys.readouterr()
    assert main(["report", str(out)]) == 2
    err = capsys.readouterr().err
    assert "study.json is damaged (JSONDecodeError" in err and "delete it" in err and "Traceback" not in err


def test_claim_a_cannot_tell_from_runs_shorter_than_few_batches(tiny_root, tmp_path):
    study_file, out = tmp_path / "study.toml", tmp_path / "out"
    study_file.write_text('name = "short"\n[settings]\n' + "".join(
        f"{k} = {json.dumps(v)}\n" for k, v in {**SETTINGS, "data_root": str(tiny_root)}.items())
        + "[grid]\nlr = [0.001, 0.01, 0.1]\nconnectivity = [0.2]\n"
        + "".join(f'[[points]]\nvariant = "deepr:none"\nlr = {lr}\n' for lr in (0.001, 0.01, 0.1))
        + "[study]\nseeds = [0, 1]\niterations = 2\neval_every = 1\nfew_batches = 100\n")
    assert main(["study", str(study_file), "--out", str(out)]) == 0
    page = (out / "report" / "study.html").read_text()
    assert "ended at iteration 2, before few_batches = 100" in page
