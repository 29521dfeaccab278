"""Hostile-user cases through the command line: each ends in a correct result or a one-line
error, and nothing stored is lost, duplicated or partial."""

import json
from pathlib import Path

import pytest

from bench.cli import main
from bench.measure.stages import ROW_STAGES
from bench.results.rows import ErrorRow, SkippedRow
from bench.results.store import ResultStore
from tests.bench.make_rows import error_row, settings, skipped_row, timed_rows

TINY = "num_steps = 8\nbatch_size = 8\nthreads = 1\nwarmup_steps = 1\nmeasured_steps = 2\nruns = 1\n"


def _sweep(tmp_path, data_root, grid='seed = [0, 1]'):
    path = tmp_path / "s.toml"
    path.write_text(f'name = "rel"\n[settings]\ndata_root = "{data_root}"\n{TINY}[grid]\n{grid}\n')
    return path


def test_the_same_data_spelled_another_way_resumes_instead_of_retiming(tiny_root, tmp_path, capsys, monkeypatch):
    out = tmp_path / "out"
    assert main(["sweep", str(_sweep(tmp_path, tiny_root)), "--out", str(out)]) == 0
    monkeypatch.chdir(tiny_root.parent)
    respelled = f"./{tiny_root.name}/"
    assert main(["sweep", str(_sweep(tmp_path, respelled)), "--out", str(out)]) == 0
    assert "0 point(s) timed, 2 already done" in capsys.readouterr().out


def test_a_garbage_line_in_the_store_reruns_exactly_the_point_it_damaged(tiny_root, tmp_path, capsys):
    out = tmp_path / "out"
    sweep = _sweep(tmp_path, tiny_root)
    assert main(["sweep", str(sweep), "--out", str(out)]) == 0
    lines = (out / "results.jsonl").read_text().splitlines(keepends=True)
    damaged = json.loads(lines[0])["point_id"]
    lines[0] = "garbage\n"
    (out / "results.jsonl").write_text("".join(lines))
    with pytest.warns(UserWarning, match="unreadable line.s. 1;"):
        assert main(["sweep", str(sweep), "--out", str(out)]) == 0
    assert "1 point(s) timed, 1 already done" in capsys.readouterr().out
    with pytest.warns(UserWarning):
        current = ResultStore(out).current_rows()
    stages = [(r.point_id, r.stage) for r in current if r.KIND == "stage"]
    assert len(stages) == len(set(stages)) == 2 * len(ROW_STAGES)  # each point whole, once
    assert damaged in {pid for pid, _ in stages}


def test_a_report_of_only_failures_is_the_page_that_lists_them(tmp_path, capsys):
    results = tmp_path / "r"
    ResultStore(results).append([error_row("a", message="CorruptEventFileError: corrupt event file x.npy"),
                                 skipped_row("b", reason="no cuda here")])
    assert main(["report", str(results)]) == 0
    page = (results / "report" / "index.html").read_text()
    assert "corrupt event file x.npy" in page and "no cuda here" in page
    assert all(isinstance(r, (ErrorRow, SkippedRow)) for r in ResultStore(results).rows())


def test_a_baseline_on_other_data_is_flagged_not_counted_as_a_regression(tmp_path, capsys):
    now, before = tmp_path / "now", tmp_path / "before"
    ResultStore(now).append(timed_rows("p", "r1", 0.73, point_settings=settings(),
                                       env={"data_fingerprint": "synthetic:300k-events"}))
    ResultStore(before).append(timed_rows("p", "r1", 0.10, point_settings=settings(),
                                          env={"data_fingerprint": "synthetic:2k-events"}))
    assert main(["report", str(now), "--baseline", str(before)]) == 0
    page = (now / "report" / "index.html").read_text()
    assert "0 regression(s)" in page and "ran on different data" in page


