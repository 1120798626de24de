"""Run an image classification ``.tflite`` model on frames and photos.

:class:`Classifier` works with lince's own exports (preprocessing and labels
read from the file), Google's reference quantized models (uint8 input,
1001 classes whose class 0 is ``background``), float models and models with
int8 input. The interpreter, the lookup table that maps pixels to input
values and the label list are built once, in the constructor; a call to
:meth:`Classifier.classify` only fills the input tensor and invokes.
"""

import logging
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Union

import cv2
import numpy as np

from lince.runtime.errors import InferenceError, LinceError, ModelLoadError, _
from lince.runtime.image_io import read_image
from lince.runtime.interpreter import make_interpreter
from lince.runtime.metadata import ModelInfo, read_labels_file, read_model_metadata
from lince.runtime.preprocess import Preprocessing, prepare_image

logger = logging.getLogger(__name__)

# Normalisation assumed for a float model that carries no lince metadata: the
# [-1, 1] range of most TensorFlow image models (MobileNet, Inception).
DEFAULT_FLOAT_MEAN = 127.5
DEFAULT_FLOAT_STD = 127.5


@dataclass(frozen=True)
class Prediction:
    """One class of a result: its index in the model output, name and probability."""

    index: int
    label: str
    score: float


@dataclass(frozen=True)
class Classification:
    """Result of classifying one image.

    Attributes:
        top_k: the best classes, highest probability first.
        probabilities: probability of every output class (float32).
        inference_ms: time spent in ``invoke()``, in milliseconds.
    """

    top_k: List[Prediction]
    probabilities: np.ndarray
    inference_ms: float

    @property
    def label(self) -> str:
        return self.top_k[0].label

    @property
    def index(self) -> int:
        return self.top_k[0].index

    @property
    def score(self) -> float:
        return self.top_k[0].score


def softmax(logits: np.ndarray) -> np.ndarray:
    """Return the softmax of a 1-D array of logits, computed stably."""
    shifted = logits - np.max(logits)
    exp = np.exp(shifted)
    return exp / np.sum(exp)


def quantized_range_is_probability(dtype, scale: float, zero_point: int) -> bool:
    """Return whether every value a quantized output can hold lies in [0, 1].

    A quantized softmax output has scale 1/256 and covers [0, 0.996]. Its
    values need not sum to 1 (Google's TF2 reference MobileNetV2 gives 0.88
    on some photos), so the sum cannot tell probabilities from logits.
    """
    info = np.iinfo(dtype)
    low, high = scale * (info.min - zero_point), scale * (info.max - zero_point)
    return low >= -1e-6 and high <= 1.0 + 1e-6


def looks_like_probabilities(values: np.ndarray) -> bool:
    """Return whether ``values`` lie in [0, 1] and sum to about 1."""
    return bool(values.min() >= -1e-3 and values.max() <= 1.0 + 1e-3 and abs(values.sum() - 1.0) < 0.05)


