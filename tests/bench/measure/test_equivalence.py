"""bench.measure.equivalence and `snn-bench check`: variants against their references, untimed."""

from pathlib import Path

import pytest

from bench.cli import main
from bench.config.check_options import check_options
from bench.config.settings import normalise
from bench.errors import SettingError
from bench.measure.equivalence import check_point, checks_for
from bench.report.load import load_results
from bench.results.rows import CheckRow, ErrorRow
from bench.results.store import ResultStore

RULES = Path(__file__).parents[3] / "examples" / "rewiring" / "rules.py"
TINY = {"layer_type": "linear", "num_steps": 8, "batch_size": 8, "threads": 1, "connectivity": 0.1}


def test_the_fast_variants_compute_what_their_references_compute(tiny_root):
    settings = normalise({**TINY, "data_root": str(tiny_root),
                          "variant": "deepr:exact+forward:fused+framing:compiled"})
    assert checks_for(settings) == ["deepr", "forward", "framing"]
    checks = check_point(settings, check_options({"updates": 2}))
    assert [c.component for c in checks] == ["deepr", "forward", "framing"]
    assert all(c.passed for c in checks), [c.problems for c in checks]
    assert checks_for(normalise({"variant": "deepr:notebook", "connectivity": 0.1})) == []  # references


def _sweep(path, root, rule):
    path.write_text(f'name = "chk"\n[settings]\ndata_root = "{root}"\nlayer_type = "linear"\nnum_steps = 8\n'
                    'batch_size = 8\nthreads = 1\nwarmup_steps = 1\nmeasured_steps = 6\nruns = 1\nconnectivity = 0.1\n'
                    f'rewiring_rule = "{RULES}:{rule}"\n[grid]\nvariant = ["deepr:exact", "deepr:custom"]\n'
                    '[references]\ndeepr = "exact"\n')
    return path


def test_check_stores_its_verdicts_and_the_report_marks_a_failed_one(tiny_root, tmp_path, capsys):
    out = tmp_path / "out"
    sweep = _sweep(tmp_path / "s.toml", tiny_root, "Broken")
    assert main(["sweep", str(sweep), "--out", str(out)]) == 1  # the timed run's end catches it too
    (error,) = [r for r in ResultStore(out).rows() if isinstance(r, ErrorRow)]
    assert error.error.startswith("RuleBroken: deepr:custom broke its invariants: after 6 timed step(s)")
    assert main(["check", str(sweep), "--out", str(out), "--updates", "2"]) == 1
    printed = capsys.readouterr().out
    assert "deepr:custom" in printed and "FAILED" in printed and "active connections, not its target" in printed
    checks = {r.settings.variant: r for r in ResultStore(out).rows() if isinstance(r, CheckRow)}
    assert checks["deepr:exact"].passed and not checks["deepr:custom"].passed
    assert main(["report", str(out)]) == 0
    page = (out / "report" / "index.html").read_text()
    assert "RuleBroken" in page  # the point's error; its check's verdict is stored beside it


def test_check_passes_on_the_shipped_rules(tiny_root, tmp_path, capsys):
    for rule in ("SET", "RigL"):
        sweep = _sweep(tmp_path / f"{rule}.toml", tiny_root, rule)
        assert main(["check", str(sweep), "--out", str(tmp_path / rule), "--updates", "2"]) == 0, capsys.readouterr()


def test_a_check_table_sets_the_tolerances_and_a_bad_one_is_refused_at_plan_time(tmp_path, tiny_root):
    from bench.config.plan import load_sweep
    from bench.config.sweepfile import SweepConfigError

    path = tmp_path / "c.toml"
    path.write_text(f'[settings]\ndata_root = "{tiny_root}"\n[check]\nupdates = 2\ngrad_rtol = 1e-6\n')
    assert load_sweep(path).check == {"updates": 2, "grad_rtol": 1e-6}
    path.write_text(f'[settings]\ndata_root = "{tiny_root}"\n[check]\nupdate = 2\ngrad_rtol = 0\n')
    with pytest.raises(SweepConfigError, match=r"\[check\]: unknown key 'update'; use updates, grad_rtol, framed_samples"):
        load_sweep(path)
    with pytest.raises(SettingError, match=r"grad_rtol must be above 0"):
        check_options({"grad_rtol": 0})


PORT = '''
from bench.plugins.model import Agreement, ModelSpec
from snn.model import SeedNet
from snn.plugin import seed_config


def _linear(context, threshold, differences):
    """The seed network's linear preset (a plug-in's own, so layer_type is its to choose), its
    neurons' threshold set, claiming to port the seed network."""
    net = SeedNet(seed_config(context, layer_type="linear"))
    for neuron in net.neurons:
        neuron.threshold.fill_(threshold)
    return ModelSpec(net, rewirable=[layer.weight for layer in net.weight_layers()], neurons=net.workload_taps(),
                     agrees_with=Agreement("snn.plugin:seed_network", differences=differences,
                                               settings={"layer_type": "linear"}))


def same(context):
    return _linear(context, 1.0, ())


def hotter(context):
    return _linear(context, 0.8, ())


def hotter_declared(context):
    return _linear(context, 0.8, ("threshold: 0.8",))
'''


