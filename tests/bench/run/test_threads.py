"""The `threads` setting is what every timed step runs with, whatever starts numba, with every
executor; a step that changes the threads fails its point instead of being recorded as another."""

from pathlib import Path

import pytest
import torch

from bench.config.plan import plan_sweep
from bench.results.rows import ErrorRow, StageRow
from bench.results.store import ResultStore
from bench.run.executors import FreshProcessExecutor, InProcessExecutor
from bench.run.sweep import run_sweep
from snn.threads import set_threads, threads_in_force

EXAMPLE = Path(__file__).parents[3] / "examples" / "plain_lif"
PLAIN = {"dataset": f"{EXAMPLE}/plugin.py:spike_patterns", "num_steps": 20, "batch_size": 16,
         "warmup_steps": 1, "measured_steps": 3, "runs": 1}

# A model plug-in whose forward writes down the torch threads it runs with, one line per call;
# with `sets` in its options, its forward also sets torch's threads to that many.
RECORDING = '''
import importlib.util
from pathlib import Path

import torch

spec = importlib.util.spec_from_file_location("plain_lif_plugin", "{example}/plugin.py")
plugin = importlib.util.module_from_spec(spec)
spec.loader.exec_module(plugin)
SEEN = Path(__file__).with_name("threads-seen")


class Recording(torch.nn.Module):
    def __init__(self, inner, sets):
        super().__init__()
        self.inner, self.sets = inner, sets

    def forward(self, x):
        if self.sets:
            torch.set_num_threads(self.sets)
        with SEEN.open("a") as seen:
            seen.write(f"{{torch.get_num_threads()}}\\n")
        return self.inner(x)


def records(context):
    options = dict(context.options)
    sets = options.pop("sets", 0)
    spec = plugin.plain_lif(context.__class__(**{{**context.__dict__, "options": options}}))
    spec.module = Recording(spec.module, sets)
    return spec
'''


@pytest.fixture
def recording(tmp_path):
    folder = tmp_path / "plugin"
    folder.mkdir()
    (folder / "recording.py").write_text(RECORDING.format(example=EXAMPLE))
    yield folder
    set_threads(torch.get_num_threads())  # what conftest set, whatever a test left


@pytest.mark.parametrize("executor", [InProcessExecutor, FreshProcessExecutor], ids=["in-process", "fresh-process"])
def test_threads_1_is_what_every_forward_runs_with_and_what_the_rows_record(tmp_path, recording, executor):
    import numba

    numba.get_num_threads()  # numba already started, as in any process that ran a fused forward
    plan = plan_sweep({"name": "threads", "settings": {**PLAIN, "threads": 1,
                                                         "model": f"{recording}/recording.py:records"}})
    assert run_sweep(plan, tmp_path / "out", executor=executor()).timed == 1
    seen = (recording / "threads-seen").read_text().split()
    assert len(seen) >= 4 and set(seen) == {"1"}  # the warm-up and 3 timed steps, at least
    steps = [r for r in ResultStore(tmp_path / "out").rows() if isinstance(r, StageRow)]
    assert steps and all(r.env["threads"] == 1 and r.env["numba_threads"] == 1 for r in steps)


def test_a_model_that_changes_the_threads_fails_its_point_naming_the_cause(tmp_path, recording):
    plan = plan_sweep({"name": "threads", "settings": {**PLAIN, "threads": 1, "model_options": {"sets": 2},
                                                         "model": f"{recording}/recording.py:records"}})
    summary = run_sweep(plan, tmp_path / "out", executor=InProcessExecutor())
    assert (summary.timed, summary.failed) == (0, 1)
    (error,) = [r for r in ResultStore(tmp_path / "out").rows() if isinstance(r, ErrorRow)]
    assert error.error.startswith("ThreadsChanged:")
    assert "left torch on 2" in error.error and "threads = 1 was set" in error.error
    assert threads_in_force()["threads"] == 1  # set again for whatever runs next


def test_set_threads_holds_after_numba_starts():
    set_threads(1)
    assert threads_in_force() == {"threads": 1, "numba_threads": 1}
