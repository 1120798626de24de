"""The camera loop as a Python object: source, capture thread, classifier, smoothing, stats.

A robot program runs it in a few lines::

    from lince.runtime import Pipeline

    with Pipeline("model.tflite", source=0) as pipeline:
        for result in pipeline:
            if result.changed:
                robot.on_label(result.stable_label)

or registers callbacks and calls :meth:`Pipeline.run`. A program that
already has its frames (a ROS 2 node subscribed to an image topic, say)
uses :class:`lince.runtime.live.StableClassifier` directly instead.
"""

import logging
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator, List, Optional, Tuple, Union

import numpy as np

from lince.runtime.capture import CaptureThread, PrefetchReader, RecoverySettings
from lince.runtime.classifier import Classifier
from lince.runtime.errors import LinceError, _
from lince.runtime.live import StableClassifier
from lince.runtime.results import FrameResult
from lince.runtime.smoothing import SmoothingSettings
from lince.runtime.sources import FrameSource, SourceSettings, make_source
from lince.runtime.stats import LoopStats, StatsReport

logger = logging.getLogger(__name__)

ResultCallback = Callable[[FrameResult, np.ndarray], None]
StatsCallback = Callable[[StatsReport], None]


@dataclass(frozen=True)
class LoopSettings:
    """How long and how fast the loop runs.

    Attributes:
        realtime: play video files and folders at their own frame rate, as a
            camera would, dropping frames the model cannot keep up with.
            ``False`` classifies every frame as fast as possible.
        max_frames: stop after this many classified frames (``None``: no limit).
        duration: stop after this many seconds (``None``: no limit).
        stats_interval: seconds between periodic statistics reports.
        top_k: classes listed in each result.
        source: camera frame size and rate.
        recovery: fault detection and reopen settings of live sources.
    """

    realtime: bool = True
    max_frames: Optional[int] = None
    duration: Optional[float] = None
    stats_interval: float = 5.0
    top_k: int = 3
    source: SourceSettings = field(default_factory=SourceSettings)
    recovery: RecoverySettings = field(default_factory=RecoverySettings)


