"""The report's Libraries section, from a real sweep and `snn-bench check` of the seed network in
snnTorch and SpikingJelly on the tiny synthetic set, with Sinabs made absent."""

from __future__ import annotations

import sys

import pytest

from bench.cli import main
from bench.report import libraries
from bench.report.load import load_results

pytest.importorskip("spikingjelly", reason="spikingjelly is not installed: make setup-libraries")

SWEEP = """name = "libs"
[settings]
data_root = "{root}"
layer_type = "linear"
num_steps = 8
batch_size = 8
threads = 1
warmup_steps = 1
measured_steps = 6
runs = 1
variant = "cache:frames"
[[points]]
[[points]]
variant = "cache:frames+forward:fused"
[[points]]
model = "snn.libraries.spikingjelly:network"
[[points]]
model = "snn.libraries.sinabs:network"
"""


@pytest.fixture(scope="module")
def checked(tiny_root, tmp_path_factory):
    folder = tmp_path_factory.mktemp("libs")
    sweep = folder / "libraries.toml"
    sweep.write_text(SWEEP.format(root=tiny_root))
    out = folder / "out"
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(sys.modules, "sinabs", None)  # not installed, as far as the ports can tell
        # in this process: a forked group run would not see the patched sys.modules
        assert main(["sweep", str(sweep), "--out", str(out), "--executor", "in-process"]) == 0
        assert main(["check", str(sweep), "--out", str(out)]) == 0
    assert main(["report", str(out)]) == 0
    return out


def test_the_table_pairs_each_library_with_the_notebook_loop_and_the_fused_forward(checked):
    results = load_results(checked)
    table = libraries.library_table(results.rows, results.checks)
    assert sorted(table["configuration"]) == ["fused forward (ours)", "multi-step, its defaults",
                                              "notebook loop (the reference)"]
    by = table.set_index("configuration")
    assert by.loc["notebook loop (the reference)", "x notebook step"] == 1.0
    assert libraries.agrees(by.loc["fused forward (ours)", "spikes agree"]) is True
    assert libraries.agrees(by.loc["multi-step, its defaults", "spikes agree"]) is False  # reset order, by design
    assert 0 < by.loc["multi-step, its defaults", "spikes differing (%)"] < 100
    assert (table["peak memory (MiB)"] > 0).all()
    assert "reset: the threshold is subtracted at the spike's own step" in by.loc["multi-step, its defaults",
                                                                                   "differs by design"]


def test_the_section_names_the_fastest_agreeing_library_and_the_missing_one(checked):
    page = (checked / "report" / "index.html").read_text()
    assert 'id="libraries-section"' in page and (checked / "report" / "libraries.png").is_file()
    assert "the fastest library whose spikes agree with snnTorch&#39;s notebook loop is snnTorch" in page
    assert "Sinabs: skipped, sinabs does not import" in page
    matrix = libraries.agreement_matrix(load_results(checked).checks)
    assert list(matrix["library"]) == ["SpikingJelly"]
    assert {f"neurons.{i} (% differing)" for i in range(5)} <= set(matrix.columns)


def test_a_report_without_ports_has_no_libraries_section(tmp_path, tiny_root):
    sweep = tmp_path / "plain.toml"
    sweep.write_text(SWEEP.format(root=tiny_root).split("[[points]]\nmodel")[0])
    assert main(["sweep", str(sweep), "--out", str(tmp_path / "out")]) == 0
    assert main(["report", str(tmp_path / "out")]) == 0
    assert 'id="libraries-section"' not in (tmp_path / "out" / "report" / "index.html").read_text()
