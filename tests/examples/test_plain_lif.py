"""examples/plain_lif: a network and data set that are not the seed's, measured through the contract."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from bench.cli import main
from bench.config.plan import load_sweep
from bench.measure.stages import UNMARKED_STAGE
from bench.profiling.options import TraceSchedule
from bench.profiling.run import ProfileOptions, profile_point
from bench.results.rows import SkippedRow, StageRow, WorkloadRow
from bench.results.store import ResultStore
from snn.names import STAGES

EXAMPLE = Path(__file__).parents[2] / "examples" / "plain_lif"


def _short_sweep(folder: Path) -> Path:
    """The example's sweep file as shipped, timed for 3 steps on one thread."""
    text = (EXAMPLE / "sweep.toml").read_text().replace('"plugin.py:', f'"{EXAMPLE}/plugin.py:')
    text = text.replace("warmup_steps = 2", "warmup_steps = 1\nthreads = 1").replace("measured_steps = 10", "measured_steps = 3\nruns = 1")
    (folder / "sweep.toml").write_text(text)
    return folder / "sweep.toml"


@pytest.fixture(scope="module")
def swept(tmp_path_factory):
    folder = tmp_path_factory.mktemp("plain-lif")
    assert main(["sweep", str(_short_sweep(folder)), "--out", str(folder / "out")]) == 0
    return folder, ResultStore(folder / "out").rows()


def _stages(rows, model, variant):
    return {r.stage: r for r in rows if isinstance(r, StageRow) and r.settings.variant == variant
            and r.settings.model.endswith(model)}


def test_every_stage_is_timed_and_the_workload_counted(swept):
    _, rows = swept
    for variant in ("deepr:none", "deepr:exact"):
        stages = _stages(rows, ":plain_lif", variant)
        assert set(STAGES) <= set(stages) and all(stages[s].median_s >= 0 for s in STAGES)
    exact = _stages(rows, ":plain_lif", "deepr:exact")["step"]
    assert exact.active_connections == round(0.2 * 64 * 128) + round(0.2 * 128 * 4)
    (workload,) = [r for r in rows if isinstance(r, WorkloadRow) and r.settings.variant == "deepr:exact"
                   and r.settings.model.endswith(":plain_lif")]
    assert workload.error is None and workload.effective_acs > 0
    assert [layer["name"] for layer in workload.layers] == ["fc1", "fc2", "lif1", "lif2"]
    assert 0 < workload.activation_sparsity < 1 and workload.connection_sparsity == pytest.approx(0.8, abs=0.01)


def test_variants_that_do_not_apply_are_skipped_with_the_reason_and_not_run_again(swept):
    folder, rows = swept
    reasons = {r.settings.variant: r.reason for r in rows if isinstance(r, SkippedRow)}
    assert "it implements forward:reference" in reasons["deepr:exact+forward:fused"]
    assert "it is not event data" in reasons["deepr:none+framing:compiled"]
    assert all(r.cause == "variant" for r in rows if isinstance(r, SkippedRow))
    before = len(ResultStore(folder / "out").rows())
    assert main(["sweep", str(folder / "sweep.toml"), "--out", str(folder / "out")]) == 0
    assert len(ResultStore(folder / "out").rows()) == before  # every point, the skipped ones too, is done


def test_a_model_that_owns_its_step_records_its_marked_stages_and_the_rest(swept):
    _, rows = swept
    stages = _stages(rows, ":plain_lif_tbptt", "deepr:exact")
    assert UNMARKED_STAGE in stages and set(STAGES) <= set(stages)
    for i in range(3):  # the stages sum to the step, step by step
        parts = sum(stages[s].samples_s[i] for s in (*STAGES, UNMARKED_STAGE))
        assert parts == pytest.approx(stages["step"].samples_s[i], rel=1e-9)
    assert stages["forward"].median_s > 0 and stages["backward"].median_s > 0