class Classifier:
    """A TFLite image classifier with its labels and preprocessing.

    Args:
        model_path: the ``.tflite`` file.
        labels: a label file path or a list of names; by default the labels
            packed in the model, else ``class N``.
        num_threads: interpreter CPU threads; by default the CPU count.
        preprocessing: overrides the crop and resize read from the model.
        mean, std: normalisation for a float model without lince metadata
            (default 127.5 and 127.5, the [-1, 1] range).
    """

    def __init__(
        self,
        model_path,
        labels: Union[None, str, Path, Sequence[str]] = None,
        num_threads: Optional[int] = None,
        preprocessing: Optional[Preprocessing] = None,
        mean: Optional[float] = None,
        std: Optional[float] = None,
    ):
        self.model_path = Path(model_path)
        self.num_threads = num_threads or os.cpu_count() or 1
        self._interpreter = _open_interpreter(self.model_path, self.num_threads)
        logger.info("Loaded %s with %d thread(s)", self.model_path, self.num_threads)

        input_detail = self._check_input(self._interpreter.get_input_details())
        output_detail = self._check_output(self._interpreter.get_output_details())
        self._input_index = input_detail["index"]
        self._output_index = output_detail["index"]
        self.input_dtype = np.dtype(input_detail["dtype"])
        self.input_quantization = _quantization(input_detail)
        self.output_quantization = _quantization(output_detail)
        self.output_dtype = np.dtype(output_detail["dtype"])
        self.num_classes = int(np.prod(output_detail["shape"]))

        self.info, packed_labels = read_model_metadata(self.model_path, self.num_classes)
        height, width = int(input_detail["shape"][1]), int(input_detail["shape"][2])
        if preprocessing is None:
            preprocessing = self.info.preprocessing if self.info else Preprocessing(size=(height, width))
        if tuple(preprocessing.size) != (height, width):
            logger.warning("%s: metadata input size %s differs from the input tensor %dx%d; using the tensor's",
                           self.model_path, preprocessing.size, height, width)
            preprocessing = Preprocessing(**{**preprocessing.__dict__, "size": (height, width)})
        self.preprocessing = preprocessing

        self.labels = self._resolve_labels(labels, packed_labels)
        self._pixel_table = self._build_pixel_table(mean, std)
        self._dequantize_table = self._build_dequantize_table()
        # None means "decide from the first output" (models without metadata).
        self._output_is_logits = {"logits": True, "probabilities": False}.get(self.info.output) if self.info else None
        if self._output_is_logits is None and self.output_dtype != np.float32:
            self._output_is_logits = not quantized_range_is_probability(self.output_dtype, *self.output_quantization)

    # -- construction helpers -------------------------------------------------

    def _check_input(self, details):
        if len(details) != 1:
            raise ModelLoadError(_("{path}: expected one input tensor (an image), found {count}").format(
                path=self.model_path, count=len(details)))
        detail = details[0]
        shape = detail["shape"]
        if len(shape) != 4 or shape[3] != 3:
            raise ModelLoadError(_("{path}: input shape {shape} is not an RGB image batch (1, H, W, 3)").format(
                path=self.model_path, shape=list(shape)))
        if np.dtype(detail["dtype"]) not in (np.uint8, np.int8, np.float32):
            raise ModelLoadError(_("{path}: unsupported input type {dtype}").format(
                path=self.model_path, dtype=np.dtype(detail["dtype"]).name))
        return detail

    def _check_output(self, details):
        detail = details[0]
        shape = [int(s) for s in detail["shape"]]
        if len(details) != 1 or int(np.prod(shape)) != max(shape):
            raise ModelLoadError(_("{path}: expected one output of class scores, found {shapes}").format(
                path=self.model_path, shapes=[list(d["shape"]) for d in details]))
        return detail

    def _resolve_labels(self, labels, packed_labels):
        if labels is None:
            names = packed_labels
        elif isinstance(labels, (str, Path)):
            names = read_labels_file(labels)
        else:
            names = list(labels)
        if names is None:
            return [f"class {i}" for i in range(self.num_classes)]
        if len(names) == self.num_classes:
            return names
        if len(names) == self.num_classes - 1:
            # Google's reference models output 1001 classes, class 0 being
            # "background"; a 1000-name ImageNet label file then starts at 1.
            logger.info("%s: %d labels for %d outputs; output 0 taken as background",
                        self.model_path, len(names), self.num_classes)
            return ["background"] + names
        raise ModelLoadError(_("{path}: the model has {classes} outputs but the label file has {labels} names")
                             .format(path=self.model_path, classes=self.num_classes, labels=len(names)))

    def _build_pixel_table(self, mean, std):
        """Map each pixel value 0-255 to the value written into the input tensor.

        Returns None when pixels go into the tensor unchanged.
        """
        pixels = np.arange(256, dtype=np.float64)
        if self.info is not None:
            # A lince export normalises in its graph ("folded") or through
            # its int8 input's scale and zero point, which the quantization
            # below applies to (x - mean) / std.
            normalization = self.info.normalization
            real = pixels if normalization.get("folded", True) else self._normalize(pixels, normalization)
        elif self.input_dtype == np.float32:
            if mean is None and std is None:
                logger.warning("%s: float model without lince metadata; assuming input (x - %.1f) / %.1f "
                               "(pass mean and std if it expects another range)",
                               self.model_path, DEFAULT_FLOAT_MEAN, DEFAULT_FLOAT_STD)
            real = (pixels - (DEFAULT_FLOAT_MEAN if mean is None else mean)) / (
                DEFAULT_FLOAT_STD if std is None else std)
        else:
            # A quantized model without metadata, like Google's reference
            # models, defines its normalisation through its input scale and
            # zero point: raw pixels go in as they are (shifted by 128 for int8).
            if self.input_dtype == np.uint8:
                return None
            return (pixels - 128).astype(np.int8)

        if self.input_dtype == np.float32:
            return real.astype(np.float32)
        scale, zero_point = self.input_quantization
        info = np.iinfo(self.input_dtype)
        # Quantize: q = round(real / scale) + zero_point, saturated to the type.
        quantized = np.clip(np.round(real / scale) + zero_point, info.min, info.max)
        if self.input_dtype == np.uint8 and np.array_equal(quantized, pixels):
            return None
        return quantized.astype(self.input_dtype)

    def _normalize(self, pixels: np.ndarray, normalization: dict) -> np.ndarray:
        mean, std = normalization.get("mean", [0.0]), normalization.get("std", [1.0])
        if len(set(mean)) != 1 or len(set(std)) != 1 or self.input_dtype == np.float32:
            # One table serves all three channels, and a float input has no
            # quantization to normalise with. lince never exports these.
            raise ModelLoadError(_("{path}: the metadata asks to normalise a {dtype} input with mean {mean} and std "
                                   "{std} outside the graph, which lince cannot do; export the model again").format(
                path=self.model_path, dtype=self.input_dtype.name, mean=mean, std=std))
        return (pixels - float(mean[0])) / float(std[0])

    def _build_dequantize_table(self) -> Optional[np.ndarray]:
        """Map each value of an 8-bit output to its real value, so dequantizing is one lookup."""
        if self.output_dtype not in (np.uint8, np.int8):
            return None
        scale, zero_point = self.output_quantization
        # Dequantize: real = scale * (q - zero_point), in the order the raw
        # bytes index it (int8 values are read as their uint8 bit patterns).
        codes = np.arange(256, dtype=np.uint8).view(self.output_dtype).astype(np.float32)
        return ((codes - zero_point) * scale).astype(np.float32)

    # -- inference ----------------------------------------------------------

    def set_input(self, image_rgb: np.ndarray) -> None:
        """Write a prepared ``(H, W, 3)`` uint8 image into the input tensor."""
        if image_rgb.dtype != np.uint8:
            raise LinceError(_("the model input must be a uint8 RGB image, as prepare() returns, not {dtype}")
                             .format(dtype=image_rgb.dtype))
        # cv2.LUT maps an 8-bit image through a table about five times faster
        # than NumPy indexing (measured on 224x224x3: 48 us against 229 us).
        values = image_rgb if self._pixel_table is None else cv2.LUT(image_rgb, self._pixel_table)
        self._interpreter.set_tensor(self._input_index, values[np.newaxis])

    def invoke(self) -> float:
        """Run the model on the current input and return the time taken in ms."""
        start = time.perf_counter()
        try:
            self._interpreter.invoke()
        except (RuntimeError, ValueError) as error:
            raise InferenceError(_("{path}: inference failed: {reason}").format(
                path=self.model_path, reason=_first_line(error))) from None
        return (time.perf_counter() - start) * 1000.0

    def probabilities(self) -> np.ndarray:
        """Return the probability of each class from the last invocation."""
        raw = self._interpreter.get_tensor(self._output_index).reshape(-1)
        if self._dequantize_table is not None:
            values = self._dequantize_table[raw.view(np.uint8)]
        elif raw.dtype != np.float32:
            scale, zero_point = self.output_quantization
            # Dequantize: real = scale * (q - zero_point).
            values = (raw.astype(np.float32) - zero_point) * scale
        else:
            values = raw.astype(np.float32, copy=True)
        if self._output_is_logits is None:
            self._output_is_logits = not looks_like_probabilities(values)
            if self._output_is_logits:
                logger.info("%s: outputs are not probabilities; applying softmax", self.model_path)
        return softmax(values) if self._output_is_logits else values

    def top_k(self, probabilities: np.ndarray, k: int = 5) -> List[Prediction]:
        """Return the ``k`` most probable classes, highest first."""
        k = max(1, min(k, probabilities.size))
        # Partitioning then sorting k values beats a full sort of every class.
        # The partition runs on the negated scores with k near the start:
        # near the end, the many equal (zero) scores of a quantized output
        # make NumPy's selection about ten times slower (measured on 1001 classes).
        best = np.argpartition(-probabilities, k - 1)[:k].tolist()
        # Ties go to the lower class index, as a stable sort would give.
        best.sort(key=lambda i: (-probabilities[i], i))
        return [Prediction(i, self.labels[i], float(probabilities[i])) for i in best]

    def classify_prepared(self, image_rgb: np.ndarray, top_k: int = 5) -> Classification:
        """Classify an image already prepared by :meth:`prepare`."""
        self.set_input(image_rgb)
        elapsed_ms = self.invoke()
        probabilities = self.probabilities()
        return Classification(self.top_k(probabilities, top_k), probabilities, elapsed_ms)

    def prepare(self, frame_bgr: np.ndarray, roi=None) -> np.ndarray:
        """Crop, resize and reorder a BGR frame as this model expects."""
        return prepare_image(frame_bgr, self.preprocessing, roi=roi)

    def classify(self, frame_bgr: np.ndarray, top_k: int = 5, roi=None) -> Classification:
        """Classify a BGR frame (as OpenCV delivers it)."""
        return self.classify_prepared(self.prepare(frame_bgr, roi=roi), top_k)

    def classify_file(self, image_path, top_k: int = 5) -> Classification:
        """Read an image file and classify it."""
        return self.classify(read_image(image_path), top_k)


