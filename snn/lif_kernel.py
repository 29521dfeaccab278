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


@numba.njit(inline="always", cache=True)
def _sweep(current, beta, threshold, lo, hi, out, as_spikes):  # pragma: no cover - compiled
    """Neurons lo..hi through every step, from mem = 0: the one place the recurrence is written.
    Writes each step's spike (as_spikes) or mem − thr into out; returns the block's membranes
    (a scratch array the caller may reuse).

    Per neuron (snn.Leaky, reset by subtraction, reset delayed one step):
        reset  = 1 if mem − thr > 0 else 0       # detached: no gradient flows through it
        mem    = (β·mem + I_t) − reset·thr
        spike  = 1 if mem − thr > 0 else 0
    """
    mem = np.zeros(hi - lo, np.float32)
    for t in range(current.shape[0]):
        # 1-d row slices, not current[t, j]: LLVM vectorises this inner loop and not the
        # two-index one (2.5-3x faster here, both loops, the same bits).
        row, dst = current[t, lo:hi], out[t, lo:hi]
        for j in range(hi - lo):
            m = mem[j]
            reset = _ONE if m - threshold > _ZERO else _ZERO
            m = (beta * m + row[j]) - reset * threshold
            shifted = m - threshold
            if as_spikes:
                dst[j] = _ONE if shifted > _ZERO else _ZERO
            else:
                dst[j] = shifted
            mem[j] = m
    return mem


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
            upstream, row = grad_spikes[t, lo:hi], grad_current[t, lo:hi]  # row slices: vectorised
            for j in range(hi - lo):
                d = slope * abs(row[j]) + _ONE
                g = upstream[j] / (d * d) + beta * carried[j]
                row[j] = g
                carried[j] = g
