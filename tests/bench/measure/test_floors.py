"""bench.measure.floors: the synapses-only floor reads what the layers read in a real step."""

import torch

from bench.config.point_config import point_config
from bench.measure.floors import SynapseFloor
from bench.measure.group import run_group
from bench.measure.stages import SYNAPSE_FLOOR_STAGES
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
    assert all(len(fastest.stage_samples[s]) == 3 for s in SYNAPSE_FLOOR_STAGES)
    assert not set(SYNAPSE_FLOOR_STAGES) & set(notebook.stage_samples)
