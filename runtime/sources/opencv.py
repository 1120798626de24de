"""Sources read through ``cv2.VideoCapture``: cameras, streams, pipelines and files.

OpenCV delivers frames in BGR order, which is what the rest of lince takes.
"""

import logging
import sys
from pathlib import Path
from typing import Optional

import cv2
import numpy as np

from lince.runtime.errors import SourceError, _
from lince.runtime.sources.base import FrameSource, SourceSettings

logger = logging.getLogger(__name__)

# Video drivers on Linux are reached through V4L2; elsewhere OpenCV picks.
CAMERA_BACKEND = cv2.CAP_V4L2 if sys.platform.startswith("linux") else cv2.CAP_ANY


def opencv_has_gstreamer() -> bool:
    """Return whether this OpenCV build was compiled with GStreamer support."""
    for line in cv2.getBuildInformation().splitlines():
        if line.strip().startswith("GStreamer:"):
            return "YES" in line
    return False


class OpenCVSource(FrameSource):
    """A ``cv2.VideoCapture`` source.

    Args:
        target: camera index, device path, GStreamer pipeline, URL or file path.
        backend: ``cv2.CAP_*`` API preference.
        live: whether this is a camera or stream (reopened on faults) rather
            than a file (ends at its last frame).
        description: what to call the source in messages.
        settings: requested frame size and rate (cameras only).
        hint: what the user can check when the source does not open.
    """

    def __init__(self, target, backend: int, live: bool, description: str,
                 settings: SourceSettings = SourceSettings(), hint: str = ""):
        self.target = target
        self.backend = backend
        self.live = live
        self.description = description
        self.settings = settings
        self.hint = hint
        self._capture: Optional[cv2.VideoCapture] = None

    def open(self) -> None:
        self.close()
        target = str(self.target) if isinstance(self.target, Path) else self.target
        params = []
        if self.backend == cv2.CAP_FFMPEG and self.live:
            # Bound how long a dead network stream may block open and read.
            timeout_ms = int(self.settings.open_timeout * 1000)
            params = [cv2.CAP_PROP_OPEN_TIMEOUT_MSEC, timeout_ms, cv2.CAP_PROP_READ_TIMEOUT_MSEC, timeout_ms]
        capture = cv2.VideoCapture(target, self.backend, params)
        if not capture.isOpened():
            capture.release()
            raise SourceError(_("{source}: cannot open it through OpenCV ({backend}). {hint}").format(
                source=self.description, backend=backend_name(self.backend), hint=self.hint).strip())
        if self.live:
            self._apply_camera_settings(capture)
        self._capture = capture
        logger.info("Opened %s (%s, %.3g fps)", self.description, backend_name(self.backend), self.fps or 0.0)

    def _apply_camera_settings(self, capture) -> None:
        if self.settings.size is not None:
            width, height = self.settings.size
            capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
            capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        if self.settings.fps is not None:
            capture.set(cv2.CAP_PROP_FPS, self.settings.fps)
        # Ask the driver to queue as few frames as it can; the capture thread
        # drops stale frames anyway, but fewer queued buffers mean fresher ones.
        capture.set(cv2.CAP_PROP_BUFFERSIZE, 1)

    def read(self) -> Optional[np.ndarray]:
        if self._capture is None:
            return None
        ok, frame = self._capture.read()
        if not ok or frame is None:
            return None
        return _to_bgr(frame)

    def close(self) -> None:
        if self._capture is not None:
            self._capture.release()
            self._capture = None

    @property
    def fps(self) -> Optional[float]:
        if self._capture is None:
            return None
        value = self._capture.get(cv2.CAP_PROP_FPS)
        # Some drivers and containers report 0 or absurd rates when unknown.
        return float(value) if 0.0 < value < 1000.0 else None


def _to_bgr(frame: np.ndarray) -> np.ndarray:
    """Return a 3-channel BGR frame from a grey or BGRA one."""
    if frame.ndim == 2:
        return cv2.cvtColor(frame, cv2.COLOR_GRAY2BGR)
    if frame.shape[2] == 4:
        return cv2.cvtColor(frame, cv2.COLOR_BGRA2BGR)
    return frame


def backend_name(backend: int) -> str:
    """Return the name of a ``cv2.CAP_*`` backend, for messages."""
    try:
        return cv2.videoio_registry.getBackendName(backend)
    except cv2.error:
        return "any backend"


def camera_source(spec, settings: SourceSettings) -> OpenCVSource:
    """Return the source of an OpenCV camera index or a V4L2 device path."""
    hint = _("Check that the camera is connected (ls /dev/video*), that no other program uses it, "
             "and that you may read it (group 'video').")
    description = _("camera {index}").format(index=spec.target) if isinstance(spec.target, int) else str(spec.target)
    return OpenCVSource(spec.target, CAMERA_BACKEND, True, description, settings, hint)


def gstreamer_source(spec, settings: SourceSettings) -> OpenCVSource:
    """Return the source of a GStreamer pipeline ending in ``appsink``."""
    if not opencv_has_gstreamer():
        raise SourceError(_(
            "{pipeline!r}: this OpenCV build has no GStreamer support (opencv-python-headless wheels have "
            "none); install OpenCV from your distribution (apt install python3-opencv) to use pipelines")
            .format(pipeline=spec.target))
    hint = _("Check that the pipeline ends in 'appsink' and runs with gst-launch-1.0.")
    return OpenCVSource(spec.target, cv2.CAP_GSTREAMER, True, _("GStreamer pipeline"), settings, hint)


def stream_source(spec, settings: SourceSettings) -> OpenCVSource:
    """Return the source of an RTSP, RTMP or HTTP stream, read with FFmpeg."""
    hint = _("Check the URL, that the stream is up and that this machine can reach it.")
    return OpenCVSource(spec.target, cv2.CAP_FFMPEG, True, spec.target, settings, hint)


def video_file_source(spec, settings: SourceSettings) -> OpenCVSource:
    """Return the source of a video file, read once from start to end."""
    hint = _("The file may be corrupt or in a codec this OpenCV build cannot decode; MPEG-4 (mp4v) "
             "and H.264 files work with opencv-python-headless.")
    return OpenCVSource(Path(spec.target), cv2.CAP_FFMPEG, False, str(spec.target), settings, hint)
