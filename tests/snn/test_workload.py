"""Workload counters: hand-computed counts on a toy network, NeuroBench's published golden values
on its DVS Gesture network, DeepR masks, and the streaming counts of every forward variant."""

import pytest
import snntorch as snn
import torch
from snntorch import surrogate
from torch import nn

from snn.workload import WorkloadCounter, footprint_bytes


class NeuroBenchDVSGestureNet(nn.Module):
    """NeuroBench's DVS Gesture example network (examples/dvs_gesture/snn.py), as published:
    3 x [Conv 5x5 'same' -> MaxPool 2 -> Leaky], Linear(1024 -> 11) -> Leaky."""

    def __init__(self):
        super().__init__()
        grad = surrogate.atan()
        self.conv1, self.pool1 = nn.Conv2d(2, 16, 5, padding="same"), nn.MaxPool2d(2)
        self.lif1 = snn.Leaky(beta=0.9999903192467171, threshold=3.511291184386264, spike_grad=grad,
                              init_hidden=True)
        self.conv2, self.pool2 = nn.Conv2d(16, 32, 5, padding="same"), nn.MaxPool2d(2)
        self.lif2 = snn.Leaky(beta=0.7291118090686332, threshold=3.494437965584431, spike_grad=grad,
                              init_hidden=True)
        self.conv3, self.pool3 = nn.Conv2d(32, 64, 5, padding="same"), nn.MaxPool2d(2)
        self.lif3 = snn.Leaky(beta=0.9364650136740154, threshold=1.5986853560315544, spike_grad=grad,
                              init_hidden=True)
        self.linear1 = nn.Linear(64 * 4 * 4, 11)
        self.dropout_4 = nn.Dropout(0.5956071342984011)
        self.lif4 = snn.Leaky(beta=0.8348241794080301, threshold=0.3641469130041378, spike_grad=grad,
                              init_hidden=True, output=True)

    def forward(self, x):  # one time step: (B, 2, 32, 32)
        spk1 = self.lif1(self.pool1(self.conv1(x)))
        spk2 = self.lif2(self.pool2(self.conv2(spk1)))
        spk3 = self.lif3(self.pool3(self.conv3(spk2)))
        spk4, mem4 = self.lif4(self.dropout_4(self.linear1(spk3.flatten(1))))
        return spk4, mem4


def _neurobench_counter(net):
    synapses = [(n, m) for n, m in net.named_children() if isinstance(m, (nn.Conv2d, nn.Linear))]
    taps = [(n, m, "output") for n, m in net.named_children() if isinstance(m, snn.Leaky)]
    return WorkloadCounter(net, synapses, taps)


def test_the_neurobench_dvs_gesture_network_counts_its_published_golden_values():
    torch.manual_seed(0)
    net = NeuroBenchDVSGestureNet().eval()
    # NeuroBench's Footprint is a static metric, read before any step: a Leaky's hidden `mem`
    # (init_hidden) then grows to the layer's state, which is workload, not footprint.
    assert footprint_bytes(net) == 304_828
    counter = _neurobench_counter(net)
    frames = (torch.rand(150, 1, 2, 32, 32) < 0.1).float()  # 150 time bins, one sample
    with torch.no_grad(), counter:
        for frame in frames:
            net(frame)
        counter.add_samples(1)
    metrics = counter.metrics()
    assert metrics.dense_synops == 891_206_400  # NeuroBench's published Dense SynOps per sample
    assert metrics.footprint_bytes == 304_828  # read on entering, before the neurons' state grew
    assert footprint_bytes(net) == 304_828  # and after: their hidden state is not footprint


class _Fire(nn.Module):
    """A stand-in neuron: spikes where the current exceeds 3.5."""

    def forward(self, current):
        return (current > 3.5).float()


def _toy():
    net = nn.Sequential(nn.Linear(4, 3, bias=False), _Fire(), nn.Linear(3, 2, bias=True))
    with torch.no_grad():
        net[0].weight.copy_(torch.tensor([[1.0, 0, 2, 0], [0, 0, 3, 0], [4, 5, 0, 0]]))
        net[2].weight.copy_(torch.tensor([[1.0, 0, 0], [1, 1, 0]]))
        net[2].bias.fill_(7.0)  # a bias is never a synaptic operation
    return net, WorkloadCounter(net, [("l0", net[0]), ("l2", net[2])], [("fire", net[1], "output")])


def test_hand_computed_counts_on_a_two_layer_toy_network():
    net, counter = _toy()
    with torch.no_grad(), counter:
        net(torch.tensor([[2.0, 0, 1, 0]]))  # currents 4, 3, 8 -> spikes 1, 0, 1
        counter.add_samples(1)
    m = counter.metrics()
    layers = {layer["name"]: layer for layer in m.layers}
    # l0: inputs 0 and 2 are nonzero, not spikes (a 2): MACs over their nonzero fan-out (2 + 2)
    assert (layers["l0"]["dense_synops"], layers["l0"]["effective_macs"], layers["l0"]["effective_acs"]) == (12, 4, 0)
    # l2: spikes on inputs 0 and 2: ACs over their nonzero fan-out (2 + 0)
    assert (layers["l2"]["dense_synops"], layers["l2"]["effective_macs"], layers["l2"]["effective_acs"]) == (6, 0, 2)
    assert (m.dense_synops, m.effective_macs, m.effective_acs) == (18, 4, 2)
    assert layers["fire"]["activation_sparsity"] == pytest.approx(1 / 3) == m.activation_sparsity
    assert layers["l0"]["connection_sparsity"] == 7 / 12 and m.connection_sparsity == 10 / 18
    # dense: 18 weights + 2 biases, 4 bytes each; sparse: the weights as CSR (value + int32 column
    # per nonzero, int32 row pointers per row + 1): l0 5 * 8 + 4 * 4, l2 3 * 8 + 3 * 4
    assert m.footprint_bytes == 80 and m.sparse_footprint_bytes == 8 + 56 + 36


