"""Moving average, threshold and hysteresis of the stable label."""

import numpy as np
import pytest

from lince.runtime.errors import LinceError
from lince.runtime.smoothing import NO_SMOOTHING, SmoothingSettings, Smoother


def probs(*values):
    return np.array(values, dtype=np.float32)


def test_moving_average_values():
    smoother = Smoother(SmoothingSettings(alpha=0.25, hysteresis=1, threshold=0.0))
    smoother.update(probs(1.0, 0.0))
    index, score, _changed = smoother.update(probs(0.0, 1.0))
    # 0.25 * 0 + 0.75 * 1 for class 0.
    assert index == 0
    assert score == pytest.approx(0.75)
    index, score, _changed = smoother.update(probs(0.0, 1.0))
    assert score == pytest.approx(0.5625)
    index, score, changed = smoother.update(probs(0.0, 1.0))
    # Class 1 now averages 1 - 0.75**3 = 0.578 > 0.422.
    assert index == 1
    assert changed
    assert score == pytest.approx(1 - 0.75 ** 3)


def test_hysteresis_needs_k_frames_in_a_row():
    smoother = Smoother(SmoothingSettings(alpha=1.0, hysteresis=3, threshold=0.0))
    a, b = probs(0.9, 0.1), probs(0.1, 0.9)
    outcomes = [smoother.update(p) for p in (a, a, a, b, b, a, b, b, b)]
    stable = [index for index, _score, _changed in outcomes]
    changed = [c for _index, _score, c in outcomes]
    assert stable == [None, None, 0, 0, 0, 0, 0, 0, 1]
    assert changed == [False, False, True, False, False, False, False, False, True]


def test_flicker_between_two_classes_is_suppressed():
    smoother = Smoother(SmoothingSettings(alpha=1.0, hysteresis=2, threshold=0.0))
    a, b = probs(0.6, 0.4), probs(0.4, 0.6)
    smoother.update(a)
    smoother.update(a)
    results = [smoother.update(p) for p in (b, a) * 10]
    assert {index for index, _s, _c in results} == {0}
    assert not any(changed for _i, _s, changed in results)


def test_threshold_gives_unknown():
    smoother = Smoother(SmoothingSettings(alpha=1.0, hysteresis=1, threshold=0.5))
    index, score, changed = smoother.update(probs(0.8, 0.1, 0.1))
    assert (index, changed) == (0, True)
    index, score, changed = smoother.update(probs(0.24, 0.16, 0.2))
    assert index is None
    assert changed
    assert score == pytest.approx(0.24)


def test_unknown_also_needs_hysteresis():
    smoother = Smoother(SmoothingSettings(alpha=1.0, hysteresis=2, threshold=0.5))
    confident, unsure = probs(0.9, 0.1), probs(0.45, 0.4)
    smoother.update(confident)
    assert smoother.update(confident)[0] == 0
    assert smoother.update(unsure)[0] == 0
    assert smoother.update(unsure)[0] is None


def test_no_smoothing_follows_each_frame():
    smoother = Smoother(NO_SMOOTHING)
    for p, expected in ((probs(0.9, 0.1), 0), (probs(0.2, 0.8), 1), (probs(0.51, 0.49), 0)):
        index, score, changed = smoother.update(p)
        assert index == expected
        assert changed
        assert score == pytest.approx(float(p.max()))


def test_reset_forgets_history():
    smoother = Smoother(SmoothingSettings(alpha=0.5, hysteresis=1, threshold=0.0))
    smoother.update(probs(1.0, 0.0))
    smoother.reset()
    index, score, changed = smoother.update(probs(0.0, 1.0))
    assert index == 1
    assert score == pytest.approx(1.0)
    assert changed


def test_average_does_not_alias_input():
    smoother = Smoother(SmoothingSettings(alpha=0.5, hysteresis=1, threshold=0.0))
    first = probs(1.0, 0.0)
    smoother.update(first)
    smoother.update(probs(0.0, 1.0))
    assert first.tolist() == [1.0, 0.0]


@pytest.mark.parametrize("kwargs, word", [
    ({"alpha": 0.0}, "smoothing"),
    ({"alpha": 1.5}, "smoothing"),
    ({"hysteresis": 0}, "hysteresis"),
    ({"threshold": -0.1}, "threshold"),
    ({"threshold": 1.1}, "threshold"),
])
def test_invalid_settings(kwargs, word):
    with pytest.raises(LinceError, match=word):
        SmoothingSettings(**kwargs)


def test_weak_stable_label_becomes_unknown():
    # A new leader every frame never wins the hysteresis itself; the stable
    # label's own average below the threshold must still end in "unknown".
    smoother = Smoother(SmoothingSettings(alpha=1.0, hysteresis=2, threshold=0.3))
    smoother.update(probs(0.9, 0.05, 0.05, 0.0))
    assert smoother.update(probs(0.9, 0.05, 0.05, 0.0))[0] == 0
    index, score, changed = smoother.update(probs(0.1, 0.5, 0.2, 0.2))
    assert (index, changed) == (0, False)
    assert score == pytest.approx(0.1)
    index, score, changed = smoother.update(probs(0.1, 0.2, 0.5, 0.2))
    assert (index, changed) == (None, True)
    assert score == pytest.approx(0.5)
    # From unknown, a class needs its own run of leading frames.
    assert smoother.update(probs(0.1, 0.2, 0.2, 0.5))[0] is None
    assert smoother.update(probs(0.1, 0.2, 0.2, 0.5))[0] == 3


def test_weak_count_restarts_above_threshold():
    smoother = Smoother(SmoothingSettings(alpha=1.0, hysteresis=2, threshold=0.3))
    confident, weak = probs(0.9, 0.1, 0.0), probs(0.2, 0.4, 0.4)
    for p in (confident, confident, weak, confident, weak):
        index, _score, _changed = smoother.update(p)
    assert index == 0
    assert smoother.update(probs(0.2, 0.0, 0.8))[0] is None