def test_a_full_results_disk_stops_the_sweep_before_anything_is_timed(tiny_root, tmp_path, capsys, monkeypatch):
    import shutil
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(shutil, "disk_usage", lambda path: usage(10**9, 10**9 - 2**20, 2**20))
    out = tmp_path / "out"
    assert main(["sweep", str(_sweep(tmp_path, tiny_root)), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "1.0 MiB free" in err and "pass another --out" in err and "Traceback" not in err
    assert not (out / "results.jsonl").exists()


def test_an_unwritable_results_folder_stops_the_sweep_before_anything_is_timed(tiny_root, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    assert main(["sweep", str(_sweep(tmp_path, tiny_root)), "--out", str(blocker / "out")]) == 2
    err = capsys.readouterr().err
    assert "pass a writable --out" in err and "Traceback" not in err


def test_synthetic_data_killed_partway_is_written_whole_by_the_next_run(tmp_path, capsys):
    leftover = tmp_path / ".DVSGesture.partial-999999999" / "ibmGestureTrain"
    leftover.mkdir(parents=True)
    args = ["data", "synth", "--data-root", str(tmp_path), "--mean-events", "100"]
    assert main(args) == 0
    assert (tmp_path / "DVSGesture" / "SYNTHETIC.json").is_file()
    assert not leftover.parent.exists()
    assert main(["data", "check", "--data-root", str(tmp_path)]) == 0


# -- the round of issue 25: studies, the frame cache, small samples, the cache's paths ----------

RUN = ["run", "--num-steps", "8", "--batch-size", "8", "--threads", "1", "--warmup-steps", "1",
       "--measured-steps", "2"]


def test_two_sweeps_of_two_steps_flag_no_regression(tiny_root, tmp_path, capsys):
    for name in ("old", "new"):
        assert main(["sweep", str(_sweep(tmp_path, tiny_root, "seed = [0]")), "--out", str(tmp_path / name)]) == 0
    assert main(["report", str(tmp_path / "new"), "--baseline", str(tmp_path / "old")]) == 0
    page = (tmp_path / "new" / "report" / "index.html").read_text()
    assert 'class="regression"' not in page and 'class="improvement"' not in page
    ratios = [r for r in ResultStore(tmp_path / "new").rows() if type(r).__name__ == "RatioRow"]
    assert all(not r.significant for r in ratios)  # 2 steps: no interval, so nothing is significant


@pytest.mark.parametrize("flags, message", [
    (["--lr", "inf"], "lr must be a finite number"),
    (["--lr", "1e300"], "lr must be at most 10"),
    (["--variant", "exact", "--connectivity", "0.1", "--temperature", "inf"], "temperature must be a finite number"),
    (["--threads", "100000"], "threads must be at most 1024"),
])
def test_non_finite_and_absurd_values_are_refused_by_the_settings_table(tiny_root, capsys, flags, message):
    assert main(RUN + ["--data-root", str(tiny_root), *flags]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_a_connectivity_that_empties_a_layer_is_refused_naming_the_layer(tiny_root, capsys):
    assert main(RUN + ["--data-root", str(tiny_root), "--layer-type", "linear", "--variant", "exact",
                       "--connectivity", "0.0001"]) == 2
    err = capsys.readouterr().err
    assert "keeps 0 of the" in err and "rewired layer" in err and "at least" in err


def test_the_kernels_threads_and_jit_state_are_recorded_as_they_ran(tiny_root, tmp_path):
    import os
    import subprocess
    import sys

    out = tmp_path / "run.json"
    env = {**os.environ, "NUMBA_NUM_THREADS": "1"}
    done = subprocess.run([sys.executable, "-m", "bench", *RUN, "--threads", "2", "--data-root", str(tiny_root),
                           "--forward", "fused", "--json", str(out)], env=env, capture_output=True, text=True,
                          timeout=300, cwd=Path(__file__).parents[2])
    assert done.returncode == 0, done.stderr
    recorded = json.loads(out.read_text())["environment"]
    assert recorded["threads"] == 2 and recorded["numba_threads"] == 1 and recorded["numba_jit"] is True


def test_a_cache_under_a_file_fails_before_timing_with_the_fix(tiny_root, tmp_path, capsys, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    monkeypatch.setenv("SNN_BENCH_CACHE", str(blocker / "cache"))
    sweep = _sweep(tmp_path, tiny_root, 'variant = ["pipeline:fastest"]\nconnectivity = [0.2]')
    assert main(["sweep", str(sweep), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert "cannot be written" in err and "SNN_BENCH_CACHE" in err and "Traceback" not in err


def test_a_results_file_that_is_a_folder_is_a_one_line_error(tiny_root, tmp_path, capsys):
    (tmp_path / "out" / "results.jsonl").mkdir(parents=True)
    sweep = _sweep(tmp_path, tiny_root)
    assert main(["sweep", str(sweep), "--out", str(tmp_path / "out")]) == 2
    assert main(["list", str(sweep), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert err.count("is not a file (a folder?)") == 2 and "Traceback" not in err


def test_profile_out_naming_a_file_fails_before_profiling(tiny_root, tmp_path, capsys):
    existing = tmp_path / "profile.txt"
    existing.write_text("keep me")
    assert main(["profile", *RUN[1:], "--data-root", str(tiny_root), "--out", str(existing)]) == 2
    assert "is a file" in capsys.readouterr().err and existing.read_text() == "keep me"


def test_a_failed_run_leaves_no_empty_json(tmp_path, capsys):
    target = tmp_path / "result.json"
    assert main(RUN + ["--data-root", str(tmp_path / "no-data"), "--json", str(target)]) == 2
    assert not target.exists()


def test_the_store_writes_strict_json_and_reads_nan_back(tmp_path):
    import math

    row = timed_rows("a", step=0.1)[0]
    row = type(row)(**{**row.__dict__, "ci_low_s": math.nan, "ci_high_s": math.nan})
    ResultStore(tmp_path).append([row])
    line = (tmp_path / "results.jsonl").read_text()
    json.loads(line, parse_constant=lambda name: pytest.fail(f"{name} in the store"))
    (back,) = ResultStore(tmp_path).rows()
    assert math.isnan(back.ci_low_s) and math.isnan(back.ci_high_s)


def test_a_sweep_and_a_study_cannot_share_one_out(tiny_root, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["sweep", str(_sweep(tmp_path, tiny_root, "seed = [0]")), "--out", str(out)]) == 0
    study = tmp_path / "study.toml"
    study.write_text(f'name = "st"\n[settings]\ndata_root = "{tiny_root}"\n{TINY}[study]\nseeds = [0]\niterations = 2\n')
    assert main(["study", str(study), "--out", str(out)]) == 2
    assert "holds a sweep's results" in capsys.readouterr().err


def test_a_study_file_without_a_study_table_is_refused_with_the_fix(tiny_root, tmp_path, capsys):
    study = tmp_path / "study.toml"
    study.write_text(f'name = "st"\n[settings]\ndata_root = "{tiny_root}"\n')
    assert main(["study", str(study), "--out", str(tmp_path / "out")]) == 2
    assert "there is no [study] table" in capsys.readouterr().err


def test_a_study_report_refuses_a_baseline(tiny_root, tmp_path, capsys):
    study = tmp_path / "study.toml"
    study.write_text(f'name = "st"\n[settings]\ndata_root = "{tiny_root}"\n{TINY}variant = "exact"\n'
                     'connectivity = 0.2\n[study]\nseeds = [0]\niterations = 2\neval_every = 1\n')
    assert main(["study", str(study), "--out", str(tmp_path / "out")]) == 0
    assert main(["report", str(tmp_path / "out"), "--baseline", str(tmp_path / "out")]) == 2
    assert "has no baseline" in capsys.readouterr().err


def test_summary_markdown_says_too_few_steps_once(tiny_root, tmp_path):
    assert main(["sweep", str(_sweep(tmp_path, tiny_root, "seed = [0]")), "--out", str(tmp_path / "out")]) == 0
    assert main(["report", str(tmp_path / "out")]) == 0
    summary = (tmp_path / "out" / "report" / "summary.md").read_text()
    assert "too few samples for a 95% CI" in summary and "95% CI too few" not in summary


def test_cache_prune_keeps_the_folders_a_sweep_uses_and_removes_the_rest(tiny_root, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SNN_BENCH_CACHE", str(tmp_path / "cache"))
    sweep = _sweep(tmp_path, tiny_root, 'variant = ["pipeline:fastest"]\nconnectivity = [0.2]')
    assert main(["sweep", str(sweep), "--out", str(tmp_path / "out")]) == 0
    frames = tmp_path / "cache" / "frames"
    used = {p.name for p in frames.iterdir() if p.is_dir()}
    assert used
    (frames / "stale-key").mkdir()
    (frames / "stale-key" / "000000.frames").write_bytes(b"old")
    assert main(["cache", "prune", str(sweep), "--dry-run"]) == 0
    assert (frames / "stale-key").exists() and "would remove" in capsys.readouterr().out
    assert main(["cache", "prune", str(sweep)]) == 0
    assert {p.name for p in frames.iterdir() if p.is_dir()} == used


def test_cache_prune_keeps_a_folder_a_running_process_reads_and_takes_study_files(tiny_root, tmp_path, capsys,
                                                                                   monkeypatch):
    import subprocess
    import sys

    monkeypatch.setenv("SNN_BENCH_CACHE", str(tmp_path / "cache"))
    frames = tmp_path / "cache" / "frames"
    (frames / "read-now").mkdir(parents=True)
    (frames / "read-now" / "000000.frames").write_bytes(b"old")
    reader = subprocess.Popen([sys.executable, "-c", "import sys, time\nfrom snn.data.frame_cache import "
                               f"register_reader\nregister_reader('{frames / 'read-now'}')\nprint('ready', flush=True)\n"
                               "time.sleep(60)"], stdout=subprocess.PIPE, text=True)
    try:
        assert reader.stdout.readline().strip() == "ready"
        study = tmp_path / "study.toml"  # a study file names its points as a sweep file does
        study.write_text(f'name = "st"\n[settings]\ndata_root = "{tiny_root}"\n{TINY}variant = "deepr:exact"\n'
                         'connectivity = 0.2\n[study]\nseeds = [0]\niterations = 2\n')
        assert main(["cache", "prune", str(study)]) == 0
        out = capsys.readouterr().out
        assert f"keeping {frames / 'read-now'}: a running process reads it" in out and (frames / "read-now").is_dir()
    finally:
        reader.kill()
        reader.wait()
    assert main(["cache", "prune", str(study)]) == 0  # its reader is gone: a dead pid's mark does not count
    assert not (frames / "read-now").exists() and "removed" in capsys.readouterr().out
