"""A rewiring rule that breaks its invariants after the updates `snn-bench check` runs is
caught where it is timed: its point is an error naming the broken invariant, never a time at a
connectivity it no longer keeps (through the CLI)."""

from pathlib import Path

from bench.cli import main
from bench.results.rows import CheckRow, ErrorRow, StageRow
from bench.results.store import ResultStore
from tests.plain_lif import write_sweep


LATE_BREAKER = '''
import torch


class LateBreaker:
    """Keeps exact DeepR's initial sets, and from its 4th update un-zeroes the dormant weights."""

    def __init__(self, context):
        self.parameters = context.parameters
        self.masks = context.initial_masks()
        self.updates = 0
        with torch.no_grad():
            for p, mask in zip(self.parameters, self.masks):
                p.mul_(mask)

    def active_masks(self):
        return [mask.clone() for mask in self.masks]

    @torch.no_grad()
    def step(self):
        self.updates += 1
        for p, mask in zip(self.parameters, self.masks):
            if self.updates < 4:
                p.mul_(mask)
            else:
                p.add_(0.01 * (~mask))
'''


def _sweep(tmp_path: Path) -> Path:
    (tmp_path / "rules.py").write_text(LATE_BREAKER)
    sweep = write_sweep(tmp_path / "sweep.toml", "late-breaker",
                        '[references]\ndeepr = "exact"\n[grid]\nvariant = ["deepr:exact", "deepr:custom"]\n',
                        connectivity=0.5, measured_steps=4, workload_batches=1, rewiring_rule="rules.py:LateBreaker")
    return sweep


def test_a_rule_that_breaks_after_the_checked_updates_is_an_error_where_timed(tmp_path, capsys):
    sweep, out = _sweep(tmp_path), tmp_path / "out"
    assert main(["check", str(sweep), "--out", str(out)]) == 0  # its first 3 updates keep the invariants
    assert all(r.passed for r in ResultStore(out).rows() if isinstance(r, CheckRow))
    assert main(["sweep", str(sweep), "--out", str(out), "--executor", "in-process"]) == 1
    assert "RuleBroken: deepr:custom broke its invariants" in capsys.readouterr().err
    rows = ResultStore(out).rows()
    (error,) = [r for r in rows if isinstance(r, ErrorRow)]
    assert "nonzero dormant weights" in error.error and error.settings.variant == "deepr:custom"
    assert {r.settings.variant for r in rows if isinstance(r, StageRow)} == {"deepr:exact"}


WRONG_AT_FIRST = '''
import torch


class WrongAtFirst:
    """Starts with every connection active (its check fails before the first update), then keeps
    exact DeepR's sets: a rule whose check failed but whose timed run ends within its invariants."""

    def __init__(self, context):
        self.parameters = context.parameters
        self.target = context.initial_masks()
        self.masks = [torch.ones_like(m) for m in self.target]

    def active_masks(self):
        return [mask.clone() for mask in self.masks]

    @torch.no_grad()
    def step(self):
        self.masks = [m.clone() for m in self.target]
        for p, mask in zip(self.parameters, self.masks):
            p.mul_(mask)
'''


def test_a_point_whose_check_failed_is_never_the_fastest(tmp_path):
    sweep, out = _sweep(tmp_path), tmp_path / "out"
    (tmp_path / "rules.py").write_text(WRONG_AT_FIRST)
    sweep.write_text(sweep.read_text().replace("LateBreaker", "WrongAtFirst"))
    assert main(["check", str(sweep), "--out", str(out)]) == 1
    assert main(["sweep", str(sweep), "--out", str(out), "--executor", "in-process"]) == 0
    assert main(["report", str(out)]) == 0
    summary = (out / "report" / "summary.md").read_text()
    assert ("Left out: 1 point(s) failed their equivalence check, so none is ranked or divided by yours "
            "(plain_lif | deepr:custom") in summary
    assert "active connections, not its target" in summary
    assert "Fastest measured (plain_lif | deepr:exact" in summary
    page = (out / "report" / "index.html").read_text()
    assert "FAILED: before the first update" in page and "do not act on it" in page  # its ratio, marked
