"""Turn a camera frame or photo into the input image of a classifier.

This is the only implementation of crop, resize and colour order in lince:
the classifier, the camera loop, calibration and evaluation all call
:func:`prepare_image`, so a model is calibrated on exactly what the camera
loop will feed it.
"""

from dataclasses import dataclass
from typing import Optional, Tuple

import cv2
import numpy as np

from lince.runtime.errors import LinceError, _

INTERPOLATIONS = {
    "nearest": cv2.INTER_NEAREST,
    "bilinear": cv2.INTER_LINEAR,
    "bicubic": cv2.INTER_CUBIC,
    "area": cv2.INTER_AREA,
}
CROPS = ("none", "center")


@dataclass(frozen=True)
class Preprocessing:
    """How a frame becomes model input.

    Attributes:
        size: model input ``(height, width)`` in pixels.
        crop: ``"none"`` resizes the whole frame to ``size`` (aspect ratio not
            kept); ``"center"`` first takes a centred crop with the model's
            aspect ratio covering ``crop_fraction`` of the shorter side.
        crop_fraction: side of the centre crop relative to the frame (0-1].
        interpolation: resize filter, one of :data:`INTERPOLATIONS`.
        color_order: channel order the model expects, ``"RGB"`` or ``"BGR"``.
    """

    size: Tuple[int, int]
    crop: str = "none"
    crop_fraction: float = 1.0
    interpolation: str = "bilinear"
    color_order: str = "RGB"

    def __post_init__(self):
        if self.crop not in CROPS:
            raise LinceError(_("invalid crop {value!r}: use one of {choices}").format(
                value=self.crop, choices=", ".join(CROPS)))
        if self.interpolation not in INTERPOLATIONS:
            raise LinceError(_("invalid interpolation {value!r}: use one of {choices}").format(
                value=self.interpolation, choices=", ".join(INTERPOLATIONS)))
        if not 0.0 < self.crop_fraction <= 1.0:
            raise LinceError(_("invalid crop fraction {value}: give a number in (0, 1]").format(
                value=self.crop_fraction))
        if self.color_order not in ("RGB", "BGR"):
            raise LinceError(_("invalid colour order {value!r}: use RGB or BGR").format(
                value=self.color_order))


def center_crop_box(frame_hw: Tuple[int, int], target_hw: Tuple[int, int], fraction: float):
    """Return ``(x, y, w, h)`` of the centred crop with the target's aspect ratio."""
    frame_h, frame_w = frame_hw
    target_h, target_w = target_hw
    aspect = target_w / target_h
    # The largest box of the target aspect ratio that fits the frame, scaled.
    crop_w = min(frame_w, frame_h * aspect) * fraction
    crop_h = crop_w / aspect
    crop_w, crop_h = max(1, round(crop_w)), max(1, round(crop_h))
    x = (frame_w - crop_w) // 2
    y = (frame_h - crop_h) // 2
    return x, y, crop_w, crop_h


def prepare_image(
    frame_bgr: np.ndarray,
    preprocessing: Preprocessing,
    roi: Optional[Tuple[int, int, int, int]] = None,
) -> np.ndarray:
    """Crop, resize and reorder ``frame_bgr`` into an ``(H, W, 3)`` uint8 array.

    ``frame_bgr`` is an OpenCV image (BGR order). ``roi`` is an optional
    ``(x, y, w, h)`` region of the frame to classify, applied before the crop.
    The returned pixels keep their 0-255 values: normalisation is the model's
    job (lince exports fold it into the graph).
    """
    image = frame_bgr
    if roi is not None:
        x, y, w, h = roi
        image = image[y:y + h, x:x + w]
        if image.size == 0:
            raise LinceError(_("region of interest {roi} is outside the {width}x{height} frame").format(
                roi=roi, width=frame_bgr.shape[1], height=frame_bgr.shape[0]))
    if preprocessing.crop == "center":
        x, y, w, h = center_crop_box(image.shape[:2], preprocessing.size, preprocessing.crop_fraction)
        image = image[y:y + h, x:x + w]

    height, width = preprocessing.size
    if image.shape[:2] != (height, width):
        image = cv2.resize(image, (width, height), interpolation=INTERPOLATIONS[preprocessing.interpolation])
    if preprocessing.color_order == "RGB":
        image = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
    return np.ascontiguousarray(image)
