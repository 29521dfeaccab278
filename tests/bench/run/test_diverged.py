"""A model whose loss goes NaN is an error naming the step and the fix, never a timed and
ranked point (through the CLI)."""

from bench.cli import main
from bench.results.rows import ErrorRow, StageRow
from bench.results.store import ResultStore
from tests.plain_lif import IMPORT_EXAMPLE, MODEL, write_sweep

NAN_MODEL = IMPORT_EXAMPLE + '''
import torch


class Poisoned(torch.nn.Module):
    def __init__(self, inner):
        super().__init__()
        self.inner = inner

    def forward(self, x):
        return self.inner(x) * float("nan")


def nan_model(context):
    spec = plugin.plain_lif(context)
    spec.module = Poisoned(spec.module)
    return spec
'''


def test_a_nan_loss_is_an_error_not_a_fastest_point(tmp_path, capsys):
    (tmp_path / "nan_model.py").write_text(NAN_MODEL)
    sweep = write_sweep(tmp_path / "sweep.toml", "nan", measured_steps=2,
                        tail=f'[[points]]\nmodel = "{tmp_path}/nan_model.py:nan_model"\n[[points]]\nmodel = "{MODEL}"\n')
    out = tmp_path / "out"
    assert main(["sweep", str(sweep), "--out", str(out), "--executor", "in-process"]) == 1
    assert "Diverged: its loss was nan at timed step 1" in capsys.readouterr().err
    rows = ResultStore(out).rows()
    (error,) = [r for r in rows if isinstance(r, ErrorRow)]
    assert "lower lr" in error.error
    assert {r.settings.model for r in rows if isinstance(r, StageRow)} == {MODEL}
