import itertools

import pytest
import torch

from bench.measure.stage_table import stage_table
from bench.measure.timing import CudaEventStageTimer, SyncedStageTimer, stage_timer


def test_timer_records_one_duration_per_stage_entry():
    ticks = itertools.count(step=0.5)
    timer = SyncedStageTimer(torch.device("cpu"), clock=lambda: next(ticks))
    for _ in range(3):
        with timer.stage("forward"):
            pass
    assert timer.samples == {"forward": [0.5, 0.5, 0.5]}


def test_a_stage_that_raises_is_still_recorded():
    timer = SyncedStageTimer(torch.device("cpu"))
    with pytest.raises(RuntimeError), timer.stage("loss"):
        raise RuntimeError("boom")
    assert len(timer.samples["loss"]) == 1


def test_stage_table_lists_stages_in_step_order_with_shares():
    table = stage_table({"forward": [0.3, 0.3], "data_wait": [0.1, 0.1]}, [0.5, 0.5])
    lines = table.splitlines()
    assert [line.split()[0] for line in lines[2:]] == ["data_wait", "forward", "step"]
    assert "60.0" in lines[3] and "100.0" in lines[4]


class _FakeCudaEvent:
    """Stands in for torch.cuda.Event on a machine without CUDA: a timestamp taken at record()."""

    def __init__(self, clock):
        self._clock = clock
        self.time = None

    def record(self):
        self.time = self._clock()

    def elapsed_time(self, end):  # milliseconds, like CUDA events
        return (end.time - self.time) * 1e3


def test_cuda_event_timer_reads_events_only_when_the_step_finishes():
    ticks = itertools.count(step=0.25)
    clock = lambda: next(ticks)  # noqa: E731
    timer = CudaEventStageTimer(torch.device("cpu"), event_factory=lambda: _FakeCudaEvent(clock))
    with timer.stage("forward"):
        pass
    with timer.stage("backward"):
        pass
    assert timer.samples == {}  # nothing read before the step's one synchronise
    timer.finish_step()
    assert timer.samples == {"forward": [0.25], "backward": [0.25]}
    timer.finish_step()
    assert timer.samples == {"forward": [0.25], "backward": [0.25]}


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_cuda_event_timer_charges_queued_kernels_to_their_stage():
    device = torch.device("cuda")
    timer = stage_timer(device)
    x = torch.randn(4096, 4096, device=device)
    with timer.stage("matmul"):
        for _ in range(10):
            x = x @ x / 4096
    with timer.stage("nothing"):
        pass
    timer.finish_step()
    assert timer.samples["matmul"][0] > 10 * timer.samples["nothing"][0]


def test_the_timer_for_a_cpu_is_the_synced_host_clock():
    assert isinstance(stage_timer(torch.device("cpu")), SyncedStageTimer)
