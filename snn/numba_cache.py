"""numba's on-disk kernel cache, made to recompile rather than fail when an entry is damaged.

The compiled kernels (snn/lif_kernel.py, snn/deepr/kernels.py, snn/data/framing_kernel.py) are
cached by numba beside their source (`cache=True`). numba reads its index and data files with
pickle and lets an unpickling error through, so one truncated or corrupt file (a full disk, a
killed writer, a bad copy) made every later run fail the same way until someone deleted it.
`install()` wraps numba's cache lookup once per process: a damaged entry is a cache miss, named
in one line on stderr; the kernel compiles again and its entry is written afresh.
"""

from __future__ import annotations

import pickle
import sys

from numba.core import caching

# What a damaged pickle or a rebuilt object from one can raise; nothing else is caught.
DAMAGED = (EOFError, pickle.UnpicklingError, ValueError, TypeError, AttributeError, IndexError, KeyError)
_original = caching.Cache._load_overload


def _load_or_recompile(self, sig, target_context):
    try:
        return _original(self, sig, target_context)
    except DAMAGED as error:
        print(f"numba cache: the entry of {self._name} in {self._cache_path} is damaged "
              f"({type(error).__name__}: {error}); compiling it again", file=sys.stderr)
        try:
            self.flush()  # an empty index: the fresh compile writes a whole new entry
        except OSError:
            pass  # a read-only cache: compile every time, as without one
        return None


def install() -> None:
    """Idempotent; the kernel modules call it when they are imported."""
    caching.Cache._load_overload = _load_or_recompile
