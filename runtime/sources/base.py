"""The frame source interface: BGR frames, one at a time.

A source is opened, read until it ends or fails, and closed, all from one
thread (the capture thread), because camera drivers and ``cv2.VideoCapture``
are not safe to use from two threads at once.
"""

from dataclasses import dataclass
from typing import Optional

import numpy as np


@dataclass(frozen=True)
class SourceSettings:
    """Options that apply to every kind of source.

    Attributes:
        size: requested camera frame ``(width, height)``; ``None`` keeps the
            driver's default. Files and folders ignore it.
        fps: requested camera frame rate; ``None`` keeps the driver's default.
            For a folder of images it is the rate at which real-time playback
            shows them (default 30).
        open_timeout: seconds that opening a network stream may take.
    """

    size: Optional[tuple] = None
    fps: Optional[float] = None
    open_timeout: float = 10.0


class FrameSource:
    """A camera, stream, video file or folder that yields BGR uint8 frames.

    Subclasses set the class attributes and implement the three methods.

    Attributes:
        live: frames come from a camera or stream in real time. A live source
            that fails is reopened; a file that ends is finished.
        description: what the source is, for messages (``camera 0``).
        hint: what the user should check when the source cannot be opened
            or is lost (a camera's cable, a stream's URL); empty for a
            general advice.
    """

    live = True
    description = "source"
    hint = ""

    def open(self) -> None:
        """Open the device or file; raise :class:`SourceError` if it cannot."""
        raise NotImplementedError

    def read(self) -> Optional[np.ndarray]:
        """Return the next ``(H, W, 3)`` uint8 BGR frame, or ``None`` when none came.

        For a live source ``None`` means a failed read; for a file it means the end.
        """
        raise NotImplementedError

    def close(self) -> None:
        """Release the device or file; safe to call twice."""

    @property
    def fps(self) -> Optional[float]:
        """Nominal frame rate, or ``None`` when the source does not report one."""
        return None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.description}>"
