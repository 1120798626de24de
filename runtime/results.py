"""The result of classifying one camera frame, as the robot receives it."""

from dataclasses import dataclass, field, fields
from typing import List, Optional

from lince.runtime.classifier import Prediction


@dataclass(frozen=True)
class FrameResult:
    """One classified frame, with the smoothed label a robot should act on.

    Attributes:
        frame_number: index of the frame in its source, from 0.
        capture_time: when the frame was captured, seconds since the epoch.
        frame_age_ms: age of the frame when inference started, in ms.
        label, index, score: top-1 class of this frame alone.
        top_k: the best classes of this frame, highest first.
        stable_label: label after smoothing and hysteresis ("unknown" below
            the threshold); this is what a robot should act on.
        stable_score: smoothed probability of ``stable_label``.
        changed: whether ``stable_label`` differs from the previous frame's.
        preprocess_ms, inference_ms: time of each step for this frame.
        capture_ms: time the source took to deliver the frame.
        stable_index: class index of ``stable_label``, ``None`` for unknown.
    """

    frame_number: int
    capture_time: float
    frame_age_ms: float
    label: str
    index: int
    score: float
    top_k: List[Prediction] = field(default_factory=list)
    stable_label: Optional[str] = None
    stable_score: float = 0.0
    changed: bool = False
    preprocess_ms: float = 0.0
    inference_ms: float = 0.0
    capture_ms: float = 0.0
    stable_index: Optional[int] = None

    def to_dict(self) -> dict:
        """Return a JSON-serialisable dict (top-k as a list of objects)."""
        # What dataclasses.asdict returns, built directly: asdict deep-copies
        # every field and costs about 30 us per result, paid for each output.
        record = {name: getattr(self, name) for name in _FIELD_NAMES}
        record["top_k"] = [{"index": p.index, "label": p.label, "score": p.score} for p in self.top_k]
        return record


_FIELD_NAMES = tuple(f.name for f in fields(FrameResult))
