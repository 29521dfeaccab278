"""A group run the machine disturbed is timed again, stored with its evidence when it stays so,
kept out of the answers, and timed again by the next resume; a quiet sweep is never disturbed."""

import json
from pathlib import Path

from bench.cli import main
from bench.results.rows import StageRow
from bench.results.store import ResultStore
from tests.bench.processes import competitor

EXAMPLE = Path(__file__).parents[3] / "examples" / "plain_lif"
SWEEP = f"""
name = "busy"
[settings]
model = "{EXAMPLE}/plugin.py:plain_lif"
dataset = "{EXAMPLE}/plugin.py:spike_patterns"
num_steps = 20
batch_size = 16
threads = 2
warmup_steps = 1
measured_steps = 40
runs = 1
disturbed_reruns = 1
connectivity = 0.2
[grid]
variant = ["pipeline:notebook", "pipeline:fastest"]
"""


def _steps(out: Path) -> list[StageRow]:
    return [r for r in ResultStore(out).rows() if isinstance(r, StageRow) and r.stage == "step"]


def test_a_busy_machine_is_rerun_then_said_and_a_quiet_resume_times_it_again(tmp_path, capsys):
    sweep = tmp_path / "busy.toml"
    sweep.write_text(SWEEP)
    out = tmp_path / "out"
    with competitor():
        assert main(["sweep", str(sweep), "--out", str(out), "--executor", "in-process"]) == 0
    err = capsys.readouterr().err
    assert "again, 1 of at most 1: the machine disturbed it: other processes used" in err
    assert "stayed disturbed after 1 rerun(s)" in err
    steps = _steps(out)
    assert len(steps) == 2 and all(r.env["disturbed"].startswith("other processes used") for r in steps)
    assert all(len(r.env["disturbed_attempts"]) == 1 for r in steps)
    assert all(r.env["interference"]["foreign_cpu_share"] > 0.1 for r in steps)

    assert main(["report", str(out)]) == 0
    summary = (out / "report" / "summary.md").read_text()
    assert "not measured precisely: the machine was busy (run 0: other processes used" in summary
    assert "faster than yours" not in summary

    # on a quiet machine, the same command times the disturbed runs again and keeps the rest
    assert main(["sweep", str(sweep), "--out", str(out), "--executor", "in-process"]) == 0
    assert "0 already done" in capsys.readouterr().err
    latest = {r.point_id: r for r in _steps(out)}  # the last row of each point
    assert len(_steps(out)) == 4 and all(r.env["disturbed"] == "" for r in latest.values())
    assert main(["report", str(out)]) == 0
    assert "the machine was busy" not in (out / "report" / "summary.md").read_text()
