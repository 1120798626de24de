"""Calibration frames sampled evenly from a video file.

A recording from the robot's own camera is often the best representative
data: its light, lens and motion blur are what the model will see.
"""

import logging
from pathlib import Path
from typing import List, Tuple

import cv2
import numpy as np

from lince.runtime.errors import LinceError, _

logger = logging.getLogger(__name__)

VIDEO_SUFFIXES = frozenset({".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv"})


def is_video_path(path: Path) -> bool:
    """Return whether ``path`` has the suffix of a video container."""
    return Path(path).suffix.lower() in VIDEO_SUFFIXES


def evenly_spaced(total: int, count: int) -> List[int]:
    """Return ``min(count, total)`` frame indices spread evenly over ``range(total)``."""
    if total <= 0 or count <= 0:
        return []
    if count >= total:
        return list(range(total))
    # The centre of each of ``count`` equal stretches, so the first and last
    # frames (often black or shaky) are not favoured.
    return [int((index + 0.5) * total / count) for index in range(count)]


def count_frames(path: Path) -> int:
    """Return the number of frames of a video by reading it through (containers may misreport it)."""
    capture = cv2.VideoCapture(str(path))
    total = 0
    try:
        while capture.grab():
            total += 1
    finally:
        capture.release()
    return total


def read_video_frames(path, count: int) -> List[Tuple[int, np.ndarray]]:
    """Return ``(frame index, BGR frame)`` pairs for ``count`` frames sampled evenly from ``path``.

    Raises:
        LinceError: the file cannot be opened or has no frame.
    """
    path = Path(path)
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise LinceError(_("{path}: cannot open the video (unsupported codec or not a video)").format(path=path))
    capture.release()
    total = count_frames(path)
    if total == 0:
        raise LinceError(_("{path}: the video has no readable frame").format(path=path))
    wanted = set(evenly_spaced(total, count))

    frames = []
    capture = cv2.VideoCapture(str(path))
    try:
        # Sequential grab() is reliable for every codec, unlike seeking, and
        # only the chosen frames are decoded.
        for index in range(total):
            if not capture.grab():
                break
            if index in wanted:
                ok, frame = capture.retrieve()
                if ok and frame is not None:
                    frames.append((index, frame))
    finally:
        capture.release()
    if not frames:
        raise LinceError(_("{path}: the video has no readable frame").format(path=path))
    logger.info("Sampled %d of %d frames from %s", len(frames), total, path)
    return frames
