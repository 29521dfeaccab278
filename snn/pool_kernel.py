"""2×2 average pooling over channels-last (N, H, W, C) float32 arrays as compiled loops (numba),
imported when the fused forward first pools on the CPU.

torch's own kernels cost here what the fused neurons cost (seed net, batch 16, T = 60, 2 threads:
about 9 ms forward and 11 ms backward a step, the backward a zero fill and then a strided add).
These loops read and write each element once, one window row pair per parallel task.

Arithmetic is float32 in the order torch's channels-last CPU kernels use, one rounding per op:
the sum starts at 0 and adds the window row by row, then divides by 4; the backward adds
gradient / 4 to a zeroed input gradient (0 + q, which turns −0 into +0). Same bits as
`F.avg_pool2d` and its backward (tests/snn/test_pool.py).
"""

from __future__ import annotations

import numba
import numpy as np

from snn import numba_cache

numba_cache.install()

_ZERO = np.float32(0.0)
_FOUR = np.float32(4.0)


@numba.njit(parallel=True, cache=True, nogil=True)
def avg_pool_forward(x, out):  # pragma: no cover - compiled
    """x (N, H, W, C) → out (N, H/2, W/2, C): each 2×2 window's mean."""
    n, rows, cols, channels = out.shape
    width = 2 * cols * channels  # one input row's elements
    for task in numba.prange(n * rows):
        i, h = task // rows, task % rows
        # flat 1-d rows and offsets rather than a view per window: the inner loop vectorises
        top, bottom = x[i, 2 * h].reshape(width), x[i, 2 * h + 1].reshape(width)
        dst = out[i, h].reshape(cols * channels)
        for w in range(cols):
            left, right, o = 2 * w * channels, (2 * w + 1) * channels, w * channels
            for k in range(channels):
                dst[o + k] = ((((_ZERO + top[left + k]) + top[right + k]) + bottom[left + k])
                              + bottom[right + k]) / _FOUR


@numba.njit(parallel=True, cache=True, nogil=True)
def avg_pool_backward(grad_out, grad_in):  # pragma: no cover - compiled
    """grad_out (N, H/2, W/2, C) → grad_in (N, H, W, C): every element of a window gets its
    output's gradient / 4, written once (no zero fill first)."""
    n, rows, cols, channels = grad_out.shape
    width = 2 * cols * channels
    for task in numba.prange(n * rows):
        i, h = task // rows, task % rows
        g = grad_out[i, h].reshape(cols * channels)
        top, bottom = grad_in[i, 2 * h].reshape(width), grad_in[i, 2 * h + 1].reshape(width)
        for w in range(cols):
            left, right, o = 2 * w * channels, (2 * w + 1) * channels, w * channels
            for k in range(channels):
                q = _ZERO + g[o + k] / _FOUR
                top[left + k] = q
                top[right + k] = q
                bottom[left + k] = q
                bottom[right + k] = q
