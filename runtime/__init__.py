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
from lince.runtime.live import StableClassifier
from lince.runtime.pipeline import LoopSettings, Pipeline
from lince.runtime.preprocess import Preprocessing, prepare_image
from lince.runtime.results import FrameResult
from lince.runtime.smoothing import SmoothingSettings

__all__ = [
    "Classification",
    "Classifier",
    "FrameResult",
    "ImageDecodeError",
    "InferenceError",
    "LinceError",
    "LoopSettings",
    "ModelLoadError",
    "Pipeline",
    "Prediction",
    "Preprocessing",
    "SmoothingSettings",
    "SourceError",
    "StableClassifier",
    "prepare_image",
    "read_image",
]
