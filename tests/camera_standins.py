"""Stand-in cameras for the camera loop tests: no camera exists on the test machines.

``ScriptedCamera`` is a live :class:`FrameSource` that delivers frames at a
fixed rate, like a V4L2 camera whose ``read`` blocks until the next frame,
and follows a script of faults. ``fake_picamera2_module`` builds a module
that follows the ``picamera2`` API.
"""

import threading
import time
import types
from dataclasses import dataclass
from typing import List, Optional

import cv2
import numpy as np

from lince.runtime.errors import SourceError
from lince.runtime.sources.base import FrameSource


@dataclass
class Session:
    """What the camera does after one successful open.

    ``good`` frames (each different, with sensor noise), then ``then``:
    ``"fail"`` (reads return nothing), ``"freeze"`` (the last image again
    and again) or ``"ok"`` (good frames forever).
    """

    good: int = 10**9
    then: str = "ok"


class ScriptedCamera(FrameSource):
    """A live stand-in camera.

    Args:
        fps: frames per second; ``read`` sleeps until the next frame is due.
        sessions: one :class:`Session` per successful open, in order; the
            last one repeats.
        open_results: outcome of each open attempt (True: opens); when the
            list runs out, the last value repeats.
        size: frame ``(width, height)``.
    """

    live = True

    def __init__(self, fps: float = 30.0, sessions: Optional[List[Session]] = None,
                 open_results: Optional[List[bool]] = None, size=(64, 48)):
        self._fps = fps
        self.sessions = sessions or [Session()]
        self.open_results = open_results or [True]
        self.size = size
        self.description = "stand-in camera"
        self.open_attempts = 0
        self.opens = 0
        self.closes = 0
        self.reads = 0
        self.frames_made = 0  # frames the sensor has produced so far (the "counter")
        self.is_open = False
        self._session: Optional[Session] = None
        self._delivered_in_session = 0
        self._last_image: Optional[np.ndarray] = None
        self._next_due = 0.0
        self._rng = np.random.default_rng(0)
        self._lock = threading.Lock()

    @property
    def fps(self):
        return self._fps

    def open(self) -> None:
        result = self.open_results[min(self.open_attempts, len(self.open_results) - 1)]
        self.open_attempts += 1
        if not result:
            raise SourceError("stand-in camera: not found")
        self._session = self.sessions[min(self.opens, len(self.sessions) - 1)]
        self.opens += 1
        self._delivered_in_session = 0
        self._next_due = time.monotonic()
        self.is_open = True

    def read(self):
        self.reads += 1
        if not self.is_open:
            return None
        # Like a camera driver: block until the sensor delivers the next frame.
        delay = self._next_due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        self._next_due = max(self._next_due + 1.0 / self._fps, time.monotonic() - 1.0 / self._fps)
        session = self._session
        if self._delivered_in_session >= session.good and session.then == "fail":
            return None
        if self._delivered_in_session >= session.good and session.then == "freeze":
            return self._last_image.copy()
        self._delivered_in_session += 1
        with self._lock:
            self.frames_made += 1
            number = self.frames_made
        image = self._rng.integers(0, 256, (self.size[1], self.size[0], 3), dtype=np.uint8)
        image[0, 0, :] = number % 256  # also differs between frames in the 16-pixel freeze sample
        self._last_image = image
        return image

    def close(self) -> None:
        if self.is_open:
            self.closes += 1
        self.is_open = False


class HangingCamera(ScriptedCamera):
    """Delivers ``good`` frames, then a read blocks for ``hang_seconds``."""

    def __init__(self, good: int = 5, hang_seconds: float = 3.0, **kwargs):
        super().__init__(**kwargs)
        self.good = good
        self.hang_seconds = hang_seconds

    def read(self):
        if self.frames_made >= self.good:
            time.sleep(self.hang_seconds)
            return None
        return super().read()


class VideoCamera(FrameSource):
    """A live stand-in camera that shows a video file's frames at the file's rate.

    ``read`` blocks until the next frame is due, as a camera driver does, and
    returns ``None`` after ``max_frames`` frames or at the end of the file.
    """

    live = True

    def __init__(self, path, max_frames: Optional[int] = None):
        self.path = str(path)
        self.max_frames = max_frames
        self.description = "stand-in video camera"
        self.delivered = 0
        self._capture = None
        self._next_due = 0.0

    @property
    def fps(self):
        return 30.0

    def open(self) -> None:
        self._capture = cv2.VideoCapture(self.path)
        if not self._capture.isOpened():
            raise SourceError(f"{self.path}: cannot open")
        self._next_due = time.monotonic()

    def read(self):
        if self._capture is None or (self.max_frames is not None and self.delivered >= self.max_frames):
            return None
        delay = self._next_due - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        self._next_due += 1.0 / self.fps
        ok, image = self._capture.read()
        if not ok:
            return None
        self.delivered += 1
        return image

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None


def fake_picamera2_module(frame_rgb888: np.ndarray, fail_start: bool = False, fps: float = 30.0) -> types.ModuleType:
    """Return a module with the ``picamera2.Picamera2`` API that delivers ``frame_rgb888``.

    As with a real camera in the ``RGB888`` format, the array's bytes are in
    B, G, R order. ``capture_array`` waits for the next frame at ``fps``, and
    the top-left 16x16 block changes with each frame, as sensor noise would.
    The module records what the adapter asked for in ``calls``.
    """
    module = types.ModuleType("picamera2")
    module.calls = []
    module.frames = 0

    class Picamera2:
        def __init__(self, camera_num=0):
            module.calls.append(("init", camera_num))
            self.started = False
            self.config = None

        def create_video_configuration(self, main=None, controls=None, **kwargs):
            module.calls.append(("create_video_configuration", dict(main or {}), dict(controls or {})))
            return {"use_case": "video", "main": dict(main or {}), "controls": dict(controls or {})}

        def create_preview_configuration(self, main=None, controls=None, **kwargs):
            return {"use_case": "preview", "main": dict(main or {}), "controls": dict(controls or {})}

        def configure(self, config):
            if config["main"].get("format") not in ("RGB888", "XBGR8888", "BGR888", "XRGB8888", "YUV420"):
                raise RuntimeError("invalid format")
            self.config = config
            module.calls.append(("configure", config["main"].get("format")))

        def start(self):
            if fail_start:
                raise RuntimeError("Camera __init__ sequence did not complete.")
            self.started = True
            module.calls.append(("start",))

        def capture_array(self, name="main"):
            if not self.started:
                raise RuntimeError("Camera must be started before capturing")
            time.sleep(1.0 / fps)
            width, height = self.config["main"]["size"]
            frame = cv2.resize(frame_rgb888, (width, height), interpolation=cv2.INTER_NEAREST)
            module.frames += 1
            frame[:16, :16] = module.frames % 256
            return frame

        def stop(self):
            self.started = False
            module.calls.append(("stop",))

        def close(self):
            module.calls.append(("close",))

    module.Picamera2 = Picamera2
    return module
