import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.cli import main

RUN_TINY = ["run", "--num-steps", "8", "--batch-size", "8", "--warmup-steps", "1",
            "--measured-steps", "2", "--threads", "1"]


def test_console_script_help_lists_the_commands():
    script = Path(sys.executable).parent / "snn-bench"
    command = [str(script)] if script.exists() else [sys.executable, "-m", "bench"]
    out = subprocess.run(command + ["--help"], capture_output=True, text=True, check=True).stdout
    assert "data" in out and "run" in out


def test_run_prints_the_stage_table_and_writes_json(tiny_root, tmp_path, capsys):
    out_file = tmp_path / "r" / "point.json"
    assert main(RUN_TINY + ["--data-root", str(tiny_root), "--json", str(out_file)]) == 0
    printed = capsys.readouterr().out
    for stage in ("data_wait", "h2d", "forward", "loss", "backward", "optimiser", "rewiring", "step"):
        assert f"\n{stage} " in printed
    saved = json.loads(out_file.read_text())
    assert len(saved["step_samples"]) == 2 and saved["environment"]["threads"] == 1


def test_run_without_data_explains_how_to_get_it(tmp_path, capsys):
    assert main(RUN_TINY + ["--data-root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("snn-bench: error: no DVS Gesture data at") and "data synth" in err


def test_run_on_an_absent_device_is_a_one_line_error(tiny_root, capsys):
    code = main(RUN_TINY + ["--data-root", str(tiny_root), "--device", "mps"])
    err = capsys.readouterr().err
    assert code == 2 and "MPS is not available" in err and "Traceback" not in err


def test_run_with_exact_deepr_keeps_connectivity(tiny_root, tmp_path, capsys):
    args = RUN_TINY + ["--data-root", str(tiny_root), "--deepr", "exact", "--connectivity", "0.2"]
    assert main(args) == 0
    assert "deepr:exact c=0.2" in capsys.readouterr().out


def test_run_with_an_impossible_connectivity_is_a_clear_error(tiny_root, capsys):
    args = RUN_TINY + ["--data-root", str(tiny_root), "--deepr", "exact", "--connectivity", "0"]
    assert main(args) == 2
    assert "connectivity must lie in (0, 1]" in capsys.readouterr().err


def test_run_with_deepr_and_no_connectivity_is_refused_with_the_fix(tiny_root, capsys):
    assert main(RUN_TINY + ["--data-root", str(tiny_root), "--variant", "deepr:exact"]) == 2
    err = capsys.readouterr().err
    assert "deepr:exact needs a connectivity" in err and "--connectivity 0.1" in err


def test_a_harness_bug_keeps_its_traceback_rather_than_reading_as_bad_input(monkeypatch):
    import bench.config.point_config

    def broken(settings):
        raise ValueError("a bug, not the user's input")

    monkeypatch.setattr(bench.config.point_config, "point_config", broken)
    with pytest.raises(ValueError, match="a bug"):
        main(RUN_TINY)


def _sweep_file(tmp_path, root, grid='variant = ["none", "exact"]\nconnectivity = [0.2]'):
    path = tmp_path / "s.toml"
    path.write_text(f'name = "cli"\n[settings]\ndata_root = "{root}"\nnum_steps = 8\nbatch_size = 8\n'
                    f'threads = 1\nwarmup_steps = 1\nmeasured_steps = 2\nruns = 1\n[grid]\n{grid}\n')
    return path


def test_list_shows_the_planned_points_and_an_eta(tiny_root, tmp_path, capsys):
    assert main(["list", str(_sweep_file(tmp_path, tiny_root))]) == 0
    out = capsys.readouterr().out
    assert "2 points in 1 group(s)" in out and "deepr:exact" in out and "rough ETA" in out


def test_sweep_then_list_marks_the_points_done(tiny_root, tmp_path, capsys):
    sweep = _sweep_file(tmp_path, tiny_root)
    out = tmp_path / "results"
    assert main(["sweep", str(sweep), "--out", str(out)]) == 0
    assert "2 point(s) timed" in capsys.readouterr().out
    assert (out / "results.csv").exists() and (out / "sweep.toml").read_text() == sweep.read_text()
    assert main(["list", str(sweep), "--out", str(out)]) == 0
    assert capsys.readouterr().out.count(" done") == 2


def test_a_bad_sweep_file_is_a_clear_error(tiny_root, tmp_path, capsys):
    sweep = _sweep_file(tmp_path, tiny_root, grid="num_workers = [-2]\ndevice = [\"tpu\"]")
    assert main(["sweep", str(sweep), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "2 problem(s)" in err and "num_workers value must be 0 or more" in err and "Traceback" not in err
    assert not (tmp_path / "o" / "results.jsonl").exists()


def test_a_sweep_without_data_fails_before_timing_anything(tmp_path, capsys):
    sweep = _sweep_file(tmp_path, tmp_path / "nowhere")
    assert main(["sweep", str(sweep), "--out", str(tmp_path / "o")]) == 2
    assert "no DVS Gesture data" in capsys.readouterr().err


def test_run_with_the_fast_forward_and_framing_variants(tiny_root, capsys):
    args = RUN_TINY + ["--data-root", str(tiny_root), "--forward", "multistep", "--framing", "bincount"]
    assert main(args) == 0
    assert "deepr:none+forward:multistep+framing:bincount" in capsys.readouterr().out


def test_profile_writes_the_line_and_trace_outputs(tiny_root, tmp_path, capsys):
    out = tmp_path / "p"
    args = ["profile", "--data-root", str(tiny_root), "--num-steps", "8", "--batch-size", "8",
            "--threads", "1", "--warmup-steps", "1", "--deepr", "notebook", "--connectivity", "0.3",
            "--line-steps", "1", "--plain-steps", "1", "--trace-wait", "0", "--trace-warmup", "1",
            "--trace-active", "1", "--out", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "deepr:notebook c=0.3" in printed and "peak tensor memory" in printed
    assert (out / "lines.txt").exists() and (out / "trace.json.gz").exists()


def test_a_sweep_profiles_its_selected_points_once(tiny_root, tmp_path, capsys):
    sweep = _sweep_file(tmp_path, tiny_root)
    sweep.write_text(sweep.read_text() + '[profile]\nmatch = [{variant = "exact"}]\nline_steps = 1\n'
                     'plain_steps = 1\ntrace_wait = 0\ntrace_warmup = 1\ntrace_active = 1\n')
    out = tmp_path / "results"
    assert main(["sweep", str(sweep), "--out", str(out)]) == 0
    assert "profiles: 1 written, 0 failed" in capsys.readouterr().out
    (profile,) = (out / "profiles").iterdir()
    assert (profile / "profile.json").exists()
    assert main(["sweep", str(sweep), "--out", str(out)]) == 0  # resumed: nothing profiled again
    assert "profiles:" not in capsys.readouterr().out


def test_a_batch_larger_than_the_data_is_a_one_line_error(tiny_root, capsys):
    assert main(RUN_TINY + ["--data-root", str(tiny_root), "--batch-size", "500"]) == 2
    err = capsys.readouterr().err
    assert "fewer than one batch of 500" in err and "Traceback" not in err


def test_impossible_profile_steps_and_an_empty_report_are_one_line_errors(tiny_root, capsys):
    assert main(["profile", "--data-root", str(tiny_root), "--line-steps", "0"]) == 2
    assert "line_steps must be 1 or more, got 0" in capsys.readouterr().err
    assert main(["report"]) == 2
    assert "nothing to report" in capsys.readouterr().err


def test_run_json_to_an_impossible_path_fails_before_timing(tiny_root, tmp_path, capsys):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    code = main(RUN_TINY + ["--data-root", str(tiny_root), "--json", str(blocker / "r.json")])
    captured = capsys.readouterr()
    assert code == 2 and "pass a writable --json path" in captured.err
    assert "step" not in captured.out  # nothing was timed, so nothing was lost


def test_more_threads_and_workers_than_cores_is_warned_about(tiny_root, capsys, monkeypatch):
    import os

    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    assert main(RUN_TINY[:-2] + ["--threads", "2", "--num-workers", "1", "--data-root", str(tiny_root)]) == 0
    err = capsys.readouterr().err
    assert "warning: 2 torch thread(s) + 1 DataLoader worker(s) on 2 core(s)" in err


def test_a_huge_grid_is_refused_unless_confirmed(tmp_path, capsys):
    sweep = tmp_path / "huge.toml"
    sweep.write_text('[grid]\nseed = [' + ", ".join(map(str, range(200))) + ']\n'
                     'batch_size = [' + ", ".join(map(str, range(1, 101))) + ']\n')
    assert main(["list", str(sweep), "--data-root", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "20000 points (200 seed x 100 batch_size) is more than --max-points 10000" in err


def test_list_summarises_a_large_sweep(tmp_path, capsys):
    sweep = tmp_path / "big.toml"
    sweep.write_text('[settings]\nthreads = 1\n[grid]\nseed = [' + ", ".join(map(str, range(70))) + ']\n')
    assert main(["list", str(sweep), "--data-root", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "70 points" in out and "status: 70 to run" in out and out.count("\n") < 15
    assert main(["list", str(sweep), "--data-root", str(tmp_path), "--all"]) == 0
    assert capsys.readouterr().out.count("to run") >= 70


def test_a_sweep_name_that_is_a_path_is_refused(tmp_path, capsys):
    sweep = tmp_path / "s.toml"
    sweep.write_text('name = "../../outside"\n')
    assert main(["sweep", str(sweep), "--data-root", str(tmp_path)]) == 2
    assert "must be a plain folder name" in capsys.readouterr().err


HEAVY = ("torch", "snntorch", "tonic")


def _heavy_modules_after(arguments: list[str]) -> list[str]:
    """Run the CLI in a fresh interpreter and return which heavy libraries it imported."""
    code = ("import sys; from bench.cli import main; status = main(sys.argv[1:]); "
            f"print(sorted(m for m in {HEAVY!r} if m in sys.modules)); sys.exit(status)")
    done = subprocess.run([sys.executable, "-c", code, *arguments], capture_output=True, text=True,
                          cwd=Path(__file__).parents[2], timeout=120)
    assert done.returncode == 0, done.stderr
    return eval(done.stdout.strip().splitlines()[-1])


def test_list_and_report_import_neither_torch_nor_snntorch(tmp_path):
    from bench.results.store import ResultStore
    from tests.bench.make_rows import settings, timed_rows

    default = str(Path(__file__).parents[2] / "bench" / "configs" / "default.toml")
    assert _heavy_modules_after(["list", default]) == []  # cuda points included: judged without torch
    results = tmp_path / "results"
    ResultStore(results).append(timed_rows("a") + timed_rows("b", 
                                                     point_settings=settings(variant="deepr:exact", connectivity=0.1)))
    assert _heavy_modules_after(["report", str(results)]) == []
    assert (results / "report" / "index.html").is_file()


def test_profile_without_out_writes_to_the_point_s_id(tiny_root, tmp_path, capsys, monkeypatch):
    from bench.config.settings import normalise

    monkeypatch.chdir(tmp_path)
    args = ["--data-root", str(tiny_root), "--num-steps", "8", "--batch-size", "8", "--threads", "1",
            "--warmup-steps", "1"]
    assert main(["profile", *args, "--line-steps", "1", "--plain-steps", "1", "--trace-wait", "0",
                 "--trace-warmup", "1", "--trace-active", "1"]) == 0
    point_id = normalise({"data_root": str(tiny_root), "num_steps": 8, "batch_size": 8, "threads": 1,
                          "warmup_steps": 1}).id
    assert (tmp_path / "reports" / "profiles" / point_id / "profile.json").is_file()
