import json

import numpy as np
import pytest

from snn.data.synth import (
    NUM_CLASSES,
    SynthConfig,
    read_manifest,
    sample_folder,
    synth_events,
    write_synthetic_dvsgesture,
)

SMALL = SynthConfig(mean_events=500)


def _files(root):
    return sorted((root / "DVSGesture").glob("ibmGesture*/**/*.npy"))


def test_writes_tonic_layout_with_placeholder_archives_and_manifest(tiny_root):
    base = tiny_root / "DVSGesture"
    assert (base / "ibmGestureTrain.tar.gz").is_file()
    assert (base / "ibmGestureTest.tar.gz").is_file()
    assert len(list((base / "ibmGestureTrain").glob("**/*.npy"))) == 110
    assert len(list((base / "ibmGestureTest").glob("**/*.npy"))) == 110
    assert read_manifest(tiny_root)["samples"] == {"train": 110, "test": 110}


def test_train_and_test_users_are_disjoint_like_the_real_split(tiny_root):
    def users(folder):
        return {int(p.parent.name[4:6]) for p in (tiny_root / "DVSGesture" / folder).glob("**/*.npy")}

    assert users("ibmGestureTrain") <= set(range(1, 24))
    assert users("ibmGestureTest") <= set(range(24, 30))


def test_event_columns_are_x_y_p_t_in_range_with_t_ascending_in_ms():
    rng = np.random.default_rng(1)
    for label in range(NUM_CLASSES):
        events = synth_events(label, 2000, 6000, 0.1, rng)
        assert events.shape == (2000, 4) and events.dtype == np.int32
        x, y, p, t = events.T
        assert x.min() >= 0 and x.max() <= 127 and y.min() >= 0 and y.max() <= 127
        assert set(np.unique(p)) <= {0, 1}
        assert (np.diff(t) >= 0).all() and t.min() >= 0 and t.max() < 6000


def test_same_seed_writes_identical_files_and_another_seed_does_not(tmp_path):
    write_synthetic_dvsgesture(tmp_path / "a", SMALL)
    write_synthetic_dvsgesture(tmp_path / "b", SMALL)
    write_synthetic_dvsgesture(tmp_path / "c", SynthConfig(mean_events=500, seed=1))
    a, b, c = (_files(tmp_path / name) for name in "abc")
    assert [f.relative_to(tmp_path / "a") for f in a] == [f.relative_to(tmp_path / "b") for f in b]
    assert all(np.array_equal(np.load(x), np.load(y)) for x, y in zip(a, b))
    assert not np.array_equal(np.load(a[0]), np.load(c[0]))


def test_classes_are_distinct_motions(tiny_root):
    # Right-hand and left-hand waves happen on opposite sides of the sensor.
    train = tiny_root / "DVSGesture" / "ibmGestureTrain"
    right = np.concatenate([np.load(p) for p in train.glob("**/1.npy")])
    left = np.concatenate([np.load(p) for p in train.glob("**/2.npy")])
    assert np.median(right[:, 0]) > 64 > np.median(left[:, 0])


def test_rewriting_removes_samples_the_new_settings_do_not_write(tmp_path):
    write_synthetic_dvsgesture(tmp_path, SynthConfig(train_per_class=12, mean_events=100))
    write_synthetic_dvsgesture(tmp_path, SynthConfig(train_per_class=10, mean_events=100))
    assert len(list((tmp_path / "DVSGesture" / "ibmGestureTrain").glob("**/*.npy"))) == 110


def test_refuses_to_write_over_real_data(tmp_path):
    real = tmp_path / "DVSGesture" / "ibmGestureTrain" / "user01_lab"
    real.mkdir(parents=True)
    np.save(real / "0.npy", np.zeros((3, 4), np.int32))
    with pytest.raises(FileExistsError, match="did not write"):
        write_synthetic_dvsgesture(tmp_path, SMALL)


@pytest.mark.parametrize("bad, match", [
    ({"train_per_class": 9}, r"at least 100 files per split .* \[10, 115\]"),
    ({"test_per_class": 31}, r"\[10, 30\]"),
    ({"mean_events": 1}, "mean_events"),
    ({"duration_ms": (0, 10)}, "duration_ms"),
    ({"noise_fraction": 1.0}, "noise_fraction"),
])
def test_impossible_settings_are_refused_with_the_valid_range(bad, match, tmp_path):
    with pytest.raises(ValueError, match=match):
        write_synthetic_dvsgesture(tmp_path, SynthConfig(**bad))
    assert not (tmp_path / "DVSGesture").exists()


def test_sample_folders_fill_users_before_lightings():
    assert sample_folder("train", 0) == "user01_fluorescent"
    assert sample_folder("train", 23) == "user01_fluorescent_led"
    assert sample_folder("test", 6) == "user24_fluorescent_led"


def test_manifest_records_the_settings(tiny_root):
    manifest = json.loads((tiny_root / "DVSGesture" / "SYNTHETIC.json").read_text())
    assert manifest["config"]["mean_events"] == 3000


def test_a_writer_killed_partway_leaves_nothing_in_the_way(tmp_path):
    import os
    import subprocess
    import sys

    from snn.data.synth import (
        PARTIAL_PREFIX,
        SynthConfig,
        read_manifest,
        write_synthetic_dvsgesture,
    )

    cfg = SynthConfig(train_per_class=10, test_per_class=10, mean_events=200)
    # a writer killed partway: its staging folder stays, holding some samples, no manifest
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True).stdout.strip()
    staging = tmp_path / f"{PARTIAL_PREFIX}{dead}" / "ibmGestureTrain" / "user01_fluorescent"
    staging.mkdir(parents=True)
    (staging / "0.npy").write_bytes(b"half a file")
    assert not (tmp_path / "DVSGesture").exists()  # nothing was put in place
    write_synthetic_dvsgesture(tmp_path, cfg)
    assert read_manifest(tmp_path)["config"]["mean_events"] == 200
    assert not list(tmp_path.glob(f"{PARTIAL_PREFIX}*")), os.listdir(tmp_path)
    write_synthetic_dvsgesture(tmp_path, SynthConfig(train_per_class=10, test_per_class=10, mean_events=100))
    assert read_manifest(tmp_path)["config"]["mean_events"] == 100  # replaced whole
    assert not list(tmp_path.glob(f"{PARTIAL_PREFIX}*"))
