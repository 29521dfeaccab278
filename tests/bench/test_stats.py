import pytest

from bench.stats import summarise


def test_summary_of_known_samples():
    s = summarise([4.0, 1.0, 3.0, 2.0, 5.0])
    assert (s.n, s.median, s.min, s.mean) == (5, 3.0, 1.0, 3.0)
    assert s.iqr == pytest.approx(2.0)  # numpy's linear percentiles: q3=4, q1=2


def test_a_spread_above_a_tenth_of_the_median_is_unstable():
    assert not summarise([1.0, 1.0, 1.02, 1.0]).unstable
    assert summarise([1.0, 1.5, 0.7, 1.2]).unstable


def test_empty_samples_are_refused():
    with pytest.raises(ValueError, match="empty"):
        summarise([])
