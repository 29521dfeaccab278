"""snn.numba_cache: a damaged entry of numba's kernel cache is compiled again, not a failure."""

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).parents[2]
# Frame 3 events with the compiled framing kernel: its first call loads or compiles it.
CALL = """
import numpy as np
from snn.data.framing_kernel import count_events
x = np.array([0, 1, 2], dtype=np.int64); t = np.array([0, 10, 20], dtype=np.int64)
out = np.zeros(2 * 2 * 4 * 4, dtype=np.int16)
count_events(x, x, np.zeros(3, dtype=np.int64), t, 0, 10, 2, 2, 4, 0, 0, out)
print(int(out.sum()))
"""


def _call(cache_dir: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "NUMBA_CACHE_DIR": str(cache_dir)}
    return subprocess.run([sys.executable, "-c", CALL], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=300)


def test_a_truncated_cache_entry_is_compiled_again_with_one_line_saying_so(tmp_path):
    first = _call(tmp_path)
    assert first.returncode == 0, first.stderr
    entries = [p for p in tmp_path.rglob("*") if p.suffix in (".nbi", ".nbc")]
    assert entries, "numba wrote no cache"
    for entry in entries:
        entry.write_bytes(entry.read_bytes()[:7])  # a cut-short write
    damaged = _call(tmp_path)
    assert damaged.returncode == 0, damaged.stderr
    assert damaged.stdout == first.stdout and "numba cache:" in damaged.stderr and "compiling it again" in damaged.stderr
    healed = _call(tmp_path)
    assert healed.returncode == 0 and "numba cache:" not in healed.stderr  # the entry was written afresh
