"""The capture thread: reads a source and hands over only the newest frame.

A camera keeps producing frames whether or not the model keeps up. A loop
that read them in order would classify ever older frames. Instead, a thread
reads the camera continuously and keeps only the newest one, so each
inference starts on a fresh frame. Files read with ``realtime=False`` are the
exception: every frame is handed over, in order (:class:`PrefetchReader`
also prepares the frames for the model ahead of time).

The same thread recovers a live source. A source that stops delivering,
delivers the same image again and again (frozen) or raises is closed and
reopened with exponential backoff. Repeated images are handed over and
classified like any other frame until the stall timeout decides on a reopen. After ``max_reopen`` failed attempts in a
row the capture ends with a :class:`SourceError`.
"""

import collections
import logging
import threading
import time
from dataclasses import dataclass
from typing import Optional

import numpy as np

from lince.runtime.errors import SourceError, _, ngettext
from lince.runtime.sources.base import FrameSource

logger = logging.getLogger(__name__)

# Sampling step of the freeze check: comparing every 16th pixel of two frames
# costs microseconds and still differs between real frames, because sensor noise
# changes nearly every pixel.
_FREEZE_STEP = 16
# Wait between reads that return nothing, so a failing source never spins the CPU.
_FAILED_READ_PAUSE = 0.02
# Seconds of failed reads before a reopen when the stall timeout is turned off.
_FAILED_READS_TIMEOUT = 10.0
# Waits on the hand-over slot are sliced so that stop requests are seen quickly.
_WAIT_SLICE = 0.1


@dataclass(frozen=True)
class Frame:
    """One captured frame.

    Attributes:
        image: ``(H, W, 3)`` uint8 BGR pixels.
        number: index of the frame in its source, from 0 (a video file's frame number).
        capture_time: when the read returned, seconds since the epoch.
        capture_monotonic: the same instant on :func:`time.monotonic`, to measure age.
        read_ms: time the source took to deliver the frame, in ms.
        prepared: the model input made from ``image`` ahead of time, if any.
        prepare_ms: time taken to make ``prepared``, in ms.
        repeated: a live source delivered the same image as the frame
            before (the freeze check's sample is equal).
    """

    image: np.ndarray
    number: int
    capture_time: float
    capture_monotonic: float
    read_ms: float
    prepared: Optional[np.ndarray] = None
    prepare_ms: float = 0.0
    repeated: bool = False


@dataclass(frozen=True)
class RecoverySettings:
    """Fault detection and recovery settings of the capture thread, for live sources.

    Attributes:
        stall_timeout: seconds without a new frame (no frame at all, or the
            same image again) after which a live source is reopened. 0 turns
            the frozen-image check off, and failed reads then reopen the
            source after 10 s.
        max_reopen: failed recoveries in a row before the capture gives up.
        backoff_initial: wait before the first reopen attempt, in seconds;
            it doubles with each failed attempt.
        backoff_max: maximum wait between attempts, in seconds.
        hang_timeout: seconds a single read may block before the consumer
            gives up on the source.
    """

    stall_timeout: float = 2.0
    max_reopen: int = 5
    backoff_initial: float = 0.5
    backoff_max: float = 8.0
    hang_timeout: float = 30.0


