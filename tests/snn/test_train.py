import contextlib

import pytest
import torch

from snn.data.dvsgesture import open_split
from snn.data.loader import LoaderConfig, build_loader
from snn.data.transforms import FrameConfig, build_transform
from snn.model import NetConfig, build_net
from snn.names import STAGES
from snn.train import Trainer, evaluate, train_step

T = 20


class RecordingTimer:
    def __init__(self):
        self.entered = []

    @contextlib.contextmanager
    def stage(self, name):
        self.entered.append(name)
        yield


def _trainer(seed=0, lr=5e-3, rewire=None):
    torch.manual_seed(seed)
    net = build_net(NetConfig(num_steps=T))
    trainer = Trainer(net=net, optimiser=torch.optim.Adam(net.parameters(), lr=lr),
                      device=torch.device("cpu"))
    if rewire is not None:
        trainer.rewire = rewire
    return trainer


def _loader(root, train, batch_size=16):
    ds = open_split(root, train=train, transform=build_transform(FrameConfig(n_time_bins=T)))
    return build_loader(ds, LoaderConfig(batch_size=batch_size, shuffle=train, drop_last=train))


def test_step_runs_every_stage_once_in_training_order(tiny_root):
    timer = RecordingTimer()
    result = train_step(_trainer(), iter(_loader(tiny_root, True)), timer)
    assert timer.entered == list(STAGES)
    assert result.batch_size == 16 and torch.isfinite(result.loss)


def test_rewiring_sees_the_weights_after_the_optimiser_step(tiny_root):
    seen = {}
    trainer = _trainer(rewire=lambda: seen.setdefault("w", trainer.net.layers[0].weight.clone()))
    before = trainer.net.layers[0].weight.detach().clone()
    train_step(trainer, iter(_loader(tiny_root, True)))
    assert not torch.equal(seen["w"], before)
    assert torch.equal(seen["w"], trainer.net.layers[0].weight)


def test_stages_are_labelled_for_torch_profiler(tiny_root):
    trainer, batches = _trainer(), iter(_loader(tiny_root, True))
    with torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CPU]) as prof:
        train_step(trainer, batches)
    names = {event.key for event in prof.key_averages()}
    assert set(STAGES) <= names


@pytest.mark.slow
def test_short_training_beats_three_times_chance_on_held_out_users(tiny_root):
    trainer, train_loader = _trainer(), _loader(tiny_root, True)
    for _ in range(8):  # epochs of 6 steps
        batches = iter(train_loader)
        for _ in range(len(train_loader)):
            train_step(trainer, batches)
    accuracy = evaluate(trainer.net, _loader(tiny_root, False, batch_size=32), torch.device("cpu"))
    assert accuracy >= 3 / 11, f"accuracy {accuracy:.3f} on held-out users"


def test_evaluate_refuses_an_empty_loader():
    with pytest.raises(ValueError, match="empty loader"):
        evaluate(build_net(NetConfig(num_steps=T)), [], torch.device("cpu"))
