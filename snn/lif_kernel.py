"""The LIF recurrence over all T as compiled loops (numba), and the 2×2 average pooling the
fused conv2d forward runs alone or in the same pass, imported when a fused forward first runs on
the CPU.

Each loop walks one block of neurons through every time step, the block's membranes kept in a
small array: the block's T rows are read once and written once, where the op-by-op recurrence
makes five to eight passes over every (B, ...) slice per step. Blocks run in parallel
(`prange`), on as many threads as torch uses (`snn.lif`).

Fresh (T, N) buffers are the other cost: glibc maps every allocation over 32 MiB anew, and
faulting in the first layer's 47 MB (seed net, batch 16, T = 60) costs more than the loop
itself. So the forward writes only the spikes, the backward recomputes the membranes into the
gradient's own buffer (`lif_backward`), and `snn.lif` takes both from buffers kept from step to
step (`snn.buffers`).

Arithmetic is float32, in the order `snn.Leaky` and `surrogate.FastSigmoid` apply their torch
ops, one rounding per op: no fastmath, so LLVM fuses no multiply-add. That is why the spikes and
the gradients are bit-identical to the reference (tests/snn/test_lif.py), not merely close.
"""

from __future__ import annotations

import numba
import numpy as np

from snn import numba_cache

numba_cache.install()  # a damaged cache entry recompiles instead of failing every run

# Neurons per parallel task: 8 KiB of membranes, resident in L1 across the T steps.
BLOCK = 2048
_ZERO = np.float32(0.0)
_ONE = np.float32(1.0)
_FOUR = np.float32(4.0)


@numba.njit(inline="always", cache=True)
def _step(row, mem, beta, threshold, dst, as_spikes):  # pragma: no cover - compiled
    """One time step of a block of neurons: the one place the recurrence is written. Reads the
    step's currents `row`, updates the membranes `mem` in place, writes each spike (as_spikes)
    or mem − thr into `dst` (1-d slices: LLVM vectorises this loop, and not a two-index one:
    2.5-3x faster here, the same bits).

    Per neuron (snn.Leaky, reset by subtraction, reset delayed one step):
        reset  = 1 if mem − thr > 0 else 0       # detached: no gradient flows through it
        mem    = (β·mem + I_t) − reset·thr
        spike  = 1 if mem − thr > 0 else 0
    """
    for j in range(mem.shape[0]):
        m = mem[j]
        reset = _ONE if m - threshold > _ZERO else _ZERO
        m = (beta * m + row[j]) - reset * threshold
        shifted = m - threshold
        if as_spikes:
            dst[j] = _ONE if shifted > _ZERO else _ZERO
        else:
            dst[j] = shifted
        mem[j] = m


@numba.njit(inline="always", cache=True)
def _sweep(current, beta, threshold, lo, hi, out, as_spikes):  # pragma: no cover - compiled
    """Neurons lo..hi through every step, from mem = 0, each step's spike (as_spikes) or
    mem − thr into out; returns the block's membranes (a scratch array the caller may reuse)."""
    mem = np.zeros(hi - lo, np.float32)
    for t in range(current.shape[0]):
        _step(current[t, lo:hi], mem, beta, threshold, out[t, lo:hi], as_spikes)
    return mem


@numba.njit(inline="always", cache=True)
def _carry_back(upstream, row, carried, beta, slope):  # pragma: no cover - compiled
    """One step of the backward, newest first: `row` holds mem − thr and becomes the current's
    gradient; `carried` holds the next step's gradient and becomes this one's."""
    for j in range(row.shape[0]):
        d = slope * abs(row[j]) + _ONE
        g = upstream[j] / (d * d) + beta * carried[j]
        row[j] = g
        carried[j] = g


