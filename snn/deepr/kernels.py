"""Exact DeepR's CPU update as two compiled loops over one flat buffer of rewired weights.

`deaths` (Algorithm 1, step 2, optionally with the L1 and noise terms of step 1): per position,
θ = s·w; an active connection with θ < 0 goes dormant; w ends as s·θ where active and 0 where
dormant. As torch ops this is five to eight passes over the buffer, most of them producing bool
tensors, which cost 5–8 in-place float passes each on the CPU. One loop reads w, s and the mask
once and writes w and the mask once, and a count reads the mask 8 bytes at a time: about 1.6
such passes in all (`make bench-deepr`).

`revive` (step 3) reactivates, per budget group, exactly as many dormant connections as are
missing from K, uniformly without replacement, drawing from its own stream (`uniform`):
- most groups are mostly dormant: rejection sampling, marking each accepted position active at
  once so that a repeated draw is rejected like an active one. Every accepted draw is uniform
  over the dormant positions not yet taken, so the set is a uniform sample without replacement;
- a group less than a quarter dormant: its dormant positions listed, then a partial
  Fisher–Yates shuffle (rejection would waste most draws).

Only CPU tensors of float32/float64 take this path (`snn.deepr.exact.compiled_path_for`): numpy
has no bf16, and numba compiles no float16 arithmetic here. Everything else takes the torch ops
in `snn.deepr.exact`, which keep the same invariants. Importing this module imports numba
(about 0.3 s), so `snn.deepr.exact` imports it only when a CPU update first needs it. Compiled
code is cached on disk by numba (`NUMBA_CACHE_DIR` moves the cache).
"""

from __future__ import annotations

import numba
import numpy as np

from snn import numba_cache

numba_cache.install()  # a damaged cache entry recompiles instead of failing every run

jit = numba.njit(cache=True, nogil=True)


# One range per call: with the range's bounds as the loop's own, LLVM vectorises it; a
# loop over ranges around the same body ran 12x slower. The count is a separate pass: a
# bool-to-int reduction inside the loop made it run at 2.3 floors instead of 1.4.
@jit
def range_deaths(w, sign, active):  # pragma: no cover - compiled
    for i in range(w.shape[0]):
        keep = active[i] & (w[i] * sign[i] >= 0)
        w[i] = w[i] if keep else 0.0
        active[i] = keep
    return count_true(active)


@jit
def range_noisy_deaths(w, sign, active, shift, noise, scale):  # pragma: no cover
    # θ ← θ − ηα + √(2ηT)·ν in the weights' dtype, in the order the torch ops apply it.
    has_noise = noise.shape[0] > 0
    for i in range(w.shape[0]):
        theta = w[i] * sign[i] - shift
        if has_noise:
            theta = theta + noise[i] * scale
        keep = active[i] & (theta >= 0)
        w[i] = theta * sign[i] if keep else 0.0
        active[i] = keep
    return count_true(active)


_S32, _S16, _S8, _BYTE = np.uint64(32), np.uint64(16), np.uint64(8), np.uint64(0xFF)


@jit
def _count_bytes(words):  # pragma: no cover - compiled
    """Sum of the bytes of uint64 words whose bytes are each 0 or 1 (so each word sums to ≤ 8)."""
    total = np.uint64(0)
    for k in range(words.shape[0]):
        x = words[k]
        x = x + (x >> _S32)
        x = x + (x >> _S16)
        x = x + (x >> _S8)
        total += x & _BYTE
    return total


