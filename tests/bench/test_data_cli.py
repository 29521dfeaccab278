"""`snn-bench data ...` through the real entry point."""

import numpy as np

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
