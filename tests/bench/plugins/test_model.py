"""bench.plugins.model: the seed network through the contract, and every bad model named in one line."""

import re
from pathlib import Path

import pytest
import torch

from bench.config.point_config import point_config
from bench.measure.data import open_dataset
from bench.measure.point import PointSession, open_batches
from bench.plugins.model import ModelContext, ModelSpec, build_model, output_problem
from bench.plugins.reference import NotApplicable, PluginError
from snn.deepr import build_rewiring
from snn.model import build_net
from snn.seeds import stream_seed
from snn.train import NullTimer, Trainer, train_step

BENCH = Path(__file__).parents[3] / "bench"


def _settings(root, **more):
    return {"data_root": str(root), "layer_type": "linear", "num_steps": 8, "batch_size": 8, "threads": 1,
            **more}


@pytest.mark.parametrize("variant", ["deepr:none", "deepr:exact", "deepr:notebook+forward:fused"])
def test_the_seed_network_through_the_contract_trains_bit_for_bit_as_the_built_in_path(tiny_root, variant):
    cfg = point_config(_settings(tiny_root, variant=variant, connectivity=0.1 if variant != "deepr:none" else None))
    device = torch.device("cpu")
    session = PointSession(cfg, device)
    batches, _ = open_batches(cfg)
    # today's built-in path, as bench.measure.point built it before models were plug-ins
    torch.manual_seed(stream_seed(cfg.seed, "weights"))
    net = build_net(cfg.net)
    optimiser = torch.optim.Adam(net.parameters(), lr=cfg.lr)
    trainer = Trainer(net=net, optimiser=optimiser, device=device)
    rewiring = build_rewiring(net.weight_layers(), cfg.deepr, optimiser)
    if rewiring is not None:
        trainer.rewire = rewiring.step
    built_in_batches, _ = open_batches(cfg)
    try:
        # one path after the other, from one global generator state: the notebook's DeepR draws
        # its revivals from torch's global generator, as the user wrote it
        torch.manual_seed(1)
        ours = [session.step(batches, NullTimer()).loss for _ in range(3)]
        torch.manual_seed(1)
        theirs = [train_step(trainer, built_in_batches, NullTimer()).loss for _ in range(3)]
        assert all(torch.equal(a, b) for a, b in zip(ours, theirs))
        frames, _ = next(open_batches(cfg)[0])
        with torch.no_grad():
            assert torch.equal(session.trainer.net(frames.float()), net(frames.float()))
        for a, b in zip(session.weights, [layer.weight for layer in net.weight_layers()]):
            assert torch.equal(a, b)
        if rewiring is not None:
            assert [int(m.sum()) for m in session.rewiring.active_masks()] == \
                [int(m.sum()) for m in rewiring.active_masks()]
    finally:
        batches.close()
        built_in_batches.close()


def test_the_harness_imports_neither_the_seed_network_nor_dvs_gesture():
    # bench/data_cli.py is `snn-bench data`: the built-in data set's own file tool (it writes and
    # checks DVS Gesture's files), not a path into any measurement.
    pattern = re.compile(r"^\s*(from|import)\s+snn\.(model|data\.dvsgesture)\b", re.M)
    offenders = [str(p.relative_to(BENCH)) for p in BENCH.rglob("*.py")
                 if p.name != "data_cli.py" and pattern.search(p.read_text())]
    assert offenders == []


def _context(forward="reference", **options):
    from bench.config.settings import normalise

    return ModelContext(settings=normalise({}), options=options, device=torch.device("cpu"), seed=0,
                        num_steps=4, batch_size=2, forward=forward, sample_shape=(4, 6), num_classes=3)


def _plugin(tmp_path, body: str) -> str:
    path = tmp_path / "mine.py"
    path.write_text("import torch\nfrom torch import nn\nfrom bench.plugins.model import ModelSpec\n" + body)
    return f"{path}:make"


@pytest.mark.parametrize("body, match", [
    ("make = 3\n", "names a int, not a factory"),
    ("def make():\n    return nn.Linear(6, 3)\n", "must take one argument, the ModelContext"),
    ("def make(context):\n    return 'a model'\n", "returned a str; return an nn.Module or a bench.plugins.model.ModelSpec"),
    ("def make(context):\n    return ModelSpec(nn.Linear(6, 3), layout='TCB')\n", "layout 'TCB' is unknown"),
    ("def make(context):\n    context.refuse_unknown_options(('hidden',))\n    return nn.Linear(6, 3)\n",
     "model_options width is unknown to this model; it reads hidden"),
])
def test_a_bad_factory_is_named_in_one_line(tmp_path, body, match):
    with pytest.raises(PluginError, match=re.escape(match)):
        build_model(_plugin(tmp_path, body), _context(width=3))


