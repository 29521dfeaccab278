"""Synthetic DVS Gesture: event files in exactly the on-disk layout tonic 1.7's `DVSGesture` reads.

The real dataset cannot be downloaded everywhere (CI, air-gapped clusters), so the suite writes a
stand-in that the *unpatched* tonic loader accepts:

    <root>/DVSGesture/ibmGestureTrain.tar.gz          placeholder (tonic only checks it is a file)
    <root>/DVSGesture/ibmGestureTrain/userNN_<lighting>/<class>.npy
    <root>/DVSGesture/ibmGestureTest.tar.gz
    <root>/DVSGesture/ibmGestureTest/userNN_<lighting>/<class>.npy
    <root>/DVSGesture/SYNTHETIC.json                   what wrote it, with which settings

Each `.npy` is an int32 array (N, 4) with columns x, y, p, t (t in milliseconds, ascending), as in
the real files; users 1–23 train and 24–29 test. Each of the eleven classes is a distinct motion
(two hands clapping, a hand waving on one side, an arm circling one way or the other, …) drawn as
Gaussian blobs of events whose polarity marks the leading (ON) or trailing (OFF) edge, plus
uniform background noise. Every sample is drawn from its own generator seeded by
(seed, split, class, index), so a file's content does not depend on which others were written.
"""

from __future__ import annotations

import io
import json
import os
import shutil
import tarfile
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from snn.errors import UserError
from snn.files import replace_folder

SENSOR = 128  # DVS128: 128×128 pixels, 2 polarities
NUM_CLASSES = 11
TRAIN_USERS = tuple(range(1, 24))
TEST_USERS = tuple(range(24, 30))
LIGHTINGS = ("fluorescent", "fluorescent_led", "lab", "led", "natural")
SPLITS = {"train": ("ibmGestureTrain", TRAIN_USERS), "test": ("ibmGestureTest", TEST_USERS)}
# tonic decides the data is absent (and starts a download) below this many files per split.
TONIC_MIN_FILES = 100
MANIFEST = "SYNTHETIC.json"
PARTIAL_PREFIX = ".DVSGesture.partial-"  # a writer's staging folder, beside DVSGesture/


class SynthConfigError(UserError, ValueError):
    """A synthetic-data setting that cannot be written (e.g. fewer files than tonic needs)."""


class RealDataPresentError(UserError, FileExistsError):
    """The chosen root already holds DVS Gesture data that this tool did not write."""