def test_the_forward_function_is_in_the_profile_line_table(tmp_path):
    (point,) = [p for p in load_sweep(str(EXAMPLE / "sweep.toml")).points if p.settings.variant == "deepr:exact"
                and p.settings.model.endswith(":plain_lif")]
    options = ProfileOptions(line_steps=2, plain_steps=1, trace=TraceSchedule(wait=0, warmup=1, active=1))
    profile_point(point.settings.changed(threads=1, warmup_steps=1), tmp_path / "p", options)
    table = pd.read_csv(tmp_path / "p" / "lines.csv")
    assert "PlainLIFNet.forward" in set(table[table["area"] == "forward"]["function"])
    assert "SpikePatterns.__getitem__" in set(table[table["area"] == "data"]["function"])


def test_the_spike_file_is_what_its_generator_writes():
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_spikes", EXAMPLE / "make_spikes.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with np.load(EXAMPLE / "spikes.npz") as stored:
        for name, array in module.arrays().items():
            assert np.array_equal(stored[name], array), name


def test_pipeline_fastest_runs_the_fastest_forward_the_model_has_and_says_which(tmp_path):
    sweep = tmp_path / "fast.toml"
    sweep.write_text(f'name = "fast"\n[settings]\nmodel = "{EXAMPLE}/plugin.py:plain_lif"\n'
                     f'dataset = "{EXAMPLE}/plugin.py:spike_patterns"\nnum_steps = 20\nbatch_size = 16\n'
                     'connectivity = 0.2\nvariant = "pipeline:fastest"\nthreads = 1\nwarmup_steps = 1\n'
                     'measured_steps = 2\nruns = 1\n')
    assert main(["sweep", str(sweep), "--out", str(tmp_path / "out")]) == 0
    (step,) = [r for r in ResultStore(tmp_path / "out").rows() if isinstance(r, StageRow) and r.stage == "step"]
    assert step.env["pipeline_resolved"] == "deepr:exact"  # no fused neurons, no events to frame or cache
    assert main(["report", str(tmp_path / "out")]) == 0  # its label names what ran, not what it asked for
    summary = (tmp_path / "out" / "report" / "summary.md").read_text()
    assert "plain_lif | pipeline:fastest (ran deepr:exact) c=0.2" in summary and "forward:fused" not in summary


def test_snn_bench_check_passes_on_the_example_and_skips_what_does_not_apply(swept, capsys):
    folder, _ = swept
    assert main(["check", str(folder / "sweep.toml"), "--out", str(folder / "checks")]) == 0
    out = capsys.readouterr().out
    assert "plain_lif | deepr:exact c=0.2" in out and "deepr: passed" in out
    assert "skipped: forward:fused does not apply" in out
    assert "2 check(s) of 2 point(s) (2 skipped: a variant that does not apply), 0 failed" in out


def test_two_loader_workers_train_alike_under_fork_and_spawn(tmp_path):
    """The example with num_workers = 2, its data set a plug-in file, in a process whose start
    method is fork (Linux's default) and in one whose is spawn (macOS's and Windows'): the same
    batches reach the same network, so the stored losses are identical."""
    import subprocess
    import sys

    from tests.plain_lif import write_sweep

    sweep = write_sweep(tmp_path / "sweep.toml", "workers", num_workers=2, variant="deepr:exact", connectivity=0.2)
    losses = {}
    for method in ("fork", "spawn"):
        out = tmp_path / method
        script = (f"import multiprocessing\nmultiprocessing.set_start_method({method!r}, force=True)\n"
                  "from bench.cli import main\n"
                  f"raise SystemExit(main(['sweep', {str(sweep)!r}, '--out', {str(out)!r}, '--executor', 'in-process']))")
        done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True)
        assert done.returncode == 0, done.stderr[-2000:]
        losses[method] = [(r.loss_first, r.loss_last) for r in ResultStore(out).rows()
                          if isinstance(r, StageRow) and r.stage == "step"]
    assert losses["fork"] == losses["spawn"] and len(losses["fork"]) == 1
