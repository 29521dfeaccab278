"""The seed network and DVS Gesture as plug-ins: the harness's defaults, built through the same
contract as any user's model and data set (bench.plugins.model, bench.plugins.dataset).

    model = "snn.plugin:seed_network"     the `model` setting's default
    dataset = "snn.plugin:dvs_gesture"    the `dataset` setting's default
    snn.plugin:notebook_deepr, :exact_deepr   deepr:notebook and deepr:exact, made by the
                                          rewiring-rule factory contract as a user's rule is

The harness imports neither snn.model nor snn.data.dvsgesture: it reaches them only through these
two factories, so the seed network has no path into the measurements that a user's lacks.
"""

from __future__ import annotations

from bench.plugins.dataset import DatasetContext, DatasetSpec, EventInfo
from bench.plugins.model import ModelContext, ModelSpec
from bench.plugins.reference import PluginError
from bench.plugins.rewiring import Rewired
from snn.config import NetConfig
from snn.data.dvsgesture import data_fingerprint, open_split, resolve_data_root
from snn.data.synth import ensure_synthetic
from snn.data.transforms import build_transform
from snn.deepr import ExactDeepR, NotebookDeepR
from snn.model import SeedNet
from snn.names import FORWARDS, FUSED_NEURONS, SENSOR_SIZE

NUM_CLASSES = 11  # DVS Gesture's gestures

# What `snn-bench profile` reads line by line, by import path (a spawned DataLoader worker, which
# shares no memory with the parent, resolves the same set).
SEED_FORWARD_LINES = (
    "snn.model:SeedNet.forward_reference",
    "snn.model:SeedNet.forward_layerwise",  # multistep and fused
    "snn.model:SeedNet._neurons_stepwise",
    "snn.lif:_LIFScan.forward",  # fused: its compiled loop is one line here
    "snn.lif:_LIFScan.backward",
    "snn.lif:_LIFPoolLIFScan.forward",  # fused conv2d: neurons, pooling, neurons in one pass
    "snn.lif:_LIFPoolLIFScan.backward",
    "snn.pool:_AvgPool2x2.forward",  # fused conv2d: pooling into kept buffers
    "snn.pool:_AvgPool2x2.backward",
    "snntorch._neurons.leaky:Leaky.forward",  # the neuron step
)
DVS_GESTURE_LINES = (
    "snn.data.dvsgesture:CheckedDVSGesture.__getitem__",
    "tonic.datasets.dvsgesture:DVSGesture.__getitem__",
    "tonic.transforms:Compose.__call__",
    "tonic.transforms:Denoise.__call__",
    "tonic.transforms:Downsample.__call__",
    "tonic.transforms:ToFrame.__call__",
    "tonic.functional.to_frame:to_frame_numpy",
    "snn.data.framing:frames_by_bincount",
    "snn.data.framing:frames_by_loop",  # its compiled loop is one line here
    "tonic.collation:PadTensors.__call__",
)


def seed_config(context: ModelContext, **net) -> NetConfig:
    """The seed network's config for a point: its preset from the `layer_type` setting, the data
    set's frame shape and classes; `net` overrides fields (a library port's forward). The seed
    network and its ports (snn.libraries) read it here, so they are built alike."""
    return NetConfig(**{"layer_type": context.settings.layer_type, "num_steps": context.num_steps,
                        "input_shape": tuple(context.sample_shape[1:]), "num_classes": context.num_classes,
                        "forward": context.forward, **net})


def seed_network(context: ModelContext) -> ModelSpec:
    """The user's network (snn.model.SeedNet), its preset from the `layer_type` setting; the model
    option input_gain scales its first layer's init (snn.config.NetConfig.input_gain)."""
    context.refuse_unknown_options(("input_gain",))
    gain = context.option("input_gain", 1.0)
    if isinstance(gain, bool) or not isinstance(gain, (int, float)) or not gain > 0:
        raise PluginError(f"model_options input_gain = {gain!r} must be a positive number (the first "
                          "layer's init multiplier, e.g. model_options = {{ input_gain = 0.1 }})")
    net = SeedNet(seed_config(context, input_gain=float(gain)))
    # fused and sparse run the neurons in snn.lif's kernel, which implements snn.Leaky with the
    # fast-sigmoid surrogate only (NetConfig refuses the others)
    forwards = FORWARDS if net.cfg.surrogate == "fast_sigmoid" else tuple(f for f in FORWARDS if f not in FUSED_NEURONS)
    return ModelSpec(module=net, layout="TBC", rewirable=[layer.weight for layer in net.weight_layers()],
                     neurons=net.workload_taps(), forwards=forwards, line_targets=SEED_FORWARD_LINES)


def dvs_gesture(context: DatasetContext) -> DatasetSpec:
    """DVS Gesture from the data root, read by tonic's own loader and framed as the point says;
    the bundled synthetic set is written first when the data root names it."""
    context.refuse_unknown_options(())
    if context.synthetic and context.data_root is not None:
        ensure_synthetic(context.data_root)
    root = resolve_data_root(context.data_root)
    transform = build_transform(context.frames)
    train = open_split(root, train=True, transform=transform, bad_samples=context.bad_samples)
    test = open_split(root, train=False, transform=transform, bad_samples=context.bad_samples)
    return DatasetSpec(train=train, test=test, num_classes=NUM_CLASSES, fingerprint=data_fingerprint(root),
                       sample_shape=(context.frames.n_time_bins, *context.frames.frame_shape),
                       events=EventInfo(sensor_size=SENSOR_SIZE), root=root,
                       line_targets=DVS_GESTURE_LINES, skipped=train.skipped)


def _layers(context) -> list[Rewired]:
    """The context's parameters as snn.deepr reads layers (each its `weight`)."""
    return [Rewired(f"rewired parameter {i}", p) for i, p in enumerate(context.parameters)]


def notebook_deepr(context):
    """deepr:notebook, the user's DeepR as written, over the context's parameters."""
    return NotebookDeepR(_layers(context), context.connectivity, context.lr, context.seed)


def exact_deepr(context):
    """deepr:exact (Bellec et al., Algorithm 1) with the point's DeepR settings."""
    return ExactDeepR(_layers(context), context.deepr, context.optimiser)
