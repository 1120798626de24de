"""The lince runtime: classify camera frames with LiteRT, without TensorFlow.

It needs NumPy, OpenCV and a TFLite interpreter (``ai-edge-litert``, or
``tflite-runtime`` on 32-bit Raspberry Pi OS) and nothing else of lince.
"""

from lince.runtime.classifier import Classification, Classifier, Prediction
from lince.runtime.errors import (
    ImageDecodeError,
    InferenceError,
    LinceError,
    ModelLoadError,
    SourceError,
)
from lince.runtime.image_io import read_image
from lince.runtime.preprocess import Preprocessing, prepare_image

__all__ = [
    "Classification",
    "Classifier",
    "ImageDecodeError",
    "InferenceError",
    "LinceError",
    "ModelLoadError",
    "Prediction",
    "Preprocessing",
    "SourceError",
    "prepare_image",
    "read_image",
]
