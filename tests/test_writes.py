"""Nothing snn-bench runs writes outside the folders it was given (--out), its cache and .venv:
commands run with a home and a temp folder of their own, which are then read back."""

import os
import subprocess
import sys
from pathlib import Path

from tests.plain_lif import write_sweep

ROOT = Path(__file__).parents[1]


def _files(folder: Path) -> list[str]:
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def _numba_files() -> dict[str, float]:
    """numba's cache files inside the installed packages, with their modification times."""
    return {str(p): p.stat().st_mtime for package in ("snn", "bench") for pattern in ("*.nbi", "*.nbc")
            for p in (ROOT / package).rglob(pattern)}


def test_commands_write_only_into_out_and_the_cache(tmp_path, tiny_root):
    home, temp, out, plugins = (tmp_path / name for name in ("home", "tmp", "out", "plugins"))
    for folder in (home, temp, plugins):
        folder.mkdir()
    env = {k: v for k, v in os.environ.items()
           if k not in ("SNN_BENCH_CACHE", "XDG_CACHE_HOME", "XDG_CONFIG_HOME", "MPLCONFIGDIR", "NUMBA_CACHE_DIR",
                        "TORCHINDUCTOR_CACHE_DIR", "TRITON_CACHE_DIR")}
    env.update(HOME=str(home), TMPDIR=str(temp))
    (plugins / "model.py").write_text("from helper import wrap\n\n\ndef model(context):\n    return wrap(context)\n")
    (plugins / "helper.py").write_text(f"import importlib.util\nspec = importlib.util.spec_from_file_location("
                                       f"'plain_lif_plugin', '{ROOT}/examples/plain_lif/plugin.py')\nplugin = "
                                       "importlib.util.module_from_spec(spec)\nspec.loader.exec_module(plugin)\n\n\n"
                                       "def wrap(context):\n    return plugin.plain_lif(context)\n")
    plain = write_sweep(plugins / "sweep.toml", "writes", model="model.py:model", num_workers=1, connectivity=0.5,
                        tail='[grid]\nvariant = ["deepr:none", "deepr:exact"]\n')
    seed = tmp_path / "seed.toml"
    seed.write_text(f'name = "seed"\n[settings]\ndata_root = "{tiny_root}"\nlayer_type = "linear"\nnum_steps = 8\n'
                    'batch_size = 8\nthreads = 1\nruns = 1\nwarmup_steps = 1\nmeasured_steps = 2\nconnectivity = 0.1\n'
                    'variant = "deepr:exact+forward:fused+framing:compiled"\n')
    before = _files(tiny_root), _files(ROOT / "examples"), _numba_files()
    for command in (["sweep", str(plain), "--out", str(out / "plain")], ["check", str(plain), "--out", str(out / "plain")],
                    ["report", str(out / "plain")], ["sweep", str(seed), "--out", str(out / "seed")]):
        done = subprocess.run([sys.executable, "-m", "bench", *command], env=env, capture_output=True, text=True,
                              cwd=tmp_path)
        assert done.returncode == 0, (command, done.stderr[-2000:])
    cache = home / ".cache" / "snn-bench"
    assert [f for f in _files(home) if not (home / f).is_relative_to(cache)] == []
    assert _files(temp) == []
    # beside the user's files only Python's own bytecode, as for any script they run
    assert [f for f in _files(plugins) if not f.startswith("__pycache__/")] == ["helper.py", "model.py", "sweep.toml"]
    assert (_files(tiny_root), _files(ROOT / "examples"), _numba_files()) == before  # numba's too
    assert (cache / "tools" / "numba").is_dir() and (cache / "tools" / "matplotlib").is_dir()
