"""`report --baseline` matches configurations by their settings; where the plug-in code behind
one differs between the two runs it says so (through the CLI)."""

from bench.cli import main
from tests.plain_lif import IMPORT_EXAMPLE, write_sweep


def test_a_baseline_built_from_other_plugin_code_is_said_to_be(tmp_path):
    sweep = write_sweep(tmp_path / "sweep.toml", "code", model="model.py:model")
    for version, out in ((1, "before"), (2, "after")):
        (tmp_path / "model.py").write_text(IMPORT_EXAMPLE + f"VERSION = {version}\n\n\n"
                                           "def model(context):\n    return plugin.plain_lif(context)\n")
        assert main(["sweep", str(sweep), "--out", str(tmp_path / out), "--executor", "in-process"]) == 0
    assert main(["report", str(tmp_path / "after"), "--baseline", str(tmp_path / "before")]) == 0
    page = (tmp_path / "after" / "report" / "index.html").read_text()
    assert "1 matched configuration(s) were built from other plug-in code in the two runs" in page
    assert "model: " in page and " -&gt; " in page
