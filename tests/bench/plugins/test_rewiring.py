"""bench.plugins.rewiring: a user's rewiring rule through the contract, checked and timed."""

from pathlib import Path

import pytest
import torch

from bench.cli import main
from bench.config.settings import normalise
from bench.errors import SettingError
from bench.plugins.checks import check_plugins
from bench.plugins.reference import PluginError
from bench.plugins.rewiring import RewiringContext, build_rule, check_rule
from bench.results.rows import RatioRow, StageRow
from bench.results.store import ResultStore
from snn.config import DeepRConfig, NetConfig
from snn.deepr import build_rewiring
from snn.model import build_net

RULES = Path(__file__).parents[3] / "examples" / "rewiring" / "rules.py"


def _net_and_step(seed=0):
    """The seed network (small), its optimiser, and one untimed training step on random input."""
    torch.manual_seed(seed)
    net = build_net(NetConfig(layer_type="linear", num_steps=4, input_shape=(2, 8, 8)))
    optimiser = torch.optim.Adam(net.parameters(), lr=1e-2)
    x = (torch.rand(3, 4, 2, 8, 8) < 0.3).float()  # (B, T, P, H, W)

    def train_step():
        optimiser.zero_grad()
        net(x).sum().backward()
        optimiser.step()
    return net, optimiser, train_step


def _context(net, optimiser, **options):
    return RewiringContext(parameters=tuple(layer.weight for layer in net.weight_layers()),
                           optimiser=optimiser, connectivity=0.1, lr=1e-2, seed=0, options=options)


@pytest.mark.parametrize("rule", ["SET", "RigL"])
def test_the_shipped_rules_keep_every_invariant_and_really_rewire(rule):
    net, optimiser, train_step = _net_and_step()
    context = _context(net, optimiser, drop_fraction=0.2)
    built = build_rule(f"{RULES}:{rule}", context)
    before = built.active_masks()
    result = check_rule(built, context.parameters, context.targets(), train_step, updates=3)
    assert result.passed, result.problems
    assert any(bool((old != new).any()) for old, new in zip(before, built.active_masks())), "nothing moved"


def test_a_rule_that_regrows_one_too_many_fails_the_check():
    net, optimiser, train_step = _net_and_step()
    context = _context(net, optimiser, drop_fraction=0.2)
    result = check_rule(build_rule(f"{RULES}:Broken", context), context.parameters, context.targets(), train_step)
    assert not result.passed
    assert any("active connections, not its target" in p for p in result.problems)


def test_exact_deepr_passes_the_same_check_and_a_custom_rule_starts_from_its_masks():
    net, optimiser, train_step = _net_and_step()
    layers = net.weight_layers()
    exact = build_rewiring(layers, DeepRConfig(variant="exact", connectivity=0.1, sparse_init="masked"), optimiser)
    params = [layer.weight for layer in layers]
    result = check_rule(exact, params, [round(0.1 * p.numel()) for p in params], train_step)
    assert result.passed, result.problems
    other, other_optimiser, _ = _net_and_step()
    custom = build_rule(f"{RULES}:SET", _context(other, other_optimiser))
    fresh, _, _ = _net_and_step()
    fresh_exact = build_rewiring(fresh.weight_layers(), DeepRConfig(variant="exact", connectivity=0.1,
                                                                     sparse_init="masked"), None)
    assert all(torch.equal(a, b) for a, b in zip(custom.active_masks(), fresh_exact.active_masks()))


class _NoMasks:
    def __init__(self, context):
        pass

    def step(self):
        pass


class _WrongShape(_NoMasks):
    def __init__(self, context):
        self.parameters = context.parameters

    def active_masks(self):
        return [torch.ones(3, dtype=torch.bool) for _ in self.parameters]


def _two_arguments(context, extra):
    return None


@pytest.mark.parametrize("reference, message", [
    ("rules.SET", "must be 'package.module:attribute' or 'path/to/file.py:attribute'"),
    ("/no/such/rules.py:SET", "no file /no/such/rules.py"),
    ("no_such_package_xyz.rules:SET", "module 'no_such_package_xyz.rules' does not import (ModuleNotFoundError"),
    (f"{RULES}:Missing", "has no attribute 'Missing'; it has Broken, RigL, SET"),
    ("tests.bench.plugins.test_rewiring:_two_arguments", "the factory must take one argument"),
    ("tests.bench.plugins.test_rewiring:_NoMasks", "has no active_masks()"),
    ("tests.bench.plugins.test_rewiring:_WrongShape", "active_masks()[0] has shape (3,)"),
])
def test_a_bad_rule_is_one_line_naming_the_setting_and_the_fix(reference, message):
    net, optimiser, _ = _net_and_step()
    with pytest.raises(PluginError) as caught:
        build_rule(reference, _context(net, optimiser))
    assert message in str(caught.value) and str(caught.value).count("\n") == 0


