"""bench.plugins.reference and .files: plug-in files that import what sits beside them, load in
any process under one name, digest everything they run, and are named with any path."""

import json
import pickle
import subprocess
import sys
from pathlib import Path

from bench.cli import main
from bench.plugins import files
from bench.plugins.reference import REFERENCE, load, reference_problem
from bench.results.rows import StageRow
from bench.results.store import ResultStore
from tests.plain_lif import IMPORT_EXAMPLE, write_sweep

EXAMPLE = Path(__file__).parents[3] / "examples" / "plain_lif"
ROOT = Path(__file__).parents[3]

PLUGIN = '''
from helper import WIDTH


class Thing:
    width = WIDTH


def make(context):
    return Thing()
'''


def _plugin(folder: Path, width: int = 3) -> Path:
    folder.mkdir(exist_ok=True)
    (folder / "helper.py").write_text(f"WIDTH = {width}\n")
    (folder / "plug.py").write_text(PLUGIN)
    return folder / "plug.py"


def test_a_plug_in_file_imports_the_module_beside_it(tmp_path):
    plug = _plugin(tmp_path / "mine")
    factory, _ = load(f"{plug}:make", "model")
    assert factory(None).width == 3


def test_the_digest_changes_with_a_helper_beside_the_plug_in(tmp_path):
    plug = _plugin(tmp_path / "mine")
    _, before = load(f"{plug}:make", "model")
    (plug.parent / "helper.py").write_text("WIDTH = 5\n")
    _, after = load(f"{plug}:make", "model")
    assert before != after


def test_a_plug_in_files_objects_unpickle_in_a_fresh_interpreter(tmp_path):
    """What a spawned (or forkserver-started) DataLoader worker does with the data set."""
    plug = _plugin(tmp_path / "mine")
    factory, _ = load(f"{plug}:make", "model")
    blob = tmp_path / "thing.pickle"
    blob.write_bytes(pickle.dumps(factory(None)))
    code = f"import pickle; print(pickle.loads(open({str(blob)!r}, 'rb').read()).width)"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "3"
    assert type(factory(None)).__module__ == files.module_name(plug)


def test_a_windows_path_with_its_drive_letter_is_a_reference():
    assert reference_problem(r"C:\Users\me\snn\plug.py:model") is None
    match = REFERENCE.fullmatch(r"C:\Users\me\snn\plug.py:model")
    assert (match["source"], match["attribute"]) == (r"C:\Users\me\snn\plug.py", "model")
    assert REFERENCE.fullmatch("snn.plugin:seed_network")["source"] == "snn.plugin"
    assert reference_problem("plug.py") is not None  # no attribute


def test_every_module_imports_where_fcntl_does_not_exist():
    """Windows has no fcntl: the harness must not need it."""
    code = """
import importlib, pkgutil, sys
sys.modules["fcntl"] = None  # import fcntl now raises ImportError, as on Windows
import bench, snn
optional = ("ray", "spikingjelly", "norse", "sinabs", "sparseprop")
failed = []
for package in (bench, snn):
    for info in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        try:
            importlib.import_module(info.name)
        except ModuleNotFoundError as error:
            if error.name not in optional:
                failed.append(f"{info.name}: {error!r}")
        except ImportError as error:
            failed.append(f"{info.name}: {error!r}")
print("\\n".join(failed))
"""
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == ""
    # nor inside a function, where an import test cannot see it (the synthetic set's lock was so)
    users = [str(f.relative_to(ROOT)) for package in ("bench", "snn") for f in (ROOT / package).rglob("*.py")
             if "import fcntl" in f.read_text()]
    assert users == []


def test_the_shipped_example_runs_with_two_workers_under_the_default_executor(tmp_path):
    """Its data set is a plug-in file: each worker of the group run's loader unpickles it (the
    group run's process starts by forkserver, and its loader's workers with it)."""
    sweep = write_sweep(tmp_path / "sweep.toml", "plain-lif-workers", num_workers=2, measured_steps=2,
                        variant="deepr:none")
    out = tmp_path / "out"
    assert main(["sweep", str(sweep), "--out", str(out)]) == 0
    steps = [r for r in ResultStore(out).rows() if isinstance(r, StageRow) and r.stage == "step"]
    assert len(steps) == 1 and steps[0].settings.num_workers == 2


def test_runs_of_a_point_timed_on_changed_plug_in_code_are_labelled_where_pooled(tmp_path, capsys):
    """A resume that adds runs after a helper beside the plug-in changed times them on the new
    code: it warns, and the report's figure across the runs says it pools two versions."""
    (tmp_path / "helper.py").write_text("HIDDEN = 32\n")
    (tmp_path / "model.py").write_text("import helper\n" + IMPORT_EXAMPLE
                                       + "\n\ndef model(context):\n    return plugin.plain_lif(context)\n")
    sweep = write_sweep(tmp_path / "sweep.toml", "helper-changed", model="model.py:model", variant="deepr:none", runs=2)
    out = tmp_path / "out"
    assert main(["sweep", str(sweep), "--out", str(out), "--executor", "in-process"]) == 0
    results = out / "results.jsonl"  # as if the sweep had stopped after run 0
    results.write_text("".join(line for line in results.read_text().splitlines(keepends=True)
                               if json.loads(line).get("run_index") != 1))
    (tmp_path / "helper.py").write_text("HIDDEN = 640\n")
    assert main(["sweep", str(sweep), "--out", str(out), "--executor", "in-process"]) == 0
    assert "has changed since points built with it were stored" in capsys.readouterr().err
    assert main(["report", str(out)]) == 0
    summary = (out / "report" / "summary.md").read_text()
    assert "its runs ran 2 versions of plug-in model (" in summary and "in run(s) 0;" in summary
    assert "its runs ran 2 versions of plug-in model" in (out / "report" / "index.html").read_text()
