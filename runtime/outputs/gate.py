"""Decide which results the message outputs publish: every one, on change, or capped."""

import time
from dataclasses import replace
from typing import Callable, Optional

from lince.runtime.errors import _
from lince.runtime.outputs.messages import OutputError, effective_label
from lince.runtime.results import FrameResult


class PublishGate:
    """Filter results by ``--on-change`` and ``--rate``.

    With ``on_change`` a result passes when its stable label differs from the
    last label that passed, so the first result always passes. The gate keeps
    its own record instead of trusting ``FrameResult.changed`` alone, because a
    change that the rate cap held back must still go out once the cap allows.
    ``rate_hz`` caps how many results pass per second (monotonic clock).
    A result that passes with another label than the last one that passed
    carries ``changed=True``, even when the frame where the label changed was
    held back: the message is what tells the robot about the change.
    """

    def __init__(self, on_change: bool = False, rate_hz: Optional[float] = None,
                 clock: Callable[[], float] = time.monotonic):
        if rate_hz is not None and not rate_hz > 0:
            raise OutputError(_("Invalid rate {rate}: give a number of results per second above 0.").format(
                rate=rate_hz))
        self.on_change = on_change
        self.min_interval = 1.0 / rate_hz if rate_hz else 0.0
        self._clock = clock
        self._last_label: Optional[str] = None
        self._last_time: Optional[float] = None

    def admit(self, result: FrameResult) -> bool:
        """Return whether ``result`` should be published, and record it if so."""
        return self.select(result) is not None

    def select(self, result: FrameResult) -> Optional[FrameResult]:
        """Return the result to publish for ``result`` (with ``changed`` set), or None to hold it back."""
        label = effective_label(result)
        first = self._last_time is None
        if self.on_change and not first and label == self._last_label:
            return None
        now = self._clock()
        if not first and now - self._last_time < self.min_interval:
            return None
        missed_change = not first and label != self._last_label and not result.changed
        self._last_label = label
        self._last_time = now
        return replace(result, changed=True) if missed_change else result
