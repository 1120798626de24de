"""Classify one frame and smooth the result: the step inside every camera loop.

:class:`StableClassifier` takes frames from anywhere: lince's own capture
thread, a robot's camera callback or a ROS 2 image subscription. It returns
a :class:`FrameResult` per frame, with the stable label a robot should act on.
"""

import logging
import time
from dataclasses import replace
from typing import Optional, Tuple

import numpy as np

from lince.runtime.classifier import Classifier
from lince.runtime.errors import LinceError, _
from lince.runtime.preprocess import Preprocessing, prepare_image
from lince.runtime.results import FrameResult
from lince.runtime.smoothing import UNKNOWN, SmoothingSettings, Smoother

logger = logging.getLogger(__name__)


class StableClassifier:
    """A :class:`Classifier` followed by moving average, threshold and hysteresis.

    Args:
        classifier: a loaded :class:`Classifier`.
        smoothing: moving average, hysteresis and threshold settings.
        crop: ``"center"`` or ``"none"`` to override the model's crop mode;
            ``None`` keeps the crop in the model's metadata.
        roi: ``(x, y, w, h)`` region of the frame to classify, or ``None``
            for the whole frame.
        top_k: classes listed in each result.

    Example, in a robot's own frame callback::

        step = StableClassifier(Classifier("model.tflite"))
        result = step.process(frame_bgr)
        if result.changed:
            robot.on_label(result.stable_label)
    """

    def __init__(self, classifier: Classifier, smoothing: SmoothingSettings = SmoothingSettings(),
                 crop: Optional[str] = None, roi: Optional[Tuple[int, int, int, int]] = None, top_k: int = 3):
        self.classifier = classifier
        preprocessing = classifier.preprocessing
        if crop is not None and crop != preprocessing.crop:
            preprocessing = replace(preprocessing, crop=crop)
        self.preprocessing: Preprocessing = preprocessing
        self.roi = tuple(int(v) for v in roi) if roi is not None else None
        self.top_k = top_k
        self.smoother = Smoother(smoothing)
        self._count = 0

    def prepare(self, frame_bgr: np.ndarray) -> np.ndarray:
        """Return the model input for ``frame_bgr``: region of interest, crop, resize, colour order."""
        self._check_roi(frame_bgr.shape)
        return prepare_image(frame_bgr, self.preprocessing, roi=self.roi)

    def process(self, frame_bgr: np.ndarray, frame_number: Optional[int] = None,
                capture_time: Optional[float] = None, capture_monotonic: Optional[float] = None,
                capture_ms: float = 0.0, prepared: Optional[np.ndarray] = None,
                prepare_ms: float = 0.0) -> FrameResult:
        """Classify ``frame_bgr`` (OpenCV BGR order) and return its result.

        Args:
            frame_number: the frame's index in its source; by default a count
                of the frames given to this object.
            capture_time: when the frame was captured, seconds since the epoch
                (a ROS header stamp, for example); by default now.
            capture_monotonic: the capture instant on :func:`time.monotonic`,
                which measures the frame's age more precisely than wall time.
            capture_ms: time the source took to deliver the frame.
            prepared: the output of :meth:`prepare` for this frame, when it
                was made ahead of time (in another thread, say).
            prepare_ms: time taken to make ``prepared``.
        """
        start_wall, start = time.time(), time.monotonic()
        if capture_monotonic is not None:
            age_ms = (start - capture_monotonic) * 1000.0
        elif capture_time is not None:
            age_ms = (start_wall - capture_time) * 1000.0
        else:
            age_ms = 0.0
        if frame_number is None:
            frame_number = self._count
        self._count += 1

        if prepared is None:
            prepared = self.prepare(frame_bgr)
        self.classifier.set_input(prepared)
        preprocess_ms = prepare_ms + (time.monotonic() - start) * 1000.0
        inference_ms = self.classifier.invoke()

        probabilities = self.classifier.probabilities()
        top = self.classifier.top_k(probabilities, self.top_k)
        stable_index, stable_score, changed = self.smoother.update(probabilities)
        stable_label = UNKNOWN if stable_index is None else self.classifier.labels[stable_index]
        return FrameResult(
            frame_number=int(frame_number),
            capture_time=capture_time if capture_time is not None else start_wall,
            frame_age_ms=age_ms,
            label=top[0].label,
            index=top[0].index,
            score=top[0].score,
            top_k=top,
            stable_label=stable_label,
            stable_score=stable_score,
            changed=changed,
            preprocess_ms=preprocess_ms,
            inference_ms=inference_ms,
            capture_ms=capture_ms,
            stable_index=stable_index,
        )

    def _check_roi(self, shape) -> None:
        if self.roi is None:
            return
        x, y, w, h = self.roi
        height, width = shape[:2]
        if x < 0 or y < 0 or w <= 0 or h <= 0 or x + w > width or y + h > height:
            raise LinceError(_("--roi {x},{y},{w},{h} does not fit in the {width}x{height} frame; "
                               "give x,y,w,h inside it").format(x=x, y=y, w=w, h=h, width=width, height=height))
