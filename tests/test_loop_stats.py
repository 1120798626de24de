"""Loop statistics: percentiles from constant-size histograms, periods and summary."""

import math

import numpy as np
import pytest

from lince.runtime.stats import _EDGES_MS, LoopStats, TimeHistogram, _bin_index


def test_histogram_percentiles_match_numpy():
    rng = np.random.default_rng(1)
    values = rng.lognormal(mean=1.5, sigma=0.6, size=20000)
    histogram = TimeHistogram()
    for value in values:
        histogram.add(float(value))
    for q in (50, 95, 99):
        assert histogram.percentile(q) == pytest.approx(np.percentile(values, q), rel=0.02)


def test_bin_index_matches_searchsorted():
    rng = np.random.default_rng(2)
    values = np.concatenate([10 ** rng.uniform(-5, 7, 20000), _EDGES_MS, np.nextafter(_EDGES_MS, 0),
                             np.nextafter(_EDGES_MS, np.inf), [0.0, -1.0, math.nan, math.inf]])
    computed = np.array([_bin_index(float(value)) for value in values])
    np.testing.assert_array_equal(computed, np.searchsorted(_EDGES_MS, values))


def test_histogram_empty_is_nan():
    assert math.isnan(TimeHistogram().percentile(50))


def test_histogram_memory_is_constant():
    histogram = TimeHistogram()
    size = histogram.counts.nbytes
    for value in range(10000):
        histogram.add(value * 0.01)
    assert histogram.counts.nbytes == size
    assert histogram.total == 10000


class FakeClock:
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now


def test_periods_and_summary():
    clock = FakeClock()
    stats = LoopStats(clock=clock)
    stats.start()
    for _ in range(10):
        clock.now += 0.1
        stats.add(capture_ms=1.0, preprocess_ms=2.0, inference_ms=10.0, age_ms=5.0)
    period = stats.take_period(dropped=3, reopened=1)
    assert period.frames == 10
    assert period.seconds == pytest.approx(1.0)
    assert period.fps == pytest.approx(10.0)
    assert period.dropped == 3
    assert period.percentiles["inference"][0] == pytest.approx(10.0, rel=0.02)
    for _ in range(10):
        clock.now += 0.05
        stats.add(capture_ms=1.0, preprocess_ms=2.0, inference_ms=30.0, age_ms=5.0)
    stats.finish()
    clock.now += 60.0  # time after the end does not count
    summary = stats.summary(dropped=4, reopened=1)
    assert summary.frames == 20
    assert summary.seconds == pytest.approx(1.5)
    assert summary.fps == pytest.approx(20 / 1.5)
    p50, p95 = summary.percentiles["inference"]
    assert p50 == pytest.approx(10.0, rel=0.02)
    assert p95 == pytest.approx(30.0, rel=0.02)
    record = summary.to_dict()
    assert record["frames"] == 20
    assert record["inference_ms"]["p95"] == pytest.approx(30.0, rel=0.02)
