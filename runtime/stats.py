"""Loop statistics: frames per second and percentiles of each step's time.

Times go into fixed-size log-spaced histograms, so a run of any length keeps
the same memory and the summary covers every frame, not a recent window.
Percentiles read from the histogram are accurate to about 1 %.
"""

import math
import time
from dataclasses import dataclass
from typing import Dict, Optional

import numpy as np

# Bin edges from 1 microsecond to 100 s, 200 bins per decade (1.2 % wide).
_BINS_PER_DECADE = 200
_LOWEST_MS = 1e-3
_EDGES_MS = np.geomspace(_LOWEST_MS, 1e5, 8 * _BINS_PER_DECADE + 1)
STEPS = ("capture", "preprocess", "inference", "age")


class TimeHistogram:
    """Counts of durations in log-spaced bins, for percentiles in constant memory."""

    def __init__(self):
        self.counts = np.zeros(_EDGES_MS.size + 1, dtype=np.int64)
        self.total = 0

    def add(self, milliseconds: float) -> None:
        self.counts[_bin_index(milliseconds)] += 1
        self.total += 1

    def merge(self, other: "TimeHistogram") -> None:
        self.counts += other.counts
        self.total += other.total

    def clear(self) -> None:
        self.counts[:] = 0
        self.total = 0

    def percentile(self, q: float) -> float:
        """Return the ``q``-th percentile (0-100) in ms, or NaN when empty."""
        if self.total == 0:
            return math.nan
        rank = max(1, math.ceil(q / 100.0 * self.total))
        index = int(np.searchsorted(np.cumsum(self.counts), rank))
        # Report the geometric middle of the bin that contains the rank.
        low = _EDGES_MS[max(index - 1, 0)]
        high = _EDGES_MS[min(index, _EDGES_MS.size - 1)]
        return float(math.sqrt(low * high))


def _bin_index(milliseconds: float) -> int:
    """Return the histogram bin of a duration: the index ``np.searchsorted(_EDGES_MS, ms)`` would give.

    Computed from the logarithm because it runs four times per frame, right
    after inference, when NumPy's call overhead is at its highest (cold caches).
    """
    if milliseconds <= _LOWEST_MS:
        return 0
    if not milliseconds <= _EDGES_MS[-1]:  # also NaN, which searchsorted sorts last
        return _EDGES_MS.size
    index = math.ceil(math.log10(milliseconds / _LOWEST_MS) * _BINS_PER_DECADE)
    # Rounding in the logarithm can put a value next to an edge one bin off.
    if index < _EDGES_MS.size and milliseconds > _EDGES_MS[index]:
        index += 1
    elif index > 0 and milliseconds <= _EDGES_MS[index - 1]:
        index -= 1
    return index


@dataclass(frozen=True)
class StatsReport:
    """Statistics over a period of the loop.

    Attributes:
        frames: frames classified in the period.
        seconds: length of the period.
        fps: classified frames per second.
        percentiles: ``{step: (p50, p95)}`` in ms for ``capture``,
            ``preprocess``, ``inference`` and ``age`` (capture to inference start).
        dropped: camera frames replaced by a newer one before the loop took them.
        reopened: times the source was reopened after a fault.
    """

    frames: int
    seconds: float
    fps: float
    percentiles: Dict[str, tuple]
    dropped: int = 0
    reopened: int = 0

    def to_dict(self) -> dict:
        return {
            "frames": self.frames,
            "seconds": round(self.seconds, 3),
            "fps": round(self.fps, 2),
            "dropped": self.dropped,
            "reopened": self.reopened,
            **{f"{step}_ms": {"p50": round(p50, 3), "p95": round(p95, 3)}
               for step, (p50, p95) in self.percentiles.items()},
        }


class LoopStats:
    """Collects per-frame times; reports each period and the whole run."""

    def __init__(self, clock=time.monotonic):
        self._clock = clock
        self._total = {step: TimeHistogram() for step in STEPS}
        self._period = {step: TimeHistogram() for step in STEPS}
        self._run_start: Optional[float] = None
        self._period_start: Optional[float] = None
        self._run_end: Optional[float] = None
        self.frames = 0
        self._period_frames = 0

    def start(self) -> None:
        self._run_start = self._period_start = self._clock()
        self._run_end = None

    def finish(self) -> None:
        """Mark the end of the run, so later summaries keep its length."""
        if self._run_start is not None and self._run_end is None:
            self._run_end = self._clock()

    def add(self, capture_ms: float, preprocess_ms: float, inference_ms: float, age_ms: float) -> None:
        if self._run_start is None:
            self.start()
        for step, value in zip(STEPS, (capture_ms, preprocess_ms, inference_ms, age_ms)):
            self._period[step].add(value)
        self.frames += 1
        self._period_frames += 1

    def period_seconds(self) -> float:
        return 0.0 if self._period_start is None else self._clock() - self._period_start

    def take_period(self, dropped: int = 0, reopened: int = 0) -> StatsReport:
        """Return the report of the period since the last call and start a new period."""
        now = self._clock()
        seconds = now - (self._period_start if self._period_start is not None else now)
        report = _report(self._period, self._period_frames, seconds, dropped, reopened)
        for step in STEPS:
            self._total[step].merge(self._period[step])
            self._period[step].clear()
        self._period_frames = 0
        self._period_start = now
        return report

    def summary(self, dropped: int = 0, reopened: int = 0) -> StatsReport:
        """Return the report of the whole run (it closes the current period)."""
        start = self._run_start
        self.take_period()
        end = self._run_end if self._run_end is not None else self._clock()
        seconds = end - start if start is not None else 0.0
        return _report(self._total, self.frames, seconds, dropped, reopened)


def _report(histograms, frames, seconds, dropped, reopened) -> StatsReport:
    percentiles = {step: (h.percentile(50), h.percentile(95)) for step, h in histograms.items()}
    fps = frames / seconds if seconds > 0 else 0.0
    return StatsReport(frames, seconds, fps, percentiles, dropped, reopened)
