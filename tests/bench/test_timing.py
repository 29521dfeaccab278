import itertools

import pytest
import torch

from bench.table import stage_table
from bench.timing import SyncedStageTimer


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
