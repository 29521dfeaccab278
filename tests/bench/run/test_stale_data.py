"""Data rewritten under the same data root is new data: a resume times the points again on it
and says so, instead of serving rows timed on the old data (through the CLI)."""

from bench.cli import main
from bench.results.rows import StageRow
from bench.results.store import ResultStore
from snn.data.synth import SynthConfig, write_synthetic_dvsgesture


def _sweep(tmp_path, root):
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(f"""
name = "stale"
[settings]
data_root = "{root}"
layer_type = "linear"
num_steps = 8
batch_size = 8
threads = 1
runs = 1
warmup_steps = 1
measured_steps = 2
variant = "deepr:none"
""")
    return sweep


def test_data_rewritten_under_the_same_root_is_timed_again_and_said(tmp_path, capsys):
    root = tmp_path / "data"
    write_synthetic_dvsgesture(root, SynthConfig(train_per_class=10, test_per_class=10, mean_events=3000, seed=0))
    sweep, out = _sweep(tmp_path, root), tmp_path / "out"
    assert main(["sweep", str(sweep), "--out", str(out), "--executor", "in-process"]) == 0
    assert main(["sweep", str(sweep), "--out", str(out), "--executor", "in-process"]) == 0
    assert "1 already done" in capsys.readouterr().err  # the same data: nothing to do
    write_synthetic_dvsgesture(root, SynthConfig(train_per_class=10, test_per_class=10, mean_events=3000, seed=1))
    assert main(["sweep", str(sweep), "--out", str(out), "--executor", "in-process"]) == 0
    err = capsys.readouterr().err
    assert "has changed since they were timed" in err and "0 already done" in err
    steps = [r for r in ResultStore(out).rows() if isinstance(r, StageRow) and r.stage == "step"]
    assert len(steps) == 2 and steps[0].env["data_fingerprint"] != steps[1].env["data_fingerprint"]
    current = [r for r in ResultStore(out).current_rows() if isinstance(r, StageRow) and r.stage == "step"]
    assert [r.env["data_fingerprint"] for r in current] == [steps[1].env["data_fingerprint"]]
