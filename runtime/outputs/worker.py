"""One thread per output, so a slow or failing channel never holds up the camera loop.

Each :class:`SinkWorker` owns a small queue. ``put`` never blocks: when the
queue is full the oldest result is dropped, because a robot wants the newest
one. A failing sink is closed, reopened after an exponential backoff and
reported through logging at a limited rate.
"""

import collections
import logging
import threading
import time
from typing import Optional, Tuple

import numpy as np

from lince.runtime.results import FrameResult

logger = logging.getLogger(__name__)

# Seconds between two reports of the same ongoing failure or of dropped results.
REPORT_INTERVAL_S = 30.0

Item = Tuple[FrameResult, Optional[np.ndarray]]


class SinkUnavailable(Exception):
    """The channel cannot take messages now (not connected, device missing); retry later."""


class MessageRejected(Exception):
    """The channel refused this one message (too large, say); drop it and go on."""


class SinkGone(Exception):
    """The channel is closed for good (stdout closed by the reader); stop this output."""


class Sink:
    """A channel that results are sent through.

    Subclasses set ``name`` (shown in logs, without passwords) and implement
    ``open``, ``send`` and ``close``. ``send`` raises :class:`SinkUnavailable`
    or ``OSError`` when it should be retried after reopening.

    Attributes:
        gated: whether ``--on-change`` and ``--rate`` apply. A preview server
            shows the current state, so it receives every result.
        wants_frames: whether ``send`` needs the camera frame.
        max_frame_rate: frames per second the sink needs at most; the
            frames in between are not copied for it (its results still
            arrive). ``None``: every frame.
        queue_size: results kept while the channel is slow or down.
        reopen_on_failure: whether a failed ``send`` closes the sink so that
            the retry opens it again. A client that reconnects by itself
            (paho-mqtt) keeps its connection object.
        max_retry_delay: maximum wait between two attempts, in seconds.
    """

    name = "output"
    gated = True
    wants_frames = False
    max_frame_rate: Optional[float] = None
    queue_size = 64
    reopen_on_failure = True
    max_retry_delay = 10.0

    def open(self) -> None:
        pass

    def send(self, result: FrameResult, frame: Optional[np.ndarray]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass

    def cancel(self) -> None:
        """Make a blocking ``open`` return soon, because the outputs are closing (called from another thread)."""


class Backoff:
    """Exponential retry delays: ``initial``, doubled each time, at most ``maximum`` seconds."""

    def __init__(self, initial: float = 0.5, maximum: float = 10.0):
        self.initial = initial
        self.maximum = maximum
        self.current = initial

    def next_delay(self) -> float:
        delay = self.current
        self.current = min(self.current * 2, self.maximum)
        return delay

    def reset(self) -> None:
        self.current = self.initial


class SinkWorker:
    """Run one :class:`Sink` in a daemon thread fed by a bounded drop-oldest queue."""

    def __init__(self, sink: Sink, backoff: Optional[Backoff] = None):
        self.sink = sink
        self.backoff = backoff or Backoff(maximum=sink.max_retry_delay)
        self.sent = 0
        self.dropped = 0
        self.failures = 0
        self._queue = collections.deque(maxlen=sink.queue_size)
        self._condition = threading.Condition()
        self._closing = False
        self._deadline = float("inf")
        self._is_open = False
        self._gone = False
        self._dropped_reported = 0
        self._next_frame_at = 0.0
        # Whether the thread waits for the next result (not in a retry delay).
        self._idle = False
        # Monotonic time of the last report of each kind (failure, drops, rejected).
        self._last_report = {}
        self._thread = threading.Thread(target=self._run, name=f"lince-output-{sink.name}", daemon=True)
        self._thread.start()

    def frame_due(self, now: float) -> bool:
        """Return whether the sink takes a frame at monotonic time ``now``, and count it if so."""
        rate = self.sink.max_frame_rate
        if rate is None:
            return True
        if now < self._next_frame_at:
            return False
        # Scheduled from the last due time rather than from now, so a loop a
        # little faster than the rate still gives about the rate. After a
        # pause the schedule restarts at half a period from now.
        period = 1.0 / rate
        self._next_frame_at = max(self._next_frame_at, now - period / 2) + period
        return True

    def put(self, item: Item) -> None:
        """Queue ``item`` without blocking; drop the oldest queued item when full."""
        with self._condition:
            if self._closing or self._gone:
                return
            if len(self._queue) == self._queue.maxlen:
                self.dropped += 1
            self._queue.append(item)
            if self._idle:
                # Only a thread waiting for results needs waking: one in a
                # retry delay would wake for every frame of a broken channel.
                self._condition.notify()

    def close(self, deadline: float) -> None:
        """Ask the thread to send what is queued and stop by ``deadline`` (monotonic)."""
        with self._condition:
            self._closing = True
            self._deadline = deadline
            self._condition.notify()
        self.sink.cancel()

    def join(self, deadline: float) -> bool:
        """Wait for the thread until ``deadline``; return whether it has ended."""
        self._thread.join(max(0.0, deadline - time.monotonic()))
        return not self._thread.is_alive()

    def _run(self) -> None:
        try:
            # Open at once rather than on the first result, so the preview
            # server listens and the MQTT client connects while the camera starts.
            if not self._open_with_retry():
                return
            while True:
                item = self._next_item()
                if item is None:
                    break
                self._deliver(item)
                self._report_dropped()
        finally:
            # Also after a failed open: the MQTT client lives between attempts.
            self._is_open = True
            self._close_sink()

    def _next_item(self) -> Optional[Item]:
        with self._condition:
            while not self._queue:
                if self._closing or self._gone:
                    return None
                self._idle = True
                self._condition.wait()
                self._idle = False
            if self._gone or time.monotonic() > self._deadline:
                self._queue.clear()
                return None
            return self._queue.popleft()

    def _open_with_retry(self) -> bool:
        while True:
            try:
                self.sink.open()
            except Exception as error:  # noqa: BLE001 - see _deliver
                if not self._retry_after(error):
                    return False
                continue
            self._is_open = True
            self._recovered()
            return True

    def _recovered(self) -> None:
        if self.failures:
            logger.warning("%s: working again after %d failed attempts", self.sink.name, self.failures)
            self.failures = 0
            self.backoff.reset()

    def _deliver(self, item: Item) -> None:
        while True:
            try:
                if not self._is_open:
                    self.sink.open()
                    self._is_open = True
                self.sink.send(*item)
            except MessageRejected as error:
                if self._due("rejected"):
                    logger.warning("%s: dropped one result: %s", self.sink.name, error)
                return
            except SinkGone as error:
                logger.warning("%s: stopped this output: %s", self.sink.name, error)
                with self._condition:
                    self._gone = True
                return
            except (OSError, SinkUnavailable) as error:
                if not self._retry_after(error):
                    return
                continue
            except Exception as error:  # noqa: BLE001 - a bug in one output must not end its thread
                # Retrying the same result would fail the same way: drop it.
                if self._due("unexpected"):
                    logger.warning("%s: dropped one result after an unexpected error: %r", self.sink.name, error,
                                   exc_info=error)
                return
            self.sent += 1
            self._recovered()
            return

    def _retry_after(self, error: Exception) -> bool:
        """Close the sink and wait a backoff delay; return False when closing ran out of time."""
        self.failures += 1
        if self.sink.reopen_on_failure:
            self._close_sink()
        delay = self.backoff.next_delay()
        expected = isinstance(error, (OSError, SinkUnavailable))
        if self._due("failure") or self.failures == 1:
            # An unexpected exception type (only from open) gets its traceback.
            logger.warning("%s: %s (attempt %d); retrying in %.1f s", self.sink.name,
                           error or type(error).__name__, self.failures, delay,
                           exc_info=None if expected else error)
        with self._condition:
            end = min(time.monotonic() + delay, self._deadline)
            while not self._closing_timed_out() and time.monotonic() < end:
                self._condition.wait(end - time.monotonic())
            return not self._closing_timed_out()

    def _closing_timed_out(self) -> bool:
        return self._closing and time.monotonic() >= self._deadline

    def _due(self, kind: str) -> bool:
        """Return whether a report of ``kind`` may be logged now, and record it if so."""
        now = time.monotonic()
        if now - self._last_report.get(kind, -float("inf")) < REPORT_INTERVAL_S:
            return False
        self._last_report[kind] = now
        return True

    def _report_dropped(self) -> None:
        if self.dropped > self._dropped_reported and self._due("dropped"):
            logger.warning("%s: dropped %d results in total because the output is slower than the camera",
                           self.sink.name, self.dropped)
            self._dropped_reported = self.dropped

    def _close_sink(self) -> None:
        if not self._is_open:
            return
        self._is_open = False
        try:
            self.sink.close()
        except Exception as error:  # noqa: BLE001 - closing a broken channel may fail too
            logger.debug("%s: error while closing: %s", self.sink.name, error)