class CaptureThread:
    """Reads ``source`` in a background thread; :meth:`next_frame` returns frames.

    Args:
        source: an opened :class:`FrameSource`; this object closes it.
        realtime: for a file, play it at its own frame rate and keep only the
            newest frame, as a camera would. ``False`` hands over every frame.
            Live sources are always real time.
        recovery: fault detection and reopen settings.
    """

    def __init__(self, source: FrameSource, realtime: bool = True,
                 recovery: RecoverySettings = RecoverySettings()):
        self.source = source
        self.recovery = recovery
        self.keep_newest = source.live or realtime
        self._pace = realtime and not source.live
        self._condition = threading.Condition()
        self._stop = threading.Event()
        self._pending: Optional[Frame] = None
        self._finished = False
        self._error: Optional[SourceError] = None
        self._read_started: Optional[float] = None
        self._previous_sample: Optional[np.ndarray] = None
        self._fresh = False
        self._stop_reported = False
        self._thread = threading.Thread(target=self._run, name="lince-capture", daemon=True)
        self.frames_read = 0
        self.frames_dropped = 0
        self.reopen_count = 0
        self.latest_number = -1

    def start(self) -> "CaptureThread":
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the thread to end and wait up to ``timeout`` seconds for it; safe to call twice."""
        self._stop.set()
        with self._condition:
            self._condition.notify_all()
        if self._stop_reported or not self._thread.is_alive() or threading.current_thread() is self._thread:
            return
        hung = self._read_is_hung()
        # Joining a hung read would wait for a driver call that may never return.
        self._thread.join(0.0 if hung else timeout)
        if self._thread.is_alive():
            # Reported once: the pipeline and the command line both stop the capture.
            self._stop_reported = True
            # Limitation: a driver read that never returns keeps its daemon
            # thread (and the device) until the process exits.
            if hung:
                logger.warning("A read of %s is blocked in its driver; its capture thread is left behind",
                               self.source.description)
            else:
                logger.warning("The capture thread of %s did not stop within %.0f s",
                               self.source.description, timeout)

    # -- consumer side ------------------------------------------------------

    def next_frame(self, stop: Optional[threading.Event] = None, deadline: Optional[float] = None) -> Optional[Frame]:
        """Wait for a frame not handed over before and return it.

        Returns ``None`` when the source has ended, ``stop`` is set or the
        :func:`time.monotonic` ``deadline`` has passed.

        Raises:
            SourceError: the source failed for good, or a read blocked longer
                than ``hang_timeout``.
        """
        with self._condition:
            while True:
                if self._pending is not None:
                    frame, self._pending = self._pending, None
                    self._condition.notify_all()
                    return frame
                if self._error is not None:
                    raise self._error
                if self._finished or (stop is not None and stop.is_set()):
                    return None
                if deadline is not None and time.monotonic() >= deadline:
                    return None
                self._check_hang()
                self._condition.wait(_WAIT_SLICE)

    def _read_is_hung(self) -> bool:
        started = self._read_started
        return started is not None and time.monotonic() - started > self.recovery.hang_timeout

    def _check_hang(self) -> None:
        if self._read_is_hung():
            raise SourceError(_("{source}: a read has blocked for more than {seconds:.0f} s; giving up on the source")
                              .format(source=self.source.description, seconds=self.recovery.hang_timeout))

    # -- capture thread -----------------------------------------------------

    def _run(self) -> None:
        try:
            self._capture_with_recovery()
        except SourceError as error:
            logger.debug("Capture ended: %s", error)
            with self._condition:
                self._error = error
        except Exception as error:  # report any driver failure to the consumer instead of dying silently
            logger.exception("Capture thread failed")
            with self._condition:
                self._error = SourceError(_("{source}: capture failed ({reason})").format(
                    source=self.source.description, reason=error))
        finally:
            self.source.close()
            with self._condition:
                self._finished = True
                self._condition.notify_all()

    def _capture_with_recovery(self) -> None:
        failures = 0
        while not self._stop.is_set():
            self._fresh = False
            fault = self._read_until_fault()
            if fault is None:
                return
            if self._fresh:
                # The source worked again since the last fault: a new count starts.
                failures = 0
            logger.warning("%s: %s; reopening it", self.source.description, fault)
            self.source.close()
            failures = self._reopen(failures)
            if failures < 0:
                return

    def _reopen(self, failures: int) -> int:
        """Reopen the source with backoff; return the failure count, or -1 if stopped."""
        last_error = ""
        while True:
            if failures >= self.recovery.max_reopen:
                raise self._lost_error(failures, last_error)
            delay = min(self.recovery.backoff_max, self.recovery.backoff_initial * 2 ** failures)
            failures += 1
            if self._stop.wait(delay):
                return -1
            try:
                self.source.open()
            except SourceError as error:
                last_error = str(error)
                logger.warning("Reopen attempt %d of %s failed: %s", failures, self.source.description, error)
                continue
            self.reopen_count += 1
            logger.warning("Reopened %s (attempt %d)", self.source.description, failures)
            return failures

    def _lost_error(self, failures: int, last_error: str) -> SourceError:
        # The hint names what to check for this kind of source: a cable for a
        # camera, the URL and the network for a stream.
        hint = self.source.hint or _("Check the source and its connection.")
        message = ngettext("{source}: lost, and {count} attempt to reopen it failed ({reason}). "
                           "{hint} Then start again.",
                           "{source}: lost, and {count} attempts to reopen it failed ({reason}). "
                           "{hint} Then start again.", failures)
        return SourceError(message.format(source=self.source.description, count=failures,
                                           reason=self._bare_reason(last_error, hint), hint=hint.rstrip(".") + "."))

    def _bare_reason(self, error: str, hint: str) -> str:
        """Return ``error`` without the source name and the hint that the lost-source message adds anyway."""
        prefix = self.source.description + ": "
        reason = error[len(prefix):] if error.startswith(prefix) else error
        reason = reason.replace(hint, "").strip().rstrip(".").strip()
        return reason or _("no new frames")

    def _read_until_fault(self) -> Optional[str]:
        """Read and hand over frames; return why a live source must be reopened, or None at the end."""
        live = self.source.live
        check_freeze = live and self.recovery.stall_timeout > 0
        stall_timeout = self.recovery.stall_timeout if self.recovery.stall_timeout > 0 else _FAILED_READS_TIMEOUT
        last_fresh = time.monotonic()
        started = time.monotonic()
        first_number = self.frames_read
        fps = self.source.fps or 30.0

        while not self._stop.is_set():
            image, read_ms = self._timed_read()
            now = time.monotonic()
            if image is None:
                if not live:
                    return None
                if now - last_fresh > stall_timeout:
                    return _("no frame for {seconds:.1f} s").format(seconds=now - last_fresh)
                self._stop.wait(_FAILED_READ_PAUSE)
                continue

            repeated = check_freeze and self._is_repeat(image)
            if repeated and now - last_fresh > stall_timeout:
                return _("the same image for {seconds:.1f} s (frozen)").format(seconds=now - last_fresh)
            if not repeated:
                last_fresh = now
                self._fresh = True

            number = self.frames_read
            self.frames_read += 1
            if self._pace:
                # A file played as a camera: frame n is due n/fps after the start.
                due = started + (number - first_number) / fps
                if due > now and self._stop.wait(due - now):
                    return None
            # A repeated image is still a real frame (a dark scene, a camera
            # that re-sends the same JPEG), so it is classified. Only the
            # reopen decision above depends on the repeat.
            self._hand_over(Frame(image, number, time.time(), time.monotonic(), read_ms, repeated=repeated))
            if repeated and read_ms < _FAILED_READ_PAUSE * 1000.0:
                # A driver that returns its last buffer at once must not spin the CPU.
                self._stop.wait(_FAILED_READ_PAUSE)
        return None

    def _is_repeat(self, image: np.ndarray) -> bool:
        """Return whether ``image`` looks the same as the previous frame, and remember it."""
        # Kept across reopens, so a camera that comes back frozen on the same
        # image is not mistaken for a recovered one.
        sample = image[::_FREEZE_STEP, ::_FREEZE_STEP]
        if self._previous_sample is not None and np.array_equal(sample, self._previous_sample):
            return True
        self._previous_sample = sample.copy()
        return False

    def _timed_read(self):
        start = time.perf_counter()
        self._read_started = time.monotonic()
        try:
            image = self.source.read()
        except (SourceError, OSError, RuntimeError, ValueError) as error:
            logger.warning("%s: read failed: %s", self.source.description, error)
            image = None
        finally:
            self._read_started = None
        return image, (time.perf_counter() - start) * 1000.0

    def _hand_over(self, frame: Frame) -> None:
        with self._condition:
            if self.keep_newest:
                if self._pending is not None:
                    self.frames_dropped += 1
            else:
                # Every frame counts: wait until the consumer took the previous one.
                while self._pending is not None and not self._stop.is_set():
                    self._condition.wait(_WAIT_SLICE)
            self._pending = frame
            self.latest_number = frame.number
            self._condition.notify_all()


class PrefetchReader:
    """Reads a file or folder ahead, every frame in order, and prepares each for the model.

    Used for ``realtime=False``: a thread decodes the next frames and runs
    ``prepare`` (crop, resize, colour order) on them while the model works on
    the current one, so these steps overlap with inference instead of adding
    to it. A bounded buffer keeps memory flat. It has the
    :class:`CaptureThread` interface.

    The reader refills the buffer in bursts: once full, it sleeps until the
    loop has taken all but ``low_water`` frames. Waking it for every frame
    would cost a thread switch per frame, and on a two-core machine each
    switch takes a core away from the interpreter's threads mid-inference.

    Args:
        source: an opened file or folder source; this object closes it.
        prepare: ``prepare(image) -> model input``, or ``None`` to hand
            over raw frames only.
        depth: frames read ahead at most.
        low_water: frames left in the buffer when the reader starts again.
    """

    keep_newest = False
    frames_dropped = 0
    reopen_count = 0

    def __init__(self, source: FrameSource, prepare=None, depth: int = 8, low_water: int = 2):
        if not 0 <= low_water < depth:
            raise ValueError(f"invalid low_water {low_water}: give a value from 0 to depth - 1 ({depth - 1})")
        self.source = source
        self._prepare = prepare
        self._depth = depth
        self._low_water = low_water
        self._buffer: "collections.deque" = collections.deque()
        self._condition = threading.Condition()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lince-prefetch", daemon=True)
        self._done = False
        self.frames_read = 0
        self.latest_number = -1

    def start(self) -> "PrefetchReader":
        self._thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        self._stop.set()
        with self._condition:
            self._condition.notify_all()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def next_frame(self, stop: Optional[threading.Event] = None, deadline: Optional[float] = None) -> Optional[Frame]:
        """Return the next frame, or ``None`` at the end, on ``stop`` or after ``deadline``.

        Raises:
            LinceError: reading or preparing a frame failed.
        """
        with self._condition:
            while not self._done:
                if (stop is not None and stop.is_set()) or (deadline is not None and time.monotonic() >= deadline):
                    return None
                if not self._buffer:
                    self._condition.wait(_WAIT_SLICE)
                    continue
                item = self._buffer.popleft()
                if len(self._buffer) == self._low_water:
                    self._condition.notify_all()
                if isinstance(item, Frame):
                    return item
                self._done = True
                if isinstance(item, BaseException):
                    raise item
        return None

    def _run(self) -> None:
        try:
            while not self._stop.is_set():
                frame = self._read_one()
                if frame is None:
                    break
                self._put(frame)
            self._put(_END)
        except Exception as error:  # handed to the consumer, which raises it in its own thread
            self._put(error)
        finally:
            self.source.close()

    def _read_one(self) -> Optional[Frame]:
        start = time.perf_counter()
        image = self.source.read()
        read_ms = (time.perf_counter() - start) * 1000.0
        if image is None:
            return None
        prepared, prepare_ms = None, 0.0
        if self._prepare is not None:
            start = time.perf_counter()
            prepared = self._prepare(image)
            prepare_ms = (time.perf_counter() - start) * 1000.0
        number = self.frames_read
        self.frames_read += 1
        self.latest_number = number
        return Frame(image, number, time.time(), time.monotonic(), read_ms, prepared, prepare_ms)

    def _put(self, item) -> None:
        with self._condition:
            if len(self._buffer) >= self._depth:
                # Full: sleep until the loop has drained the buffer to the low-water mark.
                while len(self._buffer) > self._low_water and not self._stop.is_set():
                    self._condition.wait(_WAIT_SLICE)
            if self._stop.is_set():
                return
            self._buffer.append(item)
            if len(self._buffer) == 1:
                # The loop may be waiting on an empty buffer.
                self._condition.notify_all()


# Marks the end of a prefetched source in the buffer.
_END = object()
