"""The names of `snn`'s choices, in a module that imports nothing heavy.

The harness validates settings and renders reports from these without loading torch or tonic;
the modules that implement each choice import their tuple from here, so a name is defined once.
"""

from __future__ import annotations

LAYER_TYPES = ("conv2d", "conv1d", "linear")  # snn.model presets
FORWARDS = ("reference", "multistep", "fused", "sparse")  # snn.model forward passes; reference = the notebook loop
FUSED_NEURONS = ("fused", "sparse")  # the forwards whose neurons run over all T in one call
SURROGATE_NAMES = ("fast_sigmoid", "atan", "sigmoid")  # snn.model.SURROGATES, snnTorch's surrogates
FRAMINGS = ("tonic", "bincount", "compiled")
# Approximate arithmetic (snn.approx): "as_built" computes what the reference computes; the others do
# not, so they are judged by accuracy (time-to-accuracy in a study), never by equality.
APPROXIMATIONS = ("as_built", "bf16", "sparseprop")
# How a training step gets its batch: the notebook's next(iter(loader)) at every step, or one
# iterator kept across steps (snn.data.loader).
LOADINGS = ("next_iter", "persistent")
# Whether frames are cached: framed from the events at every read ("off"), or read from the
# frame cache (snn.data.frame_cache), filled before timing ("frames").
FRAME_CACHES = ("off", "frames")  # snn.data.transforms; tonic = the user's Downsample + ToFrame
# snn.deepr; notebook = the user's code; custom = a rule of the user's (bench.plugins.rewiring)
DEEPR_VARIANTS = ("none", "notebook", "exact", "custom")
# The labelled stages of one training step, in order (snn.train).
STAGES = ("data_wait", "h2d", "forward", "loss", "backward", "optimiser", "rewiring")
# tonic.datasets.DVSGesture.sensor_size, (W, H, P); tests/snn/test_names.py checks it against tonic.
SENSOR_SIZE = (128, 128, 2)
# The optimisers a point can train with, and how DeepR's learning rate follows connectivity:
# "per_connectivity" divides lr by the connectivity (the user's notes: lower connectivity wants
# about lr / connectivity).
OPTIMISERS = ("adam", "sgd")
LR_RULES = ("fixed", "per_connectivity")
# DeepR's initial active weights: the dense init rescaled by 1/sqrt(c), or only masked.
SPARSE_INITS = ("rescaled", "masked")
# What a loader does with an event file that fails its checks (snn.data.events).
BAD_SAMPLE_POLICIES = ("error", "skip")
# The environment variable naming a DVS Gesture data root when none is passed.
DATA_ROOT_ENV = "SNN_BENCH_DATA"
