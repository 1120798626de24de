"""Turn per-frame probabilities into a stable label a robot can act on.

Three steps, each cheap and without allocation in the frame loop:

1. an exponential moving average (EMA) of the probability vectors, which damps
   single-frame noise: ``ema = alpha * p + (1 - alpha) * ema``;
2. a threshold: when the best averaged probability is below it, the candidate
   label is ``unknown``;
3. hysteresis: the stable label changes only after the same new candidate
   has led for ``hysteresis`` frames in a row, so the output does not flicker
   between two close classes. The stable label also becomes ``unknown`` after
   its own averaged probability has been below the threshold for
   ``hysteresis`` frames in a row, whichever classes lead meanwhile. So a
   scene whose leader changes every frame (a cut, a dark gap, a blur) does
   not keep an old label with a tiny score.
"""

from dataclasses import dataclass
from typing import Optional, Tuple

import numpy as np

from lince.runtime.errors import LinceError, _

UNKNOWN = "unknown"


@dataclass(frozen=True)
class SmoothingSettings:
    """Settings of :class:`Smoother`.

    Attributes:
        alpha: weight of the newest frame in the moving average, in (0, 1];
            1 turns averaging off.
        hysteresis: frames in a row that a new label must lead before it
            becomes the stable label; 1 switches at once.
        threshold: averaged probability below which the label is ``unknown``;
            0 never reports ``unknown``. A stable label whose own averaged
            probability stays below it for ``hysteresis`` frames becomes
            ``unknown``.
    """

    alpha: float = 0.5
    hysteresis: int = 2
    threshold: float = 0.3

    def __post_init__(self):
        if not 0.0 < self.alpha <= 1.0:
            raise LinceError(_("invalid smoothing {value}: give a number in (0, 1] (1 turns averaging off)")
                             .format(value=self.alpha))
        if self.hysteresis < 1:
            raise LinceError(_("invalid hysteresis {value}: give a number of frames, 1 or more")
                             .format(value=self.hysteresis))
        if not 0.0 <= self.threshold <= 1.0:
            raise LinceError(_("invalid threshold {value}: give a probability in [0, 1]")
                             .format(value=self.threshold))


# No smoothing at all: each frame's own top-1 label, never "unknown".
NO_SMOOTHING = SmoothingSettings(alpha=1.0, hysteresis=1, threshold=0.0)


class Smoother:
    """Keeps the moving average and the hysteresis state between frames.

    The stable index is ``None`` while the label is ``unknown``; before the
    first candidate has led for ``hysteresis`` frames it is ``unknown`` too.
    """

    def __init__(self, settings: SmoothingSettings = SmoothingSettings()):
        self.settings = settings
        self._average: Optional[np.ndarray] = None
        self.stable_index: Optional[int] = None
        self._candidate: Optional[int] = None
        self._candidate_frames = 0
        # Frames in a row with the stable label's own average below the threshold.
        self._weak_frames = 0

    def reset(self) -> None:
        """Forget the history, as after a cut to another camera."""
        self._average = None
        self.stable_index = None
        self._candidate = None
        self._candidate_frames = 0
        self._weak_frames = 0

    def update(self, probabilities: np.ndarray) -> Tuple[Optional[int], float, bool]:
        """Add one frame's probabilities.

        Returns:
            ``(stable_index, stable_score, changed)``: the stable class index
            (``None`` for unknown), its averaged probability (for unknown,
            the best averaged probability) and whether the stable label
            changed with this frame.
        """
        average = self._average_with(probabilities)
        best = int(np.argmax(average))
        threshold = self.settings.threshold
        candidate = best if average[best] >= threshold else None

        if candidate is not None and candidate != self.stable_index:
            if candidate == self._candidate:
                self._candidate_frames += 1
            else:
                self._candidate, self._candidate_frames = candidate, 1
        else:
            self._candidate, self._candidate_frames = None, 0
        # Counted apart from the candidate, so that "unknown" wins even when
        # no single class leads for long enough to replace the stable label.
        weak = self.stable_index is not None and average[self.stable_index] < threshold
        self._weak_frames = self._weak_frames + 1 if weak else 0

        changed = False
        if self._candidate_frames >= self.settings.hysteresis:
            self._switch_to(self._candidate)
            changed = True
        elif self._weak_frames >= self.settings.hysteresis:
            self._switch_to(None)
            changed = True

        index = self.stable_index
        score = float(average[index]) if index is not None else float(average[best])
        return index, score, changed

    def _switch_to(self, index: Optional[int]) -> None:
        self.stable_index = index
        self._candidate, self._candidate_frames = None, 0
        self._weak_frames = 0

    def _average_with(self, probabilities: np.ndarray) -> np.ndarray:
        alpha = self.settings.alpha
        if self._average is None or self._average.shape != probabilities.shape or alpha >= 1.0:
            self._average = np.array(probabilities, dtype=np.float32, copy=True)
            return self._average
        # In place, so the frame loop allocates nothing here.
        self._average *= 1.0 - alpha
        self._average += alpha * probabilities
        return self._average
