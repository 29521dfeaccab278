"""The shipped plain_lif example as tests build on it: tiny sweep files around its model and data
set, and the preamble a test's own plug-in file uses to wrap them."""

import json
from pathlib import Path

EXAMPLE = Path(__file__).parents[1] / "examples" / "plain_lif"
MODEL = f"{EXAMPLE}/plugin.py:plain_lif"
DATASET = f"{EXAMPLE}/plugin.py:spike_patterns"

# A plug-in file of a test's own starts with this: `plugin` is the example's module, imported under
# the name every process imports it by (bench.plugins.files), so a spawned worker unpickles it.
IMPORT_EXAMPLE = f'''
import importlib
from pathlib import Path

from bench.plugins.files import module_name

plugin = importlib.import_module(module_name(Path("{EXAMPLE}/plugin.py")))
'''

# one short run of the example's size: 20 time steps, 16 samples a batch, one thread
TINY = {"model": MODEL, "dataset": DATASET, "num_steps": 20, "batch_size": 16, "threads": 1, "runs": 1,
        "warmup_steps": 1, "measured_steps": 3}


def write_sweep(path: Path, name: str, tail: str = "", **settings) -> Path:
    """A sweep file `name` of TINY's settings updated by `settings`, then `tail` (tables)."""
    path.write_text(f"name = {json.dumps(name)}\n[settings]\n"
                    + "".join(f"{k} = {json.dumps(v)}\n" for k, v in {**TINY, **settings}.items()) + tail)
    return path