def _quantization(detail):
    scale, zero_point = detail.get("quantization", (0.0, 0))
    return float(scale) or 1.0, int(zero_point)


def _first_line(error: BaseException) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def _open_interpreter(path: Path, num_threads: int):
    if not path.exists():
        raise ModelLoadError(_("{path}: model file not found").format(path=path))
    if path.is_dir():
        raise ModelLoadError(_("{path}: is a folder; give a .tflite file").format(path=path))
    if path.stat().st_size < 8:
        raise ModelLoadError(_("{path}: not a TFLite model (the file is too small)").format(path=path))
    with open(path, "rb") as file:
        identifier = file.read(8)[4:8]
    if identifier != b"TFL3":
        # Checked here because a foreign file gives a long, low-level message.
        raise ModelLoadError(_("{path}: not a TFLite model (no TFL3 identifier); export one with 'lince export'")
                             .format(path=path))
    try:
        interpreter = make_interpreter(str(path), num_threads)
    except (ValueError, RuntimeError) as error:
        raise ModelLoadError(_("{path}: cannot load the model ({reason}); the file may be truncated or corrupt")
                             .format(path=path, reason=_first_line(error))) from None
    try:
        interpreter.allocate_tensors()
    except (ValueError, RuntimeError) as error:
        raise ModelLoadError(_("{path}: cannot prepare the model for this runtime ({reason})")
                             .format(path=path, reason=_first_line(error))) from None
    return interpreter
