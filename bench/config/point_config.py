"""Normalised settings (bench.settings) → the nested `PointConfig` a point is built from.

The one function that knows where each flat setting goes: `num_steps` sets both the network's
time loop and the framed time bins, `lr` and `seed` feed Adam, DeepR and the loader from one
value each, and the variant picks each component's implementation.
"""

from __future__ import annotations

from bench.point import PointConfig
from bench.settings import data_path, effective_lr, frame_cache_root, normalise
from bench.variants import parse_variant
from snn.data.loader import LoaderConfig
from snn.data.transforms import FrameConfig
from snn.deepr import DeepRConfig
from snn.model import NetConfig
from snn.seeds import stream_seed


def point_config(settings: dict) -> PointConfig:
    """The nested config of a point's settings (normalised here; SettingError when invalid)."""
    s = normalise(settings)
    variant = parse_variant(s["variant"])
    lr = effective_lr(s)  # the one learning rate: Adam's or SGD's, and DeepR's η
    cached = variant.of("cache") == "frames"  # frames from the cache, int16 until the device
    frames = FrameConfig(frame_size=s["frame_size"], n_time_bins=s["num_steps"],
                         framing=variant.of("framing"))
    return PointConfig(
        data_root=data_path(s["data_root"]),
        bad_samples=s["bad_samples"],
        net=NetConfig(layer_type=s["layer_type"], num_steps=s["num_steps"],
                      input_shape=frames.frame_shape, forward=variant.of("forward")),
        frames=frames,
        loader=LoaderConfig(batch_size=s["batch_size"], num_workers=s["num_workers"],
                            pin_memory=s["pin_memory"], seed=stream_seed(s["seed"], "data"),
                            persistent_workers=s["persistent_workers"] and s["num_workers"] > 0,
                            endless=s["endless_sampler"], loading=variant.of("loading"),
                            collate="stack" if cached else "pad"),
        frame_cache=str(frame_cache_root()) if cached else None,
        deepr=DeepRConfig(variant=variant.of("deepr"), connectivity=s["connectivity"],
                          l1=s["l1"], temperature=s["temperature"], lr=lr, seed=s["seed"],
                          sparse_init=s["sparse_init"]),
        # (DeepR splits its seed into its own streams; the loader's order and the weights each
        # get another: snn.seeds)
        device=s["device"],
        threads=s["threads"],
        flush_denormal=s["flush_denormal"],
        lr=lr,
        optimiser=s["optimiser"],
        warmup_steps=s["warmup_steps"],
        workload_batches=s["workload_batches"],
        measured_steps=s["measured_steps"],
        seed=s["seed"],
    )
