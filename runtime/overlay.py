"""Draw, show and record annotated frames: each frame with its label, score, FPS and latency."""

import logging
import os
from contextlib import ExitStack
from pathlib import Path
from typing import Optional, Tuple

import cv2
import numpy as np

from lince.runtime.atomic import atomic_path, check_writable
from lince.runtime.errors import LinceError, _
from lince.runtime.results import FrameResult

logger = logging.getLogger(__name__)

# Container suffix -> FourCC that opencv-python-headless writes without extra codecs.
RECORD_CODECS = {".mp4": "mp4v", ".avi": "MJPG", ".mkv": "mp4v"}
_GREEN = (60, 220, 60)
_AMBER = (0, 190, 255)
_WHITE = (255, 255, 255)
_FONT = cv2.FONT_HERSHEY_SIMPLEX


def draw_overlay(frame_bgr: np.ndarray, result: FrameResult, fps: float,
                 roi: Optional[Tuple[int, int, int, int]] = None) -> np.ndarray:
    """Return a copy of ``frame_bgr`` with the stable label, its score, FPS and latency drawn on it."""
    image = frame_bgr.copy()
    height, width = image.shape[:2]
    scale = max(0.4, min(width, height) / 600.0)
    thickness = max(1, round(scale * 2))
    line_height = int(30 * scale)

    known = result.stable_index is not None
    title = f"{result.stable_label} {result.stable_score:.2f}"
    details = f"{fps:.1f} fps  {result.inference_ms:.1f} ms  age {result.frame_age_ms:.0f} ms"
    # A dark band keeps the text readable on any picture.
    band = image[: line_height * 2 + 8]
    band[:] = (band * 0.4).astype(np.uint8)
    cv2.putText(image, title[:60], (8, line_height), _FONT, scale, _GREEN if known else _AMBER, thickness,
                cv2.LINE_AA)
    cv2.putText(image, details, (8, line_height * 2), _FONT, scale * 0.7, _WHITE, max(1, thickness - 1),
                cv2.LINE_AA)
    if roi is not None:
        x, y, w, h = roi
        cv2.rectangle(image, (x, y), (x + w - 1, y + h - 1), _GREEN, thickness)
    return image


class Window:
    """An OpenCV window that shows annotated frames where a display exists."""

    def __init__(self, title: str):
        self.title = title
        self._open = False

    @staticmethod
    def display_available() -> bool:
        """Return whether a window can be shown: a display server and an OpenCV build with a GUI."""
        if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
            return False
        try:
            cv2.namedWindow("lince-probe", cv2.WINDOW_NORMAL)
            cv2.destroyWindow("lince-probe")
        except cv2.error:
            # opencv-python-headless has no GUI module.
            return False
        return True

    def show(self, image: np.ndarray) -> bool:
        """Show ``image``; return False when the user closed the window or pressed q or Esc."""
        if not self._open:
            cv2.namedWindow(self.title, cv2.WINDOW_NORMAL)
            self._open = True
        cv2.imshow(self.title, image)
        key = cv2.waitKey(1) & 0xFF
        if key in (ord("q"), 27):
            return False
        return cv2.getWindowProperty(self.title, cv2.WND_PROP_VISIBLE) >= 1

    def close(self) -> None:
        if self._open:
            cv2.destroyWindow(self.title)
            cv2.waitKey(1)
            self._open = False


class VideoRecorder:
    """Writes frames to a video file atomically: the file appears complete when closed.

    The output file is checked when the recorder is made, before the loop
    starts; the writer opens at the first frame, whose size it takes.

    Args:
        path: ``.mp4``, ``.avi`` or ``.mkv`` file to write.
        fps: frame rate written in the file.
        overwrite: replace an existing file.
    """

    def __init__(self, path, fps: float, overwrite: bool = False):
        self.path = check_writable(path, overwrite)
        codec = RECORD_CODECS.get(self.path.suffix.lower())
        if codec is None:
            raise LinceError(_("--record {path}: unsupported video type; use a .mp4, .avi or .mkv file name")
                             .format(path=self.path))
        self.fps = fps
        self._fourcc = cv2.VideoWriter_fourcc(*codec)
        self._stack = ExitStack()
        self._writer: Optional[cv2.VideoWriter] = None
        self._video_path: Optional[Path] = None
        self._size: Optional[Tuple[int, int]] = None
        self.frames_written = 0

    def write(self, image: np.ndarray) -> None:
        if self._writer is None:
            self._open(image)
        if (image.shape[1], image.shape[0]) != self._size:
            # A camera reopened at another size: keep the file's size.
            image = cv2.resize(image, self._size)
        self._writer.write(image)
        self.frames_written += 1

    def _open(self, image: np.ndarray) -> None:
        part = self._stack.enter_context(atomic_path(self.path))
        # OpenCV picks the container from the suffix, which atomic_path's
        # temporary name lacks, so the video goes to a sibling and is moved
        # over the temporary file on close.
        self._video_path = part.with_name(part.name + self.path.suffix)
        self._size = (image.shape[1], image.shape[0])
        writer = cv2.VideoWriter(str(self._video_path), self._fourcc, self.fps, self._size)
        if not writer.isOpened():
            self._stack.close()
            raise LinceError(_("--record {path}: OpenCV cannot write this video type here").format(path=self.path))
        self._writer = writer
        self._part = part

    def close(self) -> None:
        """Finish the file and move it into place (nothing is written when no frame came)."""
        if self._writer is None:
            return
        self._writer.release()
        self._writer = None
        try:
            os.replace(self._video_path, self._part)
            self._stack.close()
        finally:
            if self._video_path.exists():
                self._video_path.unlink()
        logger.info("Recorded %d frames to %s", self.frames_written, self.path)
