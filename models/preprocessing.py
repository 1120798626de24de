"""The input normalisations of the backbones, by name.

A backbone expects its pixels normalised in one way; lince records that way
by name with a trained model and folds it into the exported ``.tflite``,
whose input is then raw RGB pixels (0-255). This module needs only NumPy.
"""

from dataclasses import dataclass
from typing import Sequence, Tuple

import numpy as np

from lince.runtime.errors import LinceError, _

# ImageNet channel means of the original Caffe models, in BGR order.
CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)
# ImageNet mean and standard deviation of torchvision, RGB, on the 0-1 scale.
TORCH_MEAN_RGB = (0.485, 0.456, 0.406)
TORCH_STD_RGB = (0.229, 0.224, 0.225)


@dataclass(frozen=True)
class Normalization:
    """Map raw RGB pixels to model input: ``(pixel[channels] - mean) / std``.

    Attributes:
        name: preset name, or ``"custom"``.
        mean, std: per channel, in the model's channel order.
        bgr: whether the model takes channels in BGR order (Caffe models).
        description: one line for tables and help.
    """

    name: str
    mean: Tuple[float, float, float]
    std: Tuple[float, float, float]
    bgr: bool = False
    description: str = ""

    @property
    def is_identity(self) -> bool:
        return not self.bgr and self.mean == (0.0, 0.0, 0.0) and self.std == (1.0, 1.0, 1.0)

    def apply(self, rgb: np.ndarray) -> np.ndarray:
        """Normalise an array of RGB pixels (last axis = channels) with NumPy."""
        pixels = np.asarray(rgb, dtype=np.float32)
        if self.bgr:
            pixels = pixels[..., ::-1]
        return (pixels - np.asarray(self.mean, np.float32)) / np.asarray(self.std, np.float32)

    def to_dict(self) -> dict:
        return {"name": self.name, "mean": list(self.mean), "std": list(self.std), "bgr": self.bgr}


def _same(value: float) -> Tuple[float, float, float]:
    return (float(value),) * 3


PRESETS = {
    preset.name: preset
    for preset in (
        Normalization("raw", _same(0), _same(1), description="0-255 pixels; the model rescales them itself"),
        Normalization("tf", _same(127.5), _same(127.5), description="[-1, 1]: (x - 127.5) / 127.5"),
        Normalization("lite", _same(127.0), _same(128.0), description="(x - 127) / 128 (EfficientNet-Lite)"),
        Normalization("unit", _same(0), _same(255), description="[0, 1]: x / 255"),
        Normalization("caffe", CAFFE_MEAN_BGR, _same(1), bgr=True,
                      description="BGR, ImageNet mean subtracted (Caffe: VGG, ResNet V1)"),
        Normalization("torch", tuple(255 * m for m in TORCH_MEAN_RGB), tuple(255 * s for s in TORCH_STD_RGB),
                      description="ImageNet mean and std on [0, 1] (torchvision)"),
    )
}


def get_preset(name: str) -> Normalization:
    """Return the preset called ``name``, or raise with the valid names."""
    try:
        return PRESETS[name]
    except KeyError:
        raise LinceError(_("unknown preprocessing {name!r}: use one of {choices}").format(
            name=name, choices=", ".join(PRESETS))) from None


def _per_channel(values: Sequence[float], what: str) -> Tuple[float, float, float]:
    values = tuple(float(v) for v in values)
    if len(values) == 1:
        return values * 3
    if len(values) != 3:
        raise LinceError(_("--{what} takes one value or three (R,G,B), got {count}").format(
            what=what, count=len(values)))
    return values


def custom_normalization(mean: Sequence[float], std: Sequence[float]) -> Normalization:
    """Build a normalisation from ``--mean`` and ``--std`` values (one or three each)."""
    mean3, std3 = _per_channel(mean, "mean"), _per_channel(std, "std")
    if any(s == 0 for s in std3):
        raise LinceError(_("--std must not be zero"))
    return Normalization("custom", mean3, std3, description="(x - mean) / std")