@jit
def count_true(flags):  # pragma: no cover - compiled
    """True entries of a bool array, 8 at a time: about a quarter of an in-place float pass."""
    b = flags.view(np.uint8)
    whole = (b.shape[0] // 8) * 8
    total = np.int64(_count_bytes(b[:whole].view(np.uint64)))
    for i in range(whole, b.shape[0]):
        total += b[i]
    return total


@jit
def deaths(w, sign, active, layer_ends, counts, shift, noise, scale):  # pragma: no cover
    """Deaths over every layer's range of the buffer; counts[l] = layer l's active count after.
    With shift = 0 and no noise (`noise` of length 0), θ is not rewritten."""
    plain = shift == 0 and noise.shape[0] == 0
    start = 0
    for r in range(layer_ends.shape[0]):
        end = layer_ends[r]
        if plain:
            counts[r] = range_deaths(w[start:end], sign[start:end], active[start:end])
        else:
            counts[r] = range_noisy_deaths(w[start:end], sign[start:end], active[start:end],
                                           shift, noise[start:end] if noise.shape[0] else noise,
                                           scale)
        start = end


# SplitMix64 (Steele, Lea & Flood, OOPSLA 2014; java.util.SplittableRandom), whose output
# passes BigCrush. numba also takes a numpy Generator, but unboxing one costs about 40 µs a
# call: more than the whole update of the seed network. Its state is one uint64 in an array.
_GOLDEN, _MIX1, _MIX2 = np.uint64(0x9E3779B97F4A7C15), np.uint64(0xBF58476D1CE4E5B9), np.uint64(0x94D049BB133111EB)
_R30, _R27, _R31, _R11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)


@jit
def uniform(state):  # pragma: no cover - compiled
    """The next draw of the stream in `state` (uint64[1], advanced in place), in [0, 1) with 53 bits."""
    state[0] += _GOLDEN
    z = state[0]
    z = (z ^ (z >> _R30)) * _MIX1
    z = (z ^ (z >> _R27)) * _MIX2
    z = z ^ (z >> _R31)
    return (z >> _R11) * (1.0 / 9007199254740992.0)


def new_stream(seed: int) -> np.ndarray:
    """A SplitMix64 state for `uniform`, from a 64-bit seed (e.g. snn.seeds.stream_seed)."""
    return np.array([seed & 0xFFFFFFFFFFFFFFFF], dtype=np.uint64)


@jit
def revive(w, sign, active, epsilon, layer_ends, counts, group_ends, targets, rng, chosen,
           scratch):  # pragma: no cover - compiled
    """Tops each budget group up to its K from its dormant positions, uniformly without
    replacement, drawing from the SplitMix64 state `rng` (see `uniform`).

    A group is a run of layers ending at group_ends[g]; counts are per layer, after deaths.
    Sets w = s·ε at each revived position and records it in `chosen`. Returns (taken, excess):
    how many were revived, and whether some group has more than K active (a schedule lowered
    K; the caller prunes). `scratch` holds a group's dormant positions when fewer than a
    quarter are dormant; it may be empty when no group can get there.
    """
    taken = 0
    excess = False
    layer = 0
    start = 0
    for g in range(group_ends.shape[0]):
        end = group_ends[g]
        length = end - start
        count = 0
        while layer < layer_ends.shape[0] and layer_ends[layer] <= end:
            count += counts[layer]
            layer += 1
        missing = targets[g] - count
        excess |= missing < 0
        if missing > 0 and 4 * (length - count) < length:  # few dormant: list, shuffle
            m = 0
            for i in range(start, end):
                if not active[i]:
                    scratch[m] = i
                    m += 1
            for k in range(missing):  # partial Fisher–Yates over the listed positions
                j = k + min(int(uniform(rng) * (m - k)), m - k - 1)
                scratch[k], scratch[j] = scratch[j], scratch[k]
                i = scratch[k]
                active[i] = True
                if epsilon != 0:  # at ε = 0 the death pass already left w[i] = 0
                    w[i] = sign[i] * epsilon
                chosen[taken] = i
                taken += 1
        elif missing > 0:  # rejection: a draw on an active (or just revived) position is redrawn
            while missing > 0:
                i = start + min(int(uniform(rng) * length), length - 1)
                if not active[i]:
                    active[i] = True
                    if epsilon != 0:
                        w[i] = sign[i] * epsilon
                    chosen[taken] = i
                    taken += 1
                    missing -= 1
        start = end
    return taken, excess
