"""The LIF recurrence over all T as two compiled loops (numba), imported when a fused forward
first runs on the CPU.

Each loop walks one block of neurons through every time step, the block's membranes kept in a
small array: the block's T rows are read once and written once, where the op-by-op recurrence
makes five to eight passes over every (B, ...) slice per step. Blocks run in parallel
(`prange`), on as many threads as torch uses (`snn.lif`).

Fresh (T, N) buffers are the other cost: glibc maps every allocation over 32 MiB anew, and
faulting in the first layer's 47 MB (seed net, batch 16, T = 60) took longer than the loop
itself (30 ms against 14, 2 threads). So the forward writes only the spikes and the backward
recomputes the membranes into the gradient's own buffer (`lif_backward`).

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


# -- one layer's neurons and the 2×2 average pooling after them, in one pass ----------------------
# The current is (T, B, H, W, C) in memory (channels-last samples), flattened to (T, N); a task is
# one sample's pair of rows 2h, 2h+1: 2·W·C neurons, contiguous, whose spikes pool into one output
# row of W/2·C. The spikes never leave the task's scratch row: the layer's (T, N) spikes are
# neither written nor read back, and backward reads the pooled gradient directly. The pooling's
# arithmetic is torch's (snn.pool_kernel): (((0 + s00) + s01) + s10) + s11, then / 4; backward
# 0 + g / 4 into each of the window's spikes.


@numba.njit(parallel=True, cache=True, nogil=True)
def lif_pool_forward(current, beta, threshold, pooled, width, channels):  # pragma: no cover - compiled
    """current (T, B·H·W·C) → pooled (T, B·H/2·W/2·C): each window's mean spike."""
    steps = current.shape[0]
    span = 2 * width * channels  # one task's neurons: two input rows
    out_span = (width // 2) * channels  # its output row
    tasks = current.shape[1] // span
    for task in numba.prange(tasks):
        lo = task * span
        mem = np.zeros(span, np.float32)
        spikes = np.empty(span, np.float32)
        for t in range(steps):
            _step(current[t, lo:lo + span], mem, beta, threshold, spikes, True)
            top, bottom = spikes[:span // 2], spikes[span // 2:]
            dst = pooled[t, task * out_span:(task + 1) * out_span]
            for w in range(width // 2):
                left, right, o = 2 * w * channels, (2 * w + 1) * channels, w * channels
                for k in range(channels):
                    dst[o + k] = ((((_ZERO + top[left + k]) + top[right + k]) + bottom[left + k])
                                  + bottom[right + k]) / _FOUR


@numba.njit(parallel=True, cache=True, nogil=True)
def lif_pool_backward(current, grad_pooled, beta, threshold, slope, grad_current,
                      width, channels):  # pragma: no cover - compiled
    """The gradient with respect to every I_t (T, B·H·W·C), from the pooled gradient
    (T, B·H/2·W/2·C): lif_backward with each spike's gradient read as 0 + g / 4 of its window."""
    steps = current.shape[0]
    span = 2 * width * channels
    out_span = (width // 2) * channels
    tasks = current.shape[1] // span
    for task in numba.prange(tasks):
        lo = task * span
        carried = _sweep(current, beta, threshold, lo, lo + span, grad_current, False)
        carried[:] = _ZERO
        upstream = np.empty(span, np.float32)
        for t in range(steps - 1, -1, -1):
            g = grad_pooled[t, task * out_span:(task + 1) * out_span]
            for w in range(width // 2):
                left, right, o = 2 * w * channels, (2 * w + 1) * channels, w * channels
                for k in range(channels):
                    q = _ZERO + g[o + k] / _FOUR
                    upstream[left + k] = q
                    upstream[right + k] = q
                    upstream[span // 2 + left + k] = q
                    upstream[span // 2 + right + k] = q
            _carry_back(upstream, grad_current[t, lo:lo + span], carried, beta, slope)