def test_counts_are_per_sample_and_stream_over_calls():
    net, counter = _toy()
    with torch.no_grad(), counter:
        for _ in range(3):  # three time steps of a batch of two identical samples
            net(torch.tensor([[2.0, 0, 1, 0], [2.0, 0, 1, 0]]))
        counter.add_samples(2)
    m = counter.metrics()
    assert (m.dense_synops, m.effective_macs, m.effective_acs) == (3 * 18, 3 * 4, 3 * 2)
    assert not counter.layer_counts["l0"].maps or all(  # kept: one map pair per input shape, no inputs
        v[0].shape == (4,) for v in counter.layer_counts["l0"].maps.values())


def test_a_padded_convolution_counts_only_the_taps_inside_the_input():
    conv = nn.Conv1d(1, 1, 3, padding=1, bias=False)
    counter = WorkloadCounter(conv, [("conv", conv)], [])
    with torch.no_grad(), counter:
        conv(torch.ones(1, 1, 4))
        counter.add_samples(1)
    assert counter.metrics().dense_synops == 2 + 3 + 3 + 2


def test_the_hooks_are_removed_on_exit():
    net, counter = _toy()
    with torch.no_grad(), counter:
        pass
    net(torch.ones(1, 4))
    assert counter.layer_counts["l0"].dense_ops == 0


def _seed_net(forward: str, deepr: str = "none", connectivity: float = 1.0):
    from snn.deepr import DeepRConfig, build_rewiring
    from snn.model import NetConfig, build_net

    torch.manual_seed(0)
    net = build_net(NetConfig(layer_type="conv2d", num_steps=6, forward=forward))
    rewiring = build_rewiring(net.weight_layers(), DeepRConfig(variant=deepr, connectivity=connectivity,
                                                               seed=0))
    return net, rewiring


def test_exact_deepr_masks_give_the_connection_sparsity_they_keep():
    net, rewiring = _seed_net("reference", "exact", 0.1)
    counter = WorkloadCounter.for_seed_net(net)
    with torch.no_grad(), counter:
        net((torch.rand(2, 6, 2, 32, 32) < 0.2).float())
        counter.add_samples(2)
    m = counter.metrics()
    total = sum(w.numel() for w in rewiring.weights)
    assert m.connection_sparsity == pytest.approx(1 - sum(rewiring.active_counts()) / total)
    assert m.connection_sparsity == pytest.approx(0.9, abs=0.01)  # DeepR keeps 10%
    assert m.sparse_footprint_bytes < m.footprint_bytes


@pytest.mark.parametrize("forward", ["multistep", "fused"])
def test_every_forward_variant_streams_the_same_counts_as_the_notebook_loop(forward):
    frames = (torch.rand(2, 6, 2, 32, 32) < 0.3).float() * 2  # counts of 2: the first layer does MACs
    results = []
    for variant in ("reference", forward):
        net, _ = _seed_net(variant, "exact", 0.1)
        counter = WorkloadCounter.for_seed_net(net)
        with torch.no_grad(), counter:
            net(frames)
            counter.add_samples(2)
        results.append(counter.metrics())
    reference, other = results
    assert other.dense_synops == reference.dense_synops
    assert other.effective_macs == pytest.approx(reference.effective_macs)
    assert other.effective_acs == pytest.approx(reference.effective_acs)
    assert other.activation_sparsity == pytest.approx(reference.activation_sparsity)
    assert reference.effective_macs > 0  # the frames' counts: MACs at the first layer only


@pytest.mark.parametrize("forward", ["multistep", "fused"])
def test_macs_and_acs_are_split_per_time_step_in_every_forward_variant(forward):
    frames = (torch.rand(2, 6, 2, 32, 32) < 0.3).float()
    frames[:, 0] *= 0.5  # only the first time step is non-binary: MACs there, ACs in the other five
    results = []
    for variant in ("reference", forward):
        net, _ = _seed_net(variant, "exact", 0.1)
        counter = WorkloadCounter.for_seed_net(net)
        counter.rows_per_step = 2  # the batch
        with torch.no_grad(), counter:
            net(frames)
            counter.add_samples(2)
        results.append(counter.metrics())
    reference, other = results
    first = next(layer for layer in reference.layers if layer["name"] == "layers.0")
    assert first["effective_macs"] > 0 and first["effective_acs"] > 0  # one step of MACs, five of ACs
    assert other.effective_macs == pytest.approx(reference.effective_macs)
    assert other.effective_acs == pytest.approx(reference.effective_acs)


def test_a_neurons_hidden_state_is_not_footprint():
    net, _ = _seed_net("reference")
    fresh = footprint_bytes(net)
    net((torch.rand(2, 6, 2, 32, 32) < 0.2).float())  # snn.Leaky keeps its last state in `mem`
    assert any(b.numel() for n, b in net.named_buffers() if n.endswith("mem"))
    assert footprint_bytes(net) == fresh