@dataclass(frozen=True)
class SynthConfig:
    """How much synthetic data to write. Defaults suit benchmarks (real-sized samples)."""

    train_per_class: int = 10
    test_per_class: int = 10
    mean_events: int = 300_000  # real samples hold ~1e5–1e6 events
    duration_ms: tuple[int, int] = (5_000, 9_000)  # real samples last ~5–9 s
    noise_fraction: float = 0.1
    seed: int = 0

    def validate(self) -> None:
        for split, per_class in (("train", self.train_per_class), ("test", self.test_per_class)):
            users = SPLITS[split][1]
            most = len(users) * len(LIGHTINGS)  # one <class>.npy per user/lighting folder
            least = -(-TONIC_MIN_FILES // NUM_CLASSES)
            if not least <= per_class <= most:
                raise SynthConfigError(
                    f"{split}_per_class={per_class} is impossible: tonic needs at least "
                    f"{TONIC_MIN_FILES} files per split (so at least {least} per class), and "
                    f"{len(users)} {split} users × {len(LIGHTINGS)} lightings hold at most {most} "
                    f"per class; choose a value in [{least}, {most}]"
                )
        if self.mean_events < 10:
            raise SynthConfigError(f"mean_events must be at least 10, got {self.mean_events}")
        lo, hi = self.duration_ms
        if not 0 < lo <= hi:
            raise SynthConfigError(f"duration_ms must be (low, high) with 0 < low <= high, got {lo, hi}")
        if not 0.0 <= self.noise_fraction < 1.0:
            raise SynthConfigError(f"noise_fraction must lie in [0, 1), got {self.noise_fraction}")


@dataclass(frozen=True)
class GestureStyle:
    """Per-sample variation: where, how fast and how large the gesture is performed."""

    offset: np.ndarray  # (2,) pixel shift of the whole gesture
    freq: float  # Hz
    phase: float  # rad
    scale: float  # amplitude multiplier
    sigma: float  # blob radius in pixels
    wander: np.ndarray  # (3, 2, 2) random sinusoid terms for the "other gestures" class


def draw_style(rng: np.random.Generator) -> GestureStyle:
    return GestureStyle(
        offset=rng.uniform(-4, 4, size=2),
        freq=float(rng.uniform(0.8, 1.25)),
        phase=float(rng.uniform(0, 2 * np.pi)),
        scale=float(rng.uniform(0.9, 1.1)),
        sigma=float(rng.uniform(5.0, 7.0)),
        wander=rng.uniform(-1, 1, size=(3, 2, 2)),
    )


def _circle(center, radius, angle):
    return np.stack([center[0] + radius * np.cos(angle), center[1] + radius * np.sin(angle)], -1)


# How much faster an arm moves on its way down than on its way up (gravity): its angular speed
# is ω·(1 ± SWING) around the circle. It is what tells a clockwise circle from a counter-clockwise
# one over time, as in the real recordings: the arm lingers on the side where it rises, so the
# two directions leave their events on opposite halves of the circle, frame after frame.
SWING = 0.8


# Clockwise circles are drawn higher than counter-clockwise ones (pixels, y down). Lingering
# alone was not enough for the seed network: with every other class right, it confused each
# clockwise / counter-clockwise pair (82% test accuracy) once its output neurons saturated.
CIRCLE_HEIGHT = {1.0: -8, -1.0: 8}


def _arm_circle(center, radius, w, turn):
    """An arm circling `center`, turning +1 (y-down screen: clockwise) or -1, faster going down:
    θ = ψ + turn·SWING·sin ψ with ψ = turn·w gives |dθ/dt| = ω·(1 + turn·SWING·cos ψ), largest
    where the arm moves down (turn·cos θ > 0)."""
    psi = turn * w
    return _circle(center, radius, psi + turn * SWING * np.sin(psi))


# Where each gesture is performed on the 128×128 sensor: a 3×3 layout of places 40 pixels apart
# (10 at the seed network's 32×32), each motion staying within ±16 pixels of its place, so no two
# places' events overlap; the arms circling one way and the other share a place and differ by
# where they linger (_arm_circle).
ROWS, COLUMNS = (22, 64, 106), (24, 64, 104)


def gesture_centres(label: int, t_s: np.ndarray, blob: np.ndarray, style: GestureStyle) -> np.ndarray:
    """Blob centre (x, y) in pixels for each event: label's motion at times t_s (s) for blob 0/1."""
    w = 2 * np.pi * style.freq * t_s + style.phase
    a = style.scale
    side = np.where(blob == 0, -1.0, 1.0)
    top, middle, bottom = ROWS
    left, centre, right = COLUMNS
    if label == 0:  # hand clapping: two hands meet and part
        xy = np.stack([centre + side * (3 + 12 * a * np.abs(np.sin(0.75 * w))), np.full_like(w, middle)], -1)
    elif label in (1, 2):  # right / left hand wave, high on one side
        cx = right if label == 1 else left
        xy = np.stack([cx + 12 * a * np.sin(2 * w), top + 3 * np.cos(4 * w)], -1)
    elif label in (3, 4, 5, 6):  # right / left arm, clockwise / counter-clockwise
        cx = right if label in (3, 4) else left
        turn = 1.0 if label in (3, 5) else -1.0
        xy = _arm_circle((cx, middle + CIRCLE_HEIGHT[turn]), 14 * a, w, turn)
    elif label == 7:  # arm roll: both forearms circle each other in front of the body
        xy = _circle((centre, bottom), 7 * a, 2.5 * w + side * np.pi / 2)
    elif label == 8:  # air drums: hands strike alternately
        xy = np.stack([left + side * 9, bottom + 10 * a * np.sin(3 * w + (side + 1) * np.pi / 2)], -1)
    elif label == 9:  # air guitar: one hand strums, the other holds the neck
        strum = np.stack([np.full_like(w, right + 6), bottom + 9 * a * np.sin(4 * w)], -1)
        neck = np.stack([right - 10 + 2 * np.sin(w), bottom - 8 + 2 * np.cos(w)], -1)
        xy = np.where((blob == 0)[:, None], strum, neck)
    elif label == 10:  # other gestures: a smooth random path above the head
        amp, phase = style.wander[:, :, 0], style.wander[:, :, 1] * np.pi  # (3 harmonics, 2)
        k = np.arange(1, 4)[:, None, None]
        terms = amp[:, None, :] * np.sin(k * w[None, :, None] + phase[:, None, :])  # (3, N, 2)
        xy = np.array([centre, top]) + 12 * a * terms.sum(0) / 3
    else:
        raise ValueError(f"label must lie in [0, {NUM_CLASSES - 1}], got {label}")
    return xy + style.offset


def gesture_anchors(label: int, blob: np.ndarray, style: GestureStyle) -> np.ndarray:
    """Where each blob's limb is fixed (x, y): the shoulder or elbow the moving hand swings from."""
    top, middle, bottom = ROWS
    left, centre, right = COLUMNS
    side = np.where(blob == 0, -1.0, 1.0)
    if label == 0:
        xy = np.stack([centre + side * 18, np.full_like(side, middle + 12)], -1)
    elif label in (1, 2):
        xy = np.tile([right if label == 1 else left, top + 16], (len(blob), 1))
    elif label in (3, 4, 5, 6):
        turn = 1.0 if label in (3, 5) else -1.0
        xy = np.tile([right if label in (3, 4) else left, middle + CIRCLE_HEIGHT[turn]], (len(blob), 1))
    elif label == 7:
        xy = np.tile([centre, bottom], (len(blob), 1))
    elif label == 8:
        xy = np.stack([left + side * 9, np.full_like(side, bottom - 14)], -1)
    elif label == 9:
        xy = np.where((blob == 0)[:, None], [right + 6, bottom - 14], [right - 10, bottom - 8])
    elif label == 10:
        xy = np.tile([centre, top + 14], (len(blob), 1))
    else:
        raise ValueError(f"label must lie in [0, {NUM_CLASSES - 1}], got {label}")
    return xy.astype(float) + style.offset


# The share of a gesture's events on its moving limb (anchor to hand) rather than at the hand:
# it spreads them over the area the limb sweeps, as a real arm's edges do, so a 32×32 pixel of
# one time bin holds tens of events rather than hundreds (the seed network, fed raw counts,
# saturates on the latter and barely learns).
LIMB_FRACTION = 0.8


def synth_events(label: int, n_events: int, duration_ms: int, noise_fraction: float,
                 rng: np.random.Generator) -> np.ndarray:
    """One sample: int32 (N, 4) with columns x, y, p, t (ms, ascending)."""
    style = draw_style(rng)
    t_ms = np.sort(rng.integers(0, duration_ms, size=n_events))
    is_noise = rng.random(n_events) < noise_fraction
    blob = rng.integers(0, 2, size=n_events)
    # how far along its limb each event lies: 1 at the hand, below 1 on the forearm
    along = np.where(rng.random(n_events) < LIMB_FRACTION, rng.random(n_events), 1.0)[:, None]
    anchor = gesture_anchors(label, blob, style)
    t_s = t_ms / 1000.0
    hand = gesture_centres(label, t_s, blob, style)  # (N, 2)
    centre = anchor + along * (hand - anchor)
    # Velocity by a small finite difference; ON events lead the motion, OFF events trail it.
    velocity = along * (gesture_centres(label, t_s + 1e-3, blob, style) - hand)
    spread = rng.normal(0.0, style.sigma, size=(n_events, 2))
    xy = centre + spread
    polarity = (spread * velocity).sum(-1) > 0
    xy[is_noise] = rng.uniform(0, SENSOR, size=(int(is_noise.sum()), 2))
    polarity[is_noise] = rng.random(int(is_noise.sum())) < 0.5
    xy = np.clip(np.rint(xy), 0, SENSOR - 1)
    return np.stack([xy[:, 0], xy[:, 1], polarity, t_ms], -1).astype(np.int32)


def sample_folder(split: str, index: int) -> str:
    """The user/lighting folder of a class's index-th sample: users first, then lightings."""
    users = SPLITS[split][1]
    user = users[index % len(users)]
    lighting = LIGHTINGS[index // len(users)]
    return f"user{user:02d}_{lighting}"


def _placeholder_archive(path: Path) -> None:
    # A valid (tiny) tar.gz saying what it is: tonic only checks the file exists.
    payload = b"Synthetic DVS Gesture written by snn-bench; not the real archive.\n"
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as tar:
        info = tarfile.TarInfo("SYNTHETIC.txt")
        info.size = len(payload)
        tar.addfile(info, io.BytesIO(payload))
    path.write_bytes(buffer.getvalue())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def _remove_dead_partials(root: Path) -> None:
    """Folders left by a writer that was killed (its pid no longer runs)."""
    for partial in root.glob(f"{PARTIAL_PREFIX}*"):
        pid = partial.name.rsplit("-", 1)[-1]
        if not pid.isdigit() or not _alive(int(pid)):
            shutil.rmtree(partial, ignore_errors=True)


def write_synthetic_dvsgesture(root: str | Path, cfg: SynthConfig = SynthConfig()) -> dict:
    """Write the dataset under root/DVSGesture; returns the manifest (also saved as SYNTHETIC.json).

    Everything is written into a temporary sibling folder that is renamed into place last, so a
    writer killed partway leaves nothing in the way of the next one (which removes the leftover).
    Refuses to write over a folder that holds real DVS Gesture data.
    """
    cfg.validate()
    root = Path(root).expanduser()
    base = root / "DVSGesture"
    if base.exists() and not (base / MANIFEST).exists() and any(base.glob("ibmGesture*/**/*.npy")):
        raise RealDataPresentError(
            f"{base} already holds DVS Gesture data that this tool did not write; "
            "choose another --data-root for synthetic data"
        )
    root.mkdir(parents=True, exist_ok=True)
    _remove_dead_partials(root)
    staging = root / f"{PARTIAL_PREFIX}{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    counts = {}
    for split_index, (split, (folder, _)) in enumerate(SPLITS.items()):
        per_class = cfg.train_per_class if split == "train" else cfg.test_per_class
        for label in range(NUM_CLASSES):
            for index in range(per_class):
                rng = np.random.default_rng([cfg.seed, split_index, label, index])
                n_events = max(1, int(cfg.mean_events * rng.uniform(0.75, 1.25)))
                duration = int(rng.integers(cfg.duration_ms[0], cfg.duration_ms[1] + 1))
                events = synth_events(label, n_events, duration, cfg.noise_fraction, rng)
                out = staging / folder / sample_folder(split, index) / f"{label}.npy"
                out.parent.mkdir(parents=True, exist_ok=True)
                np.save(out, events)
        counts[split] = per_class * NUM_CLASSES
        _placeholder_archive(staging / f"{folder}.tar.gz")
    manifest = {"generator": "snn-bench synthetic DVS Gesture", "config": asdict(cfg),
                "samples": counts}
    (staging / MANIFEST).write_text(json.dumps(manifest, indent=2))
    # an old folder is ours (checked above) or empty: replaced whole
    replace_folder(staging, base, retired=root / f"{PARTIAL_PREFIX}old-{os.getpid()}")
    return manifest


def read_manifest(root: str | Path) -> dict | None:
    """The manifest of synthetic data under root, or None for real (or absent) data."""
    path = Path(root).expanduser() / "DVSGesture" / MANIFEST
    return json.loads(path.read_text()) if path.is_file() else None


SYNTH_LOCK = ".snn-bench-synth.lock"


def ensure_synthetic(root: str | Path, stream=None) -> None:
    """Write the synthetic set under root unless it is there; one writer at a time (several Ray
    tasks on one node may arrive at once: the others wait on the lock, then find it written)."""
    import sys

    import filelock  # flock on POSIX, msvcrt on Windows (which has no fcntl)

    root = Path(root)
    if read_manifest(root) is not None:
        return
    root.mkdir(parents=True, exist_ok=True)
    with filelock.FileLock(root / SYNTH_LOCK):
        if read_manifest(root) is None:
            print(f"writing synthetic DVS Gesture to {root} (once, ~1 GB) ...", file=stream or sys.stderr)
            write_synthetic_dvsgesture(root, SynthConfig())