def test_the_agreement_check_fails_an_undeclared_difference_and_measures_a_declared_one(tiny_root, tmp_path):
    plugin = tmp_path / "port.py"
    plugin.write_text(PORT)
    base = {"num_steps": 8, "batch_size": 8, "threads": 1, "data_root": str(tiny_root)}
    reference = normalise({**base, "layer_type": "linear"})
    verdicts = {}
    for name in ("same", "hotter", "hotter_declared"):
        settings = normalise({**base, "model": f"{plugin}:{name}"})
        assert checks_for(settings) == ["agreement"]
        (check,) = check_point(settings)
        verdicts[name] = check
    same, hotter, declared = verdicts["same"], verdicts["hotter"], verdicts["hotter_declared"]
    assert same.passed and not same.problems and not any(same.figures["spikes_differing"].values())
    assert set(same.figures["spikes_differing"]) == {f"neurons.{i}" for i in range(5)}
    assert same.figures["grad_max_rel"] == [0.0] * 5 and same.figures["peak_memory_bytes"] > 0
    assert not hotter.passed and any("spikes differ" in p for p in hotter.problems)
    assert declared.passed and declared.problems == hotter.problems  # measured alike, judged by the claim
    assert declared.figures["differences"] == ["threshold: 0.8"]
    assert checks_for(reference) == []  # the seed network itself ports nothing


def test_a_model_that_declares_no_port_gets_no_agreement_check(tiny_root):
    example = Path(__file__).parents[3] / "examples" / "plain_lif" / "plugin.py"
    settings = normalise({"model": f"{example}:plain_lif", "dataset": f"{example}:spike_patterns",
                          "threads": 1, "batch_size": 4, "num_steps": 20})
    assert checks_for(settings) == ["agreement"] and check_point(settings) == []


def _approximation_or_skip(name):
    import torch

    from snn.approx import ApproximationUnavailable, check_approximation
    try:
        check_approximation(name, torch.device("cpu"))
    except ApproximationUnavailable as error:
        pytest.skip(str(error))


@pytest.mark.parametrize("approximation", ["bf16", "sparseprop"])
def test_an_approximate_variant_is_measured_against_itself_as_built_and_never_held_to_equality(
        tiny_root, approximation):
    _approximation_or_skip(approximation)
    settings = normalise({**TINY, "data_root": str(tiny_root),
                          "variant": f"deepr:exact+forward:fused+approx:{approximation}"})
    assert checks_for(settings) == ["deepr", "approx"]  # no forward equality: it differs by design
    rewiring, check = check_point(settings, check_options({"updates": 2}))
    assert rewiring.passed and check.component == "approx" and check.passed
    assert check.reference_variant == "deepr:exact+forward:fused"
    assert "approximate: judged by accuracy, not equality" in check.what
    assert sum(check.figures["spikes_total"].values()) > 0 and len(check.figures["grad_max_rel"]) == 5
    layers = check.figures["sparseprop_layers"]
    assert (set(layers) == {f"layers.{i}" for i in range(5)} and all(isinstance(v, bool) for v in layers.values())
            if approximation == "sparseprop" else layers == {})


def test_the_report_labels_an_approximate_variant_wherever_it_shows_its_speed(tiny_root, tmp_path):
    _approximation_or_skip("bf16")
    sweep, out = tmp_path / "a.toml", tmp_path / "out"
    sweep.write_text(f'name = "approx"\n[settings]\ndata_root = "{tiny_root}"\nlayer_type = "linear"\nnum_steps = 8\n'
                     'batch_size = 8\nthreads = 1\nwarmup_steps = 1\nmeasured_steps = 4\nruns = 1\n'
                     'connectivity = 0.1\n[grid]\nvariant = ["deepr:exact+forward:fused", '
                     '"deepr:exact+forward:fused+approx:bf16"]\n')
    assert main(["sweep", str(sweep), "--out", str(out)]) == 0
    assert main(["check", str(sweep), "--out", str(out), "--updates", "1"]) == 0
    assert main(["report", str(out)]) == 0
    ratios = load_results(out).ratios
    approximate = ratios[ratios["component"] == "approx"]
    assert set(approximate["reference_variant"]) == {"deepr:exact+forward:fused"} and len(approximate)
    assert set(approximate["check"]) == {"approximate: judged by accuracy, not equality"}
    page = (out / "report" / "index.html").read_text()
    assert "Component approx: an approximate variant" in page and "make study-approx" in page