def test_an_unimportable_module_and_a_missing_attribute_say_what_is_wrong(tmp_path):
    with pytest.raises(PluginError, match="module 'no_such_module' does not import"):
        build_model("no_such_module:make", _context())
    with pytest.raises(PluginError, match="has no attribute 'nope'; it has .*make"):
        build_model(_plugin(tmp_path, "def make(context):\n    return nn.Linear(6, 3)\n")[:-4] + "nope",
                    _context())


def test_a_forward_variant_the_model_does_not_implement_is_not_applicable(tmp_path):
    reference = _plugin(tmp_path, "def make(context):\n    return nn.Linear(6, 3)\n")
    with pytest.raises(NotApplicable, match="forward:fused does not apply to model .*implements forward:reference"):
        build_model(reference, _context(forward="fused"))


@pytest.mark.parametrize("layout, shape, bad", [
    ("TBC", (4, 2, 3), False), ("BTC", (2, 4, 3), False), ("BC", (2, 3), False),
    ("TBC", (2, 4, 3), True), ("BC", (2, 4, 3), True), ("BTC", (2, 4, 5), True),
])
def test_an_output_of_the_wrong_shape_names_the_expected_layout(layout, shape, bad):
    problem = output_problem(torch.zeros(shape), layout, batch=2, num_classes=3)
    assert (problem is not None) == bad
    if bad:
        assert f"layout {layout} means" in problem and "B=2, C=3" in problem


def test_a_model_that_builds_differently_twice_is_refused_with_the_fix(tiny_root, tmp_path):
    reference = _plugin(tmp_path, "import random\ndef make(context):\n    net = nn.Linear(4 * 2 * 16 * 16, 11)\n"
                        "    with torch.no_grad():\n        net.weight.add_(random.random())\n"
                        "    return ModelSpec(nn.Sequential(nn.Flatten(2), net), layout='BTC')\n")
    cfg = point_config(_settings(tiny_root, model=reference, frame_size=16, num_steps=4))
    with pytest.raises(PluginError, match="two builds at seed 0 differ in 1.weight; draw every random number"):
        PointSession(cfg, torch.device("cpu"))


def test_the_first_forward_checks_the_output_against_the_layout(tiny_root, tmp_path):
    reference = _plugin(tmp_path, "def make(context):\n    return ModelSpec(nn.Sequential(nn.Flatten(2), "
                        "nn.Linear(2 * 16 * 16, 5)), layout='BTC')\n")  # 5 classes, not 11
    cfg = point_config(_settings(tiny_root, model=reference, frame_size=16, num_steps=4))
    session = PointSession(cfg, torch.device("cpu"))
    batches, _ = open_batches(cfg)
    try:
        with pytest.raises(PluginError, match=r"shape \(8, 4, 5\), but layout BTC means \(B, T, C\) with B=8, C=11"):
            session.warm_up(batches)
    finally:
        batches.close()


def test_the_default_spec_rewires_every_linear_and_conv_weight_and_reads_snntorch_neurons():
    import snntorch as snn

    module = torch.nn.Sequential(torch.nn.Conv2d(2, 3, 3), snn.Leaky(beta=0.9), torch.nn.Flatten(),
                                 torch.nn.Linear(12, 4))
    spec = ModelSpec(module)
    assert [name for name, _ in spec.rewirable_parameters()] == ["0.weight", "3.weight"]
    assert [tap.name for tap in spec.taps()] == ["1"]
    assert spec.forwards == ("reference",) and spec.layout == "TBC"


def test_the_data_set_spec_of_the_seed_is_event_data_and_another_is_not(tiny_root):
    seed = open_dataset(point_config(_settings(tiny_root)))
    assert seed.events is not None and seed.num_classes == 11 and seed.shape() == (8, 2, 32, 32)


def test_the_seed_networks_input_gain_option_reaches_its_first_layer_and_a_bad_one_is_named(tiny_root):
    plain = PointSession(point_config(_settings(tiny_root)), torch.device("cpu"))
    gentle = PointSession(point_config(_settings(tiny_root, model_options={"input_gain": 0.1})), torch.device("cpu"))
    torch.testing.assert_close(gentle.weights[0], plain.weights[0] * 0.1)
    with pytest.raises(PluginError, match=r"input_gain = 'big' must be a positive number.*input_gain = 0.1"):
        PointSession(point_config(_settings(tiny_root, model_options={"input_gain": "big"})), torch.device("cpu"))