def test_a_custom_variant_needs_a_rule_and_every_bad_reference_is_listed_before_timing():
    with pytest.raises(SettingError, match="set rewiring_rule to its factory"):
        normalise({"variant": "deepr:custom", "connectivity": 0.1})
    points = [normalise({"variant": "deepr:custom", "connectivity": 0.1, "rewiring_rule": f"{RULES}:Nope"}),
              normalise({"variant": "deepr:custom", "connectivity": 0.1, "rewiring_rule": "/no/file.py:X"})]
    with pytest.raises(PluginError) as caught:
        check_plugins(points)
    assert "no attribute 'Nope'" in str(caught.value) and "no file /no/file.py" in str(caught.value)


def test_rule_settings_leave_every_other_point_s_id_as_it_was():
    dense = normalise({})
    assert dense.rewiring_rule is None and "rewiring_rule" in dense.as_dict()
    exact = normalise({"variant": "exact", "connectivity": 0.1, "rewiring_rule": f"{RULES}:SET"})
    assert exact.rewiring_rule is None  # neutral outside deepr:custom: the same point as without it
    assert exact.id == normalise({"variant": "exact", "connectivity": 0.1}).id


def test_a_sweep_times_user_rules_beside_exact_deepr_with_paired_ratios_and_traffic(tiny_root, tmp_path, capsys):
    sweep = tmp_path / "rules.toml"
    sweep.write_text(f'''name = "rules"
[settings]
data_root = "{tiny_root}"
layer_type = "linear"
num_steps = 8
batch_size = 8
threads = 1
warmup_steps = 1
measured_steps = 6
runs = 1
connectivity = 0.1
rewiring_rule = "{RULES}:SET"
rewiring_options = {{ drop_fraction = 0.05 }}
[grid]
variant = ["deepr:exact", "deepr:custom"]
[[points]]
variant = "deepr:custom"
rewiring_rule = "{RULES}:RigL"
rewiring_options = {{ drop_fraction = 0.05 }}
[references]
deepr = "exact"
''')
    out = tmp_path / "out"
    assert main(["sweep", str(sweep), "--out", str(out)]) == 0, capsys.readouterr().err
    rows = ResultStore(out).rows()
    stages = [r for r in rows if isinstance(r, StageRow) and r.stage == "rewiring"]
    assert len(stages) == 3 and len({r.group_id for r in stages}) == 1  # one group: paired
    custom = [r for r in stages if r.settings.variant == "deepr:custom"]
    assert {Path(r.settings.rewiring_rule.split(":")[0]).name for r in custom} == {"rules.py"}
    assert all(sum(r.deaths_per_update) > 0 for r in custom), "traffic read from active_masks()"
    ratios = [r for r in rows if isinstance(r, RatioRow) and r.component == "deepr" and r.stage == "rewiring"]
    assert len(ratios) == 2 and all(r.paired and r.reference_variant == "deepr:exact" for r in ratios)


def test_run_times_a_rule_named_on_the_command_line_with_json_options(tiny_root, capsys):
    assert main(["run", "--data-root", str(tiny_root), "--layer-type", "linear", "--num-steps", "8",
                 "--batch-size", "8", "--threads", "1", "--warmup-steps", "1", "--measured-steps", "2",
                 "--variant", "deepr:custom", "--connectivity", "0.1", "--rewiring-rule", f"{RULES}:RigL",
                 "--rewiring-options", '{"drop_fraction": 0.05}']) == 0
    out = capsys.readouterr().out
    assert "deepr:custom c=0.1" in out and "rewiring" in out and "rewiring_options={'drop_fraction': 0.05}" in out
    with pytest.raises(SystemExit):  # argparse's own one-line usage error
        main(["run", "--variant", "deepr:custom", "--rewiring-options", "{not json"])
    assert "--rewiring-options: not JSON" in capsys.readouterr().err


def test_a_rule_edited_between_two_runs_into_one_store_is_warned_about(tiny_root, tmp_path, capsys):
    rules = tmp_path / "my_rules.py"
    rules.write_text(RULES.read_text())
    sweep = tmp_path / "mine.toml"
    sweep.write_text(f'name = "mine"\n[settings]\ndata_root = "{tiny_root}"\nlayer_type = "linear"\n'
                     'num_steps = 8\nbatch_size = 8\nthreads = 1\nwarmup_steps = 1\nmeasured_steps = 2\nruns = 1\n'
                     'connectivity = 0.1\nvariant = "deepr:custom"\nrewiring_rule = "my_rules.py:SET"\n')
    out = tmp_path / "out"
    assert main(["sweep", str(sweep), "--out", str(out)]) == 0
    (stage,) = [r for r in ResultStore(out).rows() if isinstance(r, StageRow) and r.stage == "step"]
    assert list(stage.env["plugin_digests"]) == ["snn.plugin:dvs_gesture", "snn.plugin:seed_network", f"{rules}:SET"]
    capsys.readouterr()
    assert main(["sweep", str(sweep), "--out", str(out)]) == 0
    assert "has changed" not in capsys.readouterr().err
    rules.write_text(rules.read_text() + "\n# edited\n")
    assert main(["sweep", str(sweep), "--out", str(out)]) == 0
    assert f"{rules}:SET has changed since points built with it were stored" in capsys.readouterr().err