@numba.njit(parallel=True, cache=True, nogil=True)
def lif_forward(current, beta, threshold, spikes):  # pragma: no cover - compiled
    """current (T, N) float32 → spikes (T, N) in {0, 1}."""
    n = current.shape[1]
    for block in numba.prange((n + BLOCK - 1) // BLOCK):
        _sweep(current, beta, threshold, block * BLOCK, min(n, (block + 1) * BLOCK), spikes, True)


@numba.njit(parallel=True, cache=True, nogil=True)
def lif_backward(current, grad_spikes, beta, threshold, slope, grad_current):  # pragma: no cover
    """The gradient of the loss with respect to every I_t, into grad_current (T, N).

    The membranes are recomputed from the saved current rather than saved by the forward: a
    (T, N) buffer the forward would write and fault in, for a pass that is cheap here. They go
    into grad_current as mem − thr, then a pass from the newest step back turns each into its
    gradient in place. The fast-sigmoid surrogate stands in for the spike's derivative,
    1 / (k·|mem − thr| + 1)², and the membrane carries β times the next step's gradient back
    (the reset carries none):
        g_mem_t = grad_spike_t / (k·|mem_t − thr| + 1)² + β·g_mem_{t+1};   grad I_t = g_mem_t
    """
    steps, n = current.shape
    for block in numba.prange((n + BLOCK - 1) // BLOCK):
        lo = block * BLOCK
        hi = min(n, lo + BLOCK)
        carried = _sweep(current, beta, threshold, lo, hi, grad_current, False)
        carried[:] = _ZERO  # the membranes are spent: their block carries the gradient back
        for t in range(steps - 1, -1, -1):
            _carry_back(grad_spikes[t, lo:hi], grad_current[t, lo:hi], carried, beta, slope)


# -- 2×2 average pooling, alone and fused with the neurons before it ---------------------------------
# Pooling is here, not in a module of its own, because numba's disk cache keys a kernel on its
# own file only: a helper in another file could change without recompiling its callers.
# The arithmetic is torch's channels-last CPU kernels', one rounding per op: the window's sum
# starts at 0 and adds it row by row, then divides by 4; the backward adds gradient / 4 into a
# zeroed input gradient (0 + q, which turns −0 into +0). Same bits as `F.avg_pool2d` and its
# backward (tests/snn/test_pool.py, test_lif.py). Rows are (W, C) flattened: channels-last.


@numba.njit(inline="always", cache=True)
def _as_is(x):  # pragma: no cover - compiled
    return x


@numba.njit(inline="always", cache=True)
def _spike_of(shifted):  # pragma: no cover - compiled
    """A neuron's spike from its mem − thr: _step's own test."""
    return _ONE if shifted > _ZERO else _ZERO


@numba.njit(inline="always", cache=True)
def _pool_rows(top, bottom, dst, cols, channels, value=_as_is):  # pragma: no cover - compiled
    """Two input rows (2·cols·C each) → one output row (cols·C): each window's mean of
    value(x) (the inputs themselves, or the spikes of rows of mem − thr)."""
    for w in range(cols):
        left, right, o = 2 * w * channels, (2 * w + 1) * channels, w * channels
        for k in range(channels):
            dst[o + k] = ((((_ZERO + value(top[left + k])) + value(top[right + k])) + value(bottom[left + k]))
                          + value(bottom[right + k])) / _FOUR


@numba.njit(inline="always", cache=True)
def _spread_rows(grad, top, bottom, cols, channels):  # pragma: no cover - compiled
    """One output row's gradient (cols·C) → its two input rows' (2·cols·C each), every element
    of a window written once with 0 + g / 4 (no zero fill first)."""
    for w in range(cols):
        left, right, o = 2 * w * channels, (2 * w + 1) * channels, w * channels
        for k in range(channels):
            q = _ZERO + grad[o + k] / _FOUR
            top[left + k] = q
            top[right + k] = q
            bottom[left + k] = q
            bottom[right + k] = q


@numba.njit(parallel=True, cache=True, nogil=True)
def avg_pool_forward(x, out):  # pragma: no cover - compiled
    """x (N, H, W, C) → out (N, H/2, W/2, C), one output row per parallel task."""
    n, rows, cols, channels = out.shape
    width = 2 * cols * channels
    for task in numba.prange(n * rows):
        i, h = task // rows, task % rows
        _pool_rows(x[i, 2 * h].reshape(width), x[i, 2 * h + 1].reshape(width),
                   out[i, h].reshape(cols * channels), cols, channels)


@numba.njit(parallel=True, cache=True, nogil=True)
def avg_pool_backward(grad_out, grad_in):  # pragma: no cover - compiled
    """grad_out (N, H/2, W/2, C) → grad_in (N, H, W, C)."""
    n, rows, cols, channels = grad_out.shape
    width = 2 * cols * channels
    for task in numba.prange(n * rows):
        i, h = task // rows, task % rows
        _spread_rows(grad_out[i, h].reshape(cols * channels), grad_in[i, 2 * h].reshape(width),
                     grad_in[i, 2 * h + 1].reshape(width), cols, channels)


# One layer's neurons, the 2×2 pooling after them and the pooled layer's own neurons (the seed
# network follows every pooling with neurons) in one pass. The current is (T, B, H, W, C) in
# memory, flattened to (T, N); a task is one sample's pair of rows 2h, 2h+1: 2·W·C neurons,
# contiguous, whose spikes pool into one row of W/2·C currents for the second layer. Neither the
# first layer's spikes nor the pooled current leave the task; backward recomputes both forward in
# time, then carries both gradients back in one reverse pass: the second layer's, spread over
# each window, is the first layer's upstream gradient.


@numba.njit(inline="always", cache=True)
def _step_pool_step(row, mem, beta, threshold, shifted, pooled, mem2, beta2, threshold2, dst2,
                    half, cols, channels, as_spikes):  # pragma: no cover - compiled
    """One time step of a task: the first layer's mem − thr into `shifted`, its spikes' window
    means into `pooled`, then the second layer's step on them into `dst2` (spikes, or mem − thr)."""
    _step(row, mem, beta, threshold, shifted, False)
    _pool_rows(shifted[:half], shifted[half:], pooled, cols, channels, _spike_of)
    _step(pooled, mem2, beta2, threshold2, dst2, as_spikes)


@numba.njit(parallel=True, cache=True, nogil=True)
def lif_pool_lif_forward(current, beta, threshold, beta2, threshold2, spikes2,
                         width, channels):  # pragma: no cover - compiled
    """current (T, B·H·W·C) → the pooled layer's spikes (T, B·H/2·W/2·C): at each step the
    first layer's mem − thr (a scratch row), its spikes' window means, and the second layer's
    neurons on those means."""
    steps = current.shape[0]
    half = width * channels
    out_span = (width // 2) * channels
    for task in numba.prange(current.shape[1] // (2 * half)):
        lo, out = task * 2 * half, task * out_span
        mem = np.zeros(2 * half, np.float32)
        shifted = np.empty(2 * half, np.float32)
        pooled = np.empty(out_span, np.float32)
        mem2 = np.zeros(out_span, np.float32)
        for t in range(steps):
            _step_pool_step(current[t, lo:lo + 2 * half], mem, beta, threshold, shifted, pooled, mem2,
                            beta2, threshold2, spikes2[t, out:out + out_span], half, width // 2, channels, True)


@numba.njit(parallel=True, cache=True, nogil=True)
def lif_pool_lif_backward(current, grad_spikes2, beta, threshold, slope, beta2, threshold2, slope2,
                          grad_current, width, channels):  # pragma: no cover - compiled
    """The gradient with respect to every I_t (T, B·H·W·C) from the second layer's spike
    gradient (T, B·H/2·W/2·C): lif_backward of the second layer, whose current's gradient is
    spread over each window (0 + g / 4) as the first layer's spike gradient, then lif_backward
    of the first, step by step from the newest."""
    steps = current.shape[0]
    half = width * channels
    out_span = (width // 2) * channels
    for task in numba.prange(current.shape[1] // (2 * half)):
        lo, out = task * 2 * half, task * out_span
        mem = np.zeros(2 * half, np.float32)
        upstream = np.empty(2 * half, np.float32)  # the first layer's spike gradient at one step
        pooled = np.empty(out_span, np.float32)
        mem2 = np.zeros(out_span, np.float32)
        shifted2 = np.empty((steps, out_span), np.float32)  # the second layer's mem − thr
        for t in range(steps):  # the forward again, mem − thr kept: the first layer's in grad_current
            _step_pool_step(current[t, lo:lo + 2 * half], mem, beta, threshold, grad_current[t, lo:lo + 2 * half],
                            pooled, mem2, beta2, threshold2, shifted2[t], half, width // 2, channels, False)
        mem[:] = _ZERO  # spent: from here they carry each layer's gradient back
        mem2[:] = _ZERO
        for t in range(steps - 1, -1, -1):
            _carry_back(grad_spikes2[t, out:out + out_span], shifted2[t], mem2, beta2, slope2)
            _spread_rows(shifted2[t], upstream[:half], upstream[half:], width // 2, channels)
            _carry_back(upstream, grad_current[t, lo:lo + 2 * half], mem, beta, slope)
