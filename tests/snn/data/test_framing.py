import numpy as np
import pytest
import tonic.transforms as T
from hypothesis import given, settings
from hypothesis import strategies as st

from snn.data.dvsgesture import open_split
from snn.data.framing import FRAMING_FUNCTIONS, frames_by_bincount, frames_by_loop
from snn.data.transforms import SENSOR_SIZE, FrameConfig, build_transform

DTYPE = np.dtype([("x", np.int16), ("y", np.int16), ("p", bool), ("t", np.int64)])
# Every fast framing must give tonic's frames, bit for bit.
FAST = pytest.mark.parametrize("framing", list(FRAMING_FUNCTIONS.values()), ids=list(FRAMING_FUNCTIONS))


def _tonic_frames(events, frame_size, n_time_bins):
    return T.Compose([
        T.Downsample(spatial_factor=frame_size / SENSOR_SIZE[0]),
        T.ToFrame(sensor_size=(frame_size, frame_size, SENSOR_SIZE[2]), n_time_bins=n_time_bins),
    ])(events)


def _events(rng, n, duration):
    events = np.zeros(n, DTYPE)
    events["x"] = rng.integers(0, 128, n)
    events["y"] = rng.integers(0, 128, n)
    events["p"] = rng.integers(0, 2, n).astype(bool)
    events["t"] = np.sort(rng.integers(0, duration + 1, n)) + 1_000
    return events


@FAST
@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 3000), duration=st.integers(0, 5_000_000),
       frame_size=st.sampled_from([8, 16, 32, 64, 128]), n_time_bins=st.integers(1, 80))
def test_fast_frames_equal_tonics_frames_exactly(framing, seed, n, duration, frame_size, n_time_bins):
    events = _events(np.random.default_rng(seed), n, duration)
    expected = _tonic_frames(events, frame_size, n_time_bins)
    actual = framing(events, SENSOR_SIZE, frame_size, n_time_bins)
    assert actual.dtype == expected.dtype and actual.shape == expected.shape
    np.testing.assert_array_equal(actual, expected)


@FAST
def test_fast_frames_drop_the_events_tonic_drops_at_the_end(framing):
    events = _events(np.random.default_rng(0), 1000, 999)
    events["t"][-5:] = events["t"][-1]  # a burst at the last timestamp
    frames = framing(events, SENSOR_SIZE, 32, 10)
    assert frames.sum() <= 1000 - 5
    np.testing.assert_array_equal(frames, _tonic_frames(events, 32, 10))


@FAST
def test_a_recording_shorter_than_the_bin_count_gives_empty_frames_as_in_tonic(framing):
    events = _events(np.random.default_rng(1), 50, 3)  # 3 µs over 60 bins: 0 µs windows
    frames = framing(events, SENSOR_SIZE, 32, 60)
    assert not frames.any()
    np.testing.assert_array_equal(frames, _tonic_frames(events, 32, 60))


@FAST
def test_an_empty_recording_gives_tonics_float_zeros(framing):
    empty = np.zeros(0, DTYPE)
    frames = framing(empty, SENSOR_SIZE, 32, 6)
    expected = T.ToFrame(sensor_size=(32, 32, 2), n_time_bins=6)(empty)
    assert frames.dtype == expected.dtype and frames.shape == expected.shape and not frames.any()


@pytest.mark.slow
@pytest.mark.parametrize("framing", list(FRAMING_FUNCTIONS))
def test_every_framing_gives_tonics_frames_for_every_tiny_sample(tiny_root, framing):
    tonic_set = open_split(tiny_root, train=True, transform=build_transform(FrameConfig()))
    fast_set = open_split(tiny_root, train=True, transform=build_transform(FrameConfig(framing=framing)))
    for i in range(len(tonic_set)):
        np.testing.assert_array_equal(tonic_set[i][0], fast_set[i][0])


def test_the_loop_agrees_with_bincount_on_a_million_events():
    events = _events(np.random.default_rng(7), 1_000_000, 6_000_000)
    np.testing.assert_array_equal(frames_by_loop(events, SENSOR_SIZE, 32, 60),
                                  frames_by_bincount(events, SENSOR_SIZE, 32, 60))


def test_the_loop_never_writes_outside_the_frames_for_events_off_the_sensor_or_unsorted():
    events = _events(np.random.default_rng(3), 200, 10_000)
    events["x"][:5] = 32_000  # off the sensor
    events["t"][100:110] = events["t"][0] - 50  # before the first event: unsorted
    frames = frames_by_loop(events, SENSOR_SIZE, 32, 10)
    assert frames.shape == (10, 2, 32, 32) and frames.sum() <= 200


def test_an_unknown_framing_is_refused():
    with pytest.raises(ValueError, match="unknown framing 'fast': choose one of tonic, bincount, compiled"):
        FrameConfig(framing="fast")