class Pipeline:
    """Classify frames from a source until it ends, a limit is reached or :meth:`stop` is called.

    Args:
        model: a ``.tflite`` path or a loaded :class:`Classifier` (built once,
            outside the loop).
        source: a ``--source`` string, a camera index or a :class:`FrameSource`.
        labels, num_threads: passed to :class:`Classifier` when ``model`` is a path.
        smoothing: moving average, hysteresis and threshold settings.
        crop: ``"center"`` or ``"none"`` to override the model's crop mode.
        roi: ``(x, y, w, h)`` region of each frame to classify.
        settings: limits, pacing, statistics and fault recovery.

    Raises:
        SourceError: from :meth:`start` or during iteration, when the source
            cannot be opened or is lost for good.
    """

    def __init__(self, model, source, *, labels=None, num_threads: Optional[int] = None,
                 smoothing: SmoothingSettings = SmoothingSettings(), crop: Optional[str] = None,
                 roi: Optional[Tuple[int, int, int, int]] = None, settings: LoopSettings = LoopSettings()):
        self.settings = settings
        # The source string is checked first: a typo in it fails before the model loads.
        self.source: FrameSource = make_source(source, settings.source)
        self.classifier = model if isinstance(model, Classifier) else Classifier(
            model, labels=labels, num_threads=num_threads)
        self.step = StableClassifier(self.classifier, smoothing, crop=crop, roi=roi, top_k=settings.top_k)
        self.stats = LoopStats()
        self._result_callbacks: List[ResultCallback] = []
        self._stats_callbacks: List[StatsCallback] = []
        self._stop = threading.Event()
        self._capture: Optional[Union[CaptureThread, PrefetchReader]] = None
        self._reported_dropped = 0
        self._reported_reopened = 0
        self.frames_done = 0

    # -- set-up -------------------------------------------------------------

    def on_result(self, callback: ResultCallback) -> ResultCallback:
        """Call ``callback(result, frame_bgr)`` for every classified frame; usable as a decorator."""
        self._result_callbacks.append(callback)
        return callback

    def on_stats(self, callback: StatsCallback) -> StatsCallback:
        """Call ``callback(report)`` every ``stats_interval`` seconds; usable as a decorator."""
        self._stats_callbacks.append(callback)
        return callback

    def start(self) -> "Pipeline":
        """Open the source and start the capture thread (done by iteration if not called)."""
        if self._capture is not None:
            return self
        self.source.open()
        if self.source.live or self.settings.realtime:
            self._capture = CaptureThread(self.source, realtime=self.settings.realtime,
                                          recovery=self.settings.recovery).start()
        else:
            self._capture = PrefetchReader(self.source, prepare=self.step.prepare).start()
        self.stats.start()
        logger.info("Reading %s (%s)", self.source.description,
                    "real time" if self._capture.keep_newest else "every frame")
        return self

    @property
    def source_fps(self) -> Optional[float]:
        return self.source.fps

    # -- running ------------------------------------------------------------

    def stop(self) -> None:
        """Ask the loop to end after the current frame; safe from any thread or a signal handler."""
        self._stop.set()

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    def __iter__(self) -> Iterator[FrameResult]:
        for result, _frame in self.frames():
            yield result

    def frames(self) -> Iterator[Tuple[FrameResult, np.ndarray]]:
        """Yield ``(result, frame_bgr)`` for each classified frame, then close the pipeline."""
        self.start()
        deadline = None if self.settings.duration is None else time.monotonic() + self.settings.duration
        try:
            while not self._stop.is_set():
                if self.settings.max_frames is not None and self.frames_done >= self.settings.max_frames:
                    break
                if deadline is not None and time.monotonic() >= deadline:
                    break
                frame = self._capture.next_frame(self._stop, deadline)
                if frame is None:
                    break
                result = self.step.process(frame.image, frame.number, frame.capture_time,
                                           frame.capture_monotonic, frame.read_ms,
                                           prepared=frame.prepared, prepare_ms=frame.prepare_ms)
                self.frames_done += 1
                self.stats.add(result.capture_ms, result.preprocess_ms, result.inference_ms, result.frame_age_ms)
                for callback in self._result_callbacks:
                    callback(result, frame.image)
                yield result, frame.image
                self._report_period_if_due()
        finally:
            self.close()

    def run(self) -> StatsReport:
        """Run until the end, calling the registered callbacks; return the summary."""
        for _result in self:
            pass
        return self.summary()

    def _report_period_if_due(self) -> None:
        if self.settings.stats_interval <= 0 or self.stats.period_seconds() < self.settings.stats_interval:
            return
        dropped, reopened = self._counters()
        report = self.stats.take_period(dropped - self._reported_dropped, reopened - self._reported_reopened)
        self._reported_dropped, self._reported_reopened = dropped, reopened
        for callback in self._stats_callbacks:
            callback(report)

    def _counters(self) -> Tuple[int, int]:
        if self._capture is None:
            return 0, 0
        return self._capture.frames_dropped, self._capture.reopen_count

    def summary(self) -> StatsReport:
        """Return the statistics of the whole run so far."""
        dropped, reopened = self._counters()
        return self.stats.summary(dropped, reopened)

    def close(self) -> None:
        """Stop the capture thread and release the source; safe to call twice."""
        self._stop.set()
        self.stats.finish()
        if self._capture is not None:
            self._capture.stop()
        else:
            self.source.close()

    def __enter__(self) -> "Pipeline":
        return self.start()

    def __exit__(self, *exc_info) -> None:
        self.close()


def parse_roi(text: str) -> Tuple[int, int, int, int]:
    """Parse ``x,y,w,h`` (pixels) into a tuple of four integers."""
    parts = [p.strip() for p in str(text).split(",")]
    try:
        x, y, w, h = (int(p) for p in parts)
    except ValueError:
        raise LinceError(_("--roi {value!r}: give four whole numbers x,y,w,h in pixels, e.g. 0,0,320,240")
                         .format(value=text)) from None
    if x < 0 or y < 0 or w <= 0 or h <= 0:
        raise LinceError(_("--roi {value!r}: x and y must be 0 or more, w and h more than 0").format(value=text))
    return x, y, w, h
