"""Decode image files into 8-bit BGR arrays, the way OpenCV's camera frames come.

One decoder serves the classifier, calibration and evaluation, so a photo is
read the same way everywhere: EXIF orientation applied, grayscale expanded to
three channels, 16-bit samples reduced to 8 bits, and transparency composited
over white.
"""

import logging
from pathlib import Path

import cv2
import numpy as np

from lince.runtime.errors import ImageDecodeError, _

logger = logging.getLogger(__name__)

IMAGE_SUFFIXES = frozenset(
    {".jpg", ".jpeg", ".jpe", ".png", ".bmp", ".webp", ".tif", ".tiff", ".gif", ".ppm", ".pgm", ".pnm"}
)

# Formats that may carry an alpha channel, recognised by their first bytes.
_ALPHA_SIGNATURES = (b"\x89PNG", b"RIFF", b"II*\x00", b"MM\x00*", b"GIF8")
_JPEG_SIGNATURE = b"\xff\xd8"
_JPEG_END = b"\xff\xd9"
# Transparent pixels are shown over white, as image viewers and browsers do.
_BACKGROUND = 255.0


def is_image_path(path: Path) -> bool:
    """Return whether ``path`` has the suffix of an image format OpenCV decodes."""
    return path.suffix.lower() in IMAGE_SUFFIXES


def read_image(path) -> np.ndarray:
    """Read ``path`` and return an ``(H, W, 3)`` uint8 array in BGR order.

    Raises:
        ImageDecodeError: the file is missing, empty, truncated or not an image.
    """
    path = Path(path)
    try:
        # np.fromfile + imdecode, unlike cv2.imread, accepts any Unicode path.
        data = np.fromfile(path, dtype=np.uint8)
    except FileNotFoundError:
        raise ImageDecodeError(_("{path}: file not found").format(path=path)) from None
    except (IsADirectoryError, PermissionError, OSError) as error:
        raise ImageDecodeError(
            _("{path}: cannot read the file ({reason})").format(path=path, reason=error.strerror)
        ) from None
    return decode_image(data.tobytes(), name=str(path))


def decode_image(data: bytes, name: str = "<bytes>") -> np.ndarray:
    """Decode encoded image bytes to an ``(H, W, 3)`` uint8 BGR array."""
    if not data:
        raise ImageDecodeError(_("{path}: the file is empty").format(path=name))
    if data.startswith(_JPEG_SIGNATURE) and not data.rstrip(b"\x00").endswith(_JPEG_END):
        # libjpeg decodes a truncated JPEG with a grey lower part and only a
        # warning on stderr; a missing end-of-image marker gives it away.
        raise ImageDecodeError(_("{path}: the JPEG file is truncated").format(path=name))

    buffer = np.frombuffer(data, dtype=np.uint8)
    if data.startswith(_ALPHA_SIGNATURES):
        image = cv2.imdecode(buffer, cv2.IMREAD_UNCHANGED)
        if image is not None and image.ndim == 3 and image.shape[2] == 4:
            # NOTE: IMREAD_UNCHANGED ignores EXIF orientation, which PNG and
            # WebP files with transparency rarely carry.
            return _composite_over_background(image)

    # IMREAD_COLOR applies the EXIF orientation, expands grayscale and
    # palette images to three channels and scales 16-bit samples to 8 bits.
    image = cv2.imdecode(buffer, cv2.IMREAD_COLOR)
    if image is None:
        raise ImageDecodeError(
            _("{path}: not a readable image (corrupt, or a format OpenCV cannot decode)").format(path=name)
        )
    return image


def _composite_over_background(bgra: np.ndarray) -> np.ndarray:
    if bgra.dtype == np.uint16:
        bgra = (bgra / 257.0).round().astype(np.uint8)
    alpha = bgra[:, :, 3:4].astype(np.float32) / 255.0
    color = bgra[:, :, :3].astype(np.float32)
    blended = color * alpha + _BACKGROUND * (1.0 - alpha)
    return np.clip(blended.round(), 0, 255).astype(np.uint8)
