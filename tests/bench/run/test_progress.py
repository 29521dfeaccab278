import io

import pytest

from bench.config.settings import normalise
from bench.run.progress import Progress, estimate_group_seconds, format_duration

SETTINGS = normalise({"warmup_steps": 2, "measured_steps": 10, "batch_size": 16, "num_steps": 60, "frame_size": 32})


def test_the_prior_estimate_grows_with_steps_batch_and_time_steps():
    one = estimate_group_seconds([SETTINGS])
    assert estimate_group_seconds([SETTINGS, SETTINGS]) > one
    assert estimate_group_seconds([SETTINGS.changed(batch_size=32)]) > one


def test_the_eta_is_rescaled_by_how_fast_this_machine_really_is():
    now = [0.0]
    stream = io.StringIO()
    progress = Progress(total_points=4, estimated_seconds=40.0, stream=stream, clock=lambda: now[0])
    assert progress.eta_seconds() == 40.0
    now[0] = 20.0  # the first half, estimated at 20 s, took 20 s
    progress.group_done(2, 20.0, "half")
    assert progress.eta_seconds() == 20.0
    now[0] = 50.0  # ... and the next quarter, estimated at 10 s, took 30 s
    progress.group_done(1, 10.0, "slow")
    assert progress.eta_seconds() == 10.0 * 50.0 / 30.0
    assert "3/4 points" in stream.getvalue().splitlines()[-1]


def test_durations_read_like_a_clock():
    assert [format_duration(s) for s in (5, 75, 3725)] == ["5s", "1m15s", "1h02m"]


def test_the_prior_estimate_grows_with_batch_time_steps_and_frame_pixels():
    from bench.config.settings import normalise
    from bench.run.progress import estimate_group_seconds

    base = normalise({})
    one = estimate_group_seconds([base])
    for change, factor in (({"batch_size": 32}, 2), ({"num_steps": 120}, 2), ({"frame_size": 64}, 4)):
        grown = estimate_group_seconds([base.changed(**change)])
        setup = estimate_group_seconds([])
        assert (grown - setup) == pytest.approx(factor * (one - setup)), change
