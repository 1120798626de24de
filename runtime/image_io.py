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
_ORIENTATION_TAG = 0x0112


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
            # IMREAD_UNCHANGED ignores EXIF orientation, which IMREAD_COLOR
            # applies: apply it here too, so both paths agree.
            return apply_orientation(_composite_over_background(image), exif_orientation(data))

    # IMREAD_COLOR applies the EXIF orientation, expands grayscale and
    # palette images to three channels and scales 16-bit samples to 8 bits.
    image = cv2.imdecode(buffer, cv2.IMREAD_COLOR)
    if image is None:
        raise ImageDecodeError(
            _("{path}: not a readable image (corrupt, or a format OpenCV cannot decode)").format(path=name)
        )
    return image


def exif_orientation(data: bytes) -> int:
    """Return the EXIF orientation (1-8) stored in a PNG, WebP or TIFF file; 1 when there is none."""
    if data.startswith(b"\x89PNG"):
        tiff = _png_chunk(data, b"eXIf")
    elif data.startswith(b"RIFF"):
        tiff = _webp_chunk(data, b"EXIF")
        # Some writers put the JPEG-style "Exif\0\0" prefix before the TIFF data.
        if tiff.startswith(b"Exif\x00\x00"):
            tiff = tiff[6:]
    else:
        tiff = data
    return _tiff_orientation(tiff)


def _png_chunk(data: bytes, name: bytes) -> bytes:
    """Return the data of the first PNG chunk called ``name``, or b"" (walks the chunks, not a byte search)."""
    position = 8
    while position + 8 <= len(data):
        length = int.from_bytes(data[position:position + 4], "big")
        kind = data[position + 4:position + 8]
        if kind == name:
            return data[position + 8:position + 8 + length]
        if kind == b"IEND":
            break
        position += 12 + length
    return b""


def _webp_chunk(data: bytes, name: bytes) -> bytes:
    """Return the data of the first WebP (RIFF) chunk called ``name``, or b""."""
    position = 12
    while position + 8 <= len(data):
        kind = data[position:position + 4]
        length = int.from_bytes(data[position + 4:position + 8], "little")
        if kind == name:
            return data[position + 8:position + 8 + length]
        position += 8 + length + (length & 1)  # chunks are padded to an even size
    return b""


def _tiff_orientation(tiff: bytes) -> int:
    if tiff[:4] not in (b"II*\x00", b"MM\x00*"):
        return 1
    order = "little" if tiff[:2] == b"II" else "big"
    try:
        offset = int.from_bytes(tiff[4:8], order)
        entries = int.from_bytes(tiff[offset:offset + 2], order)
        for index in range(entries):
            entry = tiff[offset + 2 + 12 * index:offset + 14 + 12 * index]
            if len(entry) < 12:
                break
            if int.from_bytes(entry[:2], order) == _ORIENTATION_TAG:
                value = int.from_bytes(entry[8:10], order)
                return value if 1 <= value <= 8 else 1
    except (IndexError, ValueError):
        pass
    return 1


def apply_orientation(image: np.ndarray, orientation: int) -> np.ndarray:
    """Turn ``image`` as EXIF ``orientation`` says, the way viewers display it."""
    if orientation in (2, 5, 7):
        image = cv2.flip(image, 1)
    rotation = {3: cv2.ROTATE_180, 5: cv2.ROTATE_90_COUNTERCLOCKWISE, 6: cv2.ROTATE_90_CLOCKWISE,
                7: cv2.ROTATE_90_CLOCKWISE, 8: cv2.ROTATE_90_COUNTERCLOCKWISE}.get(orientation)
    if orientation == 4:
        image = cv2.flip(image, 0)
    return image if rotation is None else cv2.rotate(image, rotation)


def _composite_over_background(bgra: np.ndarray) -> np.ndarray:
    if bgra.dtype == np.uint16:
        bgra = (bgra / 257.0).round().astype(np.uint8)
    alpha = bgra[:, :, 3:4].astype(np.float32) / 255.0
    color = bgra[:, :, :3].astype(np.float32)
    blended = color * alpha + _BACKGROUND * (1.0 - alpha)
    return np.clip(blended.round(), 0, 255).astype(np.uint8)
