"""Load the model to export: a Keras ``.keras``/``.h5`` file or a SavedModel folder."""

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional, Tuple

from lince.runtime.errors import LinceError, ModelLoadError, _

logger = logging.getLogger(__name__)

KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")


@dataclass
class SourceModel:
    """A loaded model, callable on a batch of normalised images.

    Attributes:
        path: where it was loaded from.
        call: ``call(batch)`` returns the class scores of a float32
            ``(N, H, W, 3)`` batch, as a tensor.
        input_size: ``(height, width)`` the model takes.
        num_classes: length of its output.
        keras_model: the Keras model, or None for a SavedModel.
        trackable: the object that owns the variables (kept alive for the converter).
    """

    path: Path
    call: Callable
    input_size: Tuple[int, int]
    num_classes: int
    keras_model: Optional[object]
    trackable: object


def load_source_model(path, unsafe: bool = False, image_size: Optional[Tuple[int, int]] = None) -> SourceModel:
    """Load ``path`` for export.

    Keras files are loaded in safe mode: a ``Lambda`` layer's Python code is
    not run unless ``unsafe`` is true. ``image_size`` is needed only when the
    model accepts any input size.
    """
    path = Path(path)
    if not path.exists():
        raise ModelLoadError(_("{path}: model not found").format(path=path))
    if path.is_dir():
        if not (path / "saved_model.pb").exists():
            raise ModelLoadError(_("{path}: folder is not a SavedModel (no saved_model.pb)").format(path=path))
        return _load_saved_model(path, image_size)
    if path.suffix.lower() not in KERAS_SUFFIXES:
        raise ModelLoadError(_("{path}: unsupported model file; give a .keras or .h5 file or a SavedModel folder")
                             .format(path=path))
    return _load_keras(path, unsafe, image_size)


def _load_keras(path: Path, unsafe: bool, image_size) -> SourceModel:
    import keras

    try:
        model = keras.models.load_model(path, compile=False, safe_mode=not unsafe)
    except ValueError as error:
        text = str(error)
        if "safe_mode" in text or "Lambda" in text or "lambda" in text:
            raise ModelLoadError(_(
                "{path}: the model contains Python code (a Lambda layer), which is not run by default; "
                "if you trust this file, pass --unsafe-load").format(path=path)) from None
        raise ModelLoadError(_("{path}: cannot load the Keras model ({reason})").format(
            path=path, reason=text.splitlines()[0] if text else type(error).__name__)) from None
    except (OSError, TypeError, KeyError) as error:
        raise ModelLoadError(_("{path}: cannot load the Keras model ({reason})").format(
            path=path, reason=str(error).splitlines()[0] if str(error) else type(error).__name__)) from None

    input_shape = model.inputs[0].shape if model.inputs else None
    if input_shape is None or len(input_shape) != 4 or input_shape[-1] != 3:
        raise ModelLoadError(_("{path}: input shape {shape} is not an RGB image batch (N, H, W, 3)").format(
            path=path, shape=None if input_shape is None else tuple(input_shape)))
    size = _input_size(path, input_shape[1], input_shape[2], image_size)
    output_shape = model.outputs[0].shape
    if len(model.outputs) != 1 or len(output_shape) != 2:
        raise ModelLoadError(_("{path}: expected one output of class scores (N, classes), found {shapes}").format(
            path=path, shapes=[tuple(o.shape) for o in model.outputs]))

    def call(batch):
        return model(batch, training=False)

    logger.info("Loaded Keras model %s: input %dx%d, %d classes", path, size[0], size[1], output_shape[1])
    return SourceModel(path, call, size, int(output_shape[1]), model, model)


def _load_saved_model(path: Path, image_size) -> SourceModel:
    import tensorflow as tf

    try:
        loaded = tf.saved_model.load(str(path))
    except (OSError, ValueError, RuntimeError) as error:
        raise ModelLoadError(_("{path}: cannot load the SavedModel ({reason})").format(
            path=path, reason=str(error).splitlines()[0])) from None
    signature = loaded.signatures.get("serving_default")
    if signature is None:
        raise ModelLoadError(_("{path}: the SavedModel has no serving_default signature").format(path=path))
    _args, kwargs = signature.structured_input_signature
    if len(kwargs) != 1:
        raise ModelLoadError(_("{path}: expected one image input, found {names}").format(
            path=path, names=sorted(kwargs)))
    input_name, spec = next(iter(kwargs.items()))
    if spec.shape.rank != 4 or spec.shape[-1] != 3:
        raise ModelLoadError(_("{path}: input shape {shape} is not an RGB image batch (N, H, W, 3)").format(
            path=path, shape=tuple(spec.shape)))
    size = _input_size(path, spec.shape[1], spec.shape[2], image_size)
    outputs = signature.structured_outputs
    if len(outputs) != 1:
        raise ModelLoadError(_("{path}: expected one output of class scores, found {names}").format(
            path=path, names=sorted(outputs)))
    output_name, output_spec = next(iter(outputs.items()))

    def call(batch):
        return signature(**{input_name: tf.cast(batch, spec.dtype)})[output_name]

    logger.info("Loaded SavedModel %s: input %dx%d", path, size[0], size[1])
    return SourceModel(path, call, size, int(output_spec.shape[-1]), None, loaded)


def _input_size(path: Path, height, width, image_size) -> Tuple[int, int]:
    if height is not None and width is not None:
        if image_size is not None and tuple(image_size) != (height, width):
            raise LinceError(_("{path}: the model takes {height}x{width} images, not {size}").format(
                path=path, height=height, width=width, size="x".join(map(str, image_size))))
        return int(height), int(width)
    if image_size is None:
        raise LinceError(_("{path}: the model accepts any image size; pass --size to choose one").format(path=path))
    return tuple(int(v) for v in image_size)
