import pytest
from line_profiler.line_profiler import LineStats

from bench.profiling.lines import table, text
from bench.profiling.targets import AREAS, REWIRING_TARGETS, resolve
from snn.plugin import DVS_GESTURE_LINES, SEED_FORWARD_LINES


def test_times_are_converted_with_the_unit_stored_in_the_stats():
    timings = {("f.py", 1, "f"): [(2, 4, 3_000), (3, 1, 1_000)]}
    in_ns, in_us = table(LineStats(timings, 1e-9), {}, AREAS), table(LineStats(timings, 1e-6), {}, AREAS)
    assert list(in_ns["total_s"]) == pytest.approx([3e-6, 1e-6])
    assert list(in_us["total_s"]) == pytest.approx([3e-3, 1e-3])
    assert list(in_ns["per_hit_s"]) == pytest.approx([0.75e-6, 1e-6])
    assert list(in_ns["percent"]) == [75.0, 25.0]
    assert list(in_ns["area"]) == ["other", "other"]


def test_the_text_report_is_in_microseconds_whatever_the_unit():
    stats = LineStats({("f.py", 1, "f"): [(2, 4, 3_000)]}, 1e-9)
    report = text(stats)
    assert "Timer unit: 1e-06 s" in report and "Total time: 3e-06 s" in report


def test_every_named_target_resolves_to_a_plain_function():
    for target in REWIRING_TARGETS + SEED_FORWARD_LINES + DVS_GESTURE_LINES:
        assert hasattr(resolve(target), "__code__"), target
