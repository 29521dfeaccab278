"""bench.measure.floors: the synapses-only floor reads what the layers read in a real step."""

import torch

from bench.config.point_config import point_config
from bench.measure.floors import DataFloor, SynapseFloor
from bench.measure.group import run_group
from bench.measure.stages import FASTEST_FLOOR_STAGES
from snn.model import NetConfig, build_net

B, T = 4, 6


def _captured(forward: str) -> tuple[SynapseFloor, torch.nn.Module]:
    torch.manual_seed(0)
    net = build_net(NetConfig(layer_type="conv2d", num_steps=T, forward=forward))
    frames = (torch.rand(B, T, 2, 32, 32) < 0.2).float()
    floor = SynapseFloor.capture(net.weight_layers(), lambda: net(frames).sum().backward())
    return floor, net


def test_the_floor_gives_each_layer_all_its_rows_whether_called_per_time_step_or_once():
    notebook, _ = _captured("reference")  # each layer called T times on B rows
    fused, _ = _captured("fused")  # each layer called once on T·B rows
    assert notebook.rows == fused.rows == [T * B] * 5
    assert [x.shape for x in notebook.inputs] == [x.shape for x in fused.inputs]
    assert [x.requires_grad for x in fused.inputs] == [False, True, True, True, True]  # frames need none


def test_the_floor_reads_its_inputs_in_the_layout_the_step_read_them():
    # fused conv2d runs its convolutions channels-last; the notebook loop does not
    fused, _ = _captured("fused")
    notebook, _ = _captured("reference")
    convolutions = slice(0, 3)
    assert all(x.is_contiguous(memory_format=torch.channels_last) and not x.is_contiguous()
               for x in fused.inputs[convolutions])
    assert all(x.is_contiguous() for x in notebook.inputs)


def test_the_floors_backward_computes_the_layers_gradients_and_leaves_trainings_grad_alone():
    floor, net = _captured("fused")
    before = [p.grad for p in net.parameters()]
    seen = []
    hook = net.weight_layers()[2].weight.register_hook(lambda g: seen.append(g.shape))
    floor.forward()
    floor.backward()
    hook.remove()
    assert seen == [net.weight_layers()[2].weight.shape]  # the backward reached the weights
    assert all(a is b for a, b in zip(before, (p.grad for p in net.parameters())))


def test_a_fastest_point_times_the_floors_beside_its_steps_and_other_points_do_not(tiny_root):
    settings = {"data_root": str(tiny_root), "layer_type": "conv2d", "num_steps": 8, "batch_size": 8,
                "threads": 1, "warmup_steps": 1, "measured_steps": 3, "connectivity": 0.2}
    fastest, notebook = run_group([point_config({**settings, "variant": "pipeline:fastest"}),
                                   point_config({**settings, "variant": "deepr:notebook+framing:compiled+cache:frames"})])
    assert all(len(fastest.stage_samples[s]) == 3 for s in FASTEST_FLOOR_STAGES)
    assert not set(FASTEST_FLOOR_STAGES) & set(notebook.stage_samples)


def test_the_data_floor_reads_a_batch_as_the_loader_would_without_the_loader(tiny_root):
    from bench.measure.data import open_dataset, open_loader

    cfg = point_config({"data_root": str(tiny_root), "num_steps": 8, "batch_size": 4,
                        "variant": "framing:compiled+cache:frames"})
    loader, _ = open_loader(open_dataset(cfg), cfg)
    floor = DataFloor.of(loader, 4)
    assert type(floor.dataset).__name__ == "FrameCache"  # what pipeline:fastest reads
    frames, targets = floor.read()
    loaded, _ = next(iter(loader))
    assert frames.shape == loaded.shape and frames.dtype == loaded.dtype and targets.shape == (4,)
    assert torch.equal(frames, torch.stack([floor.dataset[i][0] for i in range(4)]))
    assert DataFloor.of(iter([]), 4) is None  # no DataLoader: no floor
