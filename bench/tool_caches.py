"""Where the libraries snn-bench runs keep caches of their own: under snn-bench's cache folder.

Left to themselves they write outside the folders a user gave: matplotlib its font cache under
~/.config or ~/.cache (even for a report that then fails), numba its compiled kernels beside
the installed package's sources, torch.compile under /tmp/torchinductor_<user>. Each is pointed
under `cache_root()/tools` before any of them is imported, in this process and in every process
it starts (they inherit the environment); a variable the user set is left as they set it.
Python's own bytecode is left where Python puts it (beside a module, as for any script): a
PYTHONPYCACHEPREFIX would recompile every installed library's modules into the cache on a
fresh machine.
"""

from __future__ import annotations

import os
from pathlib import Path

# environment variable → its folder under the tools cache
TOOL_CACHES = {
    "MPLCONFIGDIR": "matplotlib",
    "NUMBA_CACHE_DIR": "numba",
    "TORCHINDUCTOR_CACHE_DIR": "torchinductor",
    "TRITON_CACHE_DIR": "triton",
}


def point_tool_caches(root: Path) -> dict[str, str]:
    """Set each of TOOL_CACHES not already set to a folder under `root`; returns what is in force."""
    for variable, folder in TOOL_CACHES.items():
        if not os.environ.get(variable):
            os.environ[variable] = str(root / folder)
    return {variable: os.environ[variable] for variable in TOOL_CACHES}
