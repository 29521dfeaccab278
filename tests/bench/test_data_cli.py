"""`snn-bench data ...` through the real entry point."""

import shutil

import numpy as np
import pytest

from bench.cli import main


def test_synth_if_missing_keeps_matching_data(tmp_path, capsys):
    args = ["data", "synth", "--data-root", str(tmp_path), "--mean-events", "100", "--if-missing"]
    sample = tmp_path / "DVSGesture" / "ibmGestureTrain" / "user01_fluorescent" / "0.npy"
    assert main(args) == 0
    written = sample.stat().st_mtime_ns
    assert main(args) == 0
    assert "kept it" in capsys.readouterr().out and sample.stat().st_mtime_ns == written


def test_synth_with_impossible_counts_is_a_clear_error(tmp_path, capsys):
    assert main(["data", "synth", "--data-root", str(tmp_path), "--train-per-class", "3"]) == 2
    assert "train_per_class=3 is impossible" in capsys.readouterr().err


def test_data_check_finds_a_corrupt_file(tmp_path, capsys):
    assert main(["data", "synth", "--data-root", str(tmp_path), "--mean-events", "100"]) == 0
    victim = sorted((tmp_path / "DVSGesture" / "ibmGestureTest").glob("**/*.npy"))[5]
    np.save(victim, np.zeros((4, 2)))
    assert main(["data", "check", "--data-root", str(tmp_path)]) == 1
    out = capsys.readouterr().out
    assert f"corrupt: {victim}: its array has shape (4, 2)" in out and "1 corrupt file(s)" in out


def _events(n=50, t_ms=None, dtype=np.int32):
    """A sound (n, 4) x, y, p, t sample."""
    rng = np.random.default_rng(0)
    t = np.sort(rng.integers(0, 5000, n)) if t_ms is None else t_ms
    return np.stack([rng.integers(0, 128, n), rng.integers(0, 128, n), rng.integers(0, 2, n), t],
                    axis=1).astype(dtype)


def _bad_events(how):
    events = _events()
    if how == "nan":
        events = events.astype(np.float64)
        events[3, 3] = np.nan
    elif how == "unsorted":
        events[:, 3] = events[::-1, 3]
        events[:, 3] += np.arange(len(events))[::-1]  # strictly decreasing
    elif how == "negative":
        events[7, 0] = -1
    elif how == "beyond":
        events[7, 0] = 128
    elif how == "polarity":
        events[7, 2] = 2
    elif how == "empty":
        events = events[:0]
    return events


CASES = {"nan": "NaN or infinite", "unsorted": "timestamps are not sorted",
         "negative": "x coordinates span -1", "beyond": "..128, outside the sensor's 0..127",
         "polarity": "polarities span 0..2", "empty": "holds no events"}


@pytest.fixture
def one_bad_file(tiny_root, tmp_path, request):
    root = tmp_path / "data"
    shutil.copytree(tiny_root, root)
    victim = sorted((root / "DVSGesture" / "ibmGestureTrain").glob("**/*.npy"))[0]
    np.save(victim, _bad_events(request.param))
    return root, victim, CASES[request.param]


@pytest.mark.parametrize("one_bad_file", list(CASES), indirect=True)
def test_data_check_names_every_file_that_loads_but_holds_bad_events(one_bad_file, capsys):
    root, victim, problem = one_bad_file
    assert main(["data", "check", "--data-root", str(root)]) == 1
    out = capsys.readouterr().out
    assert f"corrupt: {victim}: " in out and problem in out and "1 corrupt file(s)" in out


RUN = ["run", "--num-steps", "8", "--batch-size", "8", "--warmup-steps", "1", "--measured-steps", "1",
       "--threads", "1"]


@pytest.mark.parametrize("one_bad_file", ["unsorted", "empty", "beyond", "nan"], indirect=True)
@pytest.mark.parametrize("workers", ["0", "1"])
def test_a_run_meeting_a_bad_file_stops_with_one_line_naming_it(one_bad_file, workers, capsys):
    root, victim, problem = one_bad_file
    # an endless shuffled stream over 110 samples: 16 steps of 8 are sure to read every file
    code = main(RUN + ["--data-root", str(root), "--num-workers", workers, "--measured-steps", "16"])
    err = capsys.readouterr().err
    assert code == 2, err
    assert err.startswith(f"snn-bench: error: corrupt event file {victim}: ") and problem in err
    assert "Traceback" not in err and err.count("\n") == 1


@pytest.mark.parametrize("one_bad_file", ["beyond"], indirect=True)
def test_bad_samples_skip_leaves_the_file_out_and_counts_it(one_bad_file, tmp_path, capsys):
    root, victim, problem = one_bad_file
    out = tmp_path / "r.json"
    assert main(RUN + ["--data-root", str(root), "--bad-samples", "skip", "--json", str(out)]) == 0
    import json

    assert json.loads(out.read_text())["environment"]["skipped_samples"] == 1
