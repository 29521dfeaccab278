"""Hostile-user cases through the command line: each ends in a correct result or a one-line
error, and nothing stored is lost, duplicated or partial."""

import json

import pytest

from bench.cli import main
from bench.measure.stages import ROW_STAGES
from bench.results.rows import ErrorRow, SkippedRow
from bench.results.store import ResultStore
from tests.bench.make_rows import error_row, settings, skipped_row, timed_rows

TINY = "num_steps = 8\nbatch_size = 8\nthreads = 1\nwarmup_steps = 1\nmeasured_steps = 2\n"


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
