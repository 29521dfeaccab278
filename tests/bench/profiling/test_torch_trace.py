import torch
from torch.profiler import ProfilerActivity, profile, record_function

from bench.profiling.torch_trace import by_stage, peak_tensor_memory


def test_ops_are_charged_to_the_stage_label_they_ran_under():
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        with record_function("forward"):
            torch.randn(64, 64) @ torch.randn(64, 64)
        with record_function("loss"):
            torch.randn(8).sum()
        torch.ones(3).add(1)  # outside every stage
    frame = by_stage(prof)
    stages_of = {op: set(frame[frame["op"] == op]["stage"]) for op in ("aten::mm", "aten::sum", "aten::add")}
    assert stages_of == {"aten::mm": {"forward"}, "aten::sum": {"loss"}, "aten::add": {"none"}}


def test_peak_tensor_memory_follows_allocations_and_frees():
    with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
        a = torch.ones(1000, 1000)  # 4 MB
        b = a + 1  # 8 MB alive
        del a
        c = torch.zeros(500, 1000)  # 6 MB alive
        del b, c
    assert 8_000_000 <= peak_tensor_memory(prof) < 8_000_100  # + a few bytes for the scalar
