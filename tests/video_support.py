"""Read test videos back with OpenCV."""

import cv2


def read_all_frames(path) -> list:
    """Return every frame of the video at ``path``, in order (BGR arrays)."""
    capture = cv2.VideoCapture(str(path))
    frames = []
    try:
        while True:
            ok, frame = capture.read()
            if not ok:
                break
            frames.append(frame)
    finally:
        capture.release()
    return frames
