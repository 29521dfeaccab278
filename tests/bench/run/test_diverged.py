"""A model whose loss goes NaN is an error naming the step and the fix, never a timed and
ranked point (through the CLI)."""

from pathlib import Path

from bench.cli import main
from bench.results.rows import ErrorRow, StageRow
from bench.results.store import ResultStore

EXAMPLE = Path(__file__).parents[3] / "examples" / "plain_lif"

NAN_MODEL = '''
import importlib.util

import torch

spec = importlib.util.spec_from_file_location("plain_lif_plugin", "{example}/plugin.py")
plugin = importlib.util.module_from_spec(spec)
spec.loader.exec_module(plugin)


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
    (tmp_path / "nan_model.py").write_text(NAN_MODEL.format(example=EXAMPLE))
    sweep = tmp_path / "sweep.toml"
    sweep.write_text(f"""
name = "nan"
[settings]
dataset = "{EXAMPLE}/plugin.py:spike_patterns"
num_steps = 20
batch_size = 16
threads = 1
runs = 1
warmup_steps = 1
measured_steps = 2
[[points]]
model = "{tmp_path}/nan_model.py:nan_model"
[[points]]
model = "{EXAMPLE}/plugin.py:plain_lif"
""")
    out = tmp_path / "out"
    assert main(["sweep", str(sweep), "--out", str(out), "--executor", "in-process"]) == 1
    assert "Diverged: its loss was nan at timed step 1" in capsys.readouterr().err
    rows = ResultStore(out).rows()
    (error,) = [r for r in rows if isinstance(r, ErrorRow)]
    assert "lower lr" in error.error
    assert {r.settings.model for r in rows if isinstance(r, StageRow)} == {f"{EXAMPLE}/plugin.py:plain_lif"}
