"""Build the graph that export converts: raw pixels in, class scores out.

The exported model's input is RGB pixels 0-255 at the model's input size.
The input normalisation ``(x - mean) / std`` lives in one of two places:

- in the graph, as SUB and MUL ops after any channel reorder (Caffe
  models): every float model, and int8 models whose mean or std differs
  between channels;
- in the input tensor's quantization, for int8 models with one mean and one
  std: the converter, calibrated on normalised images, gives the input a
  scale of about ``1 / std`` and a zero point of about ``mean``, so the
  quantized input is the raw pixel itself (exactly, for a uint8 input and
  the 127/128 normalisation of EfficientNet-Lite). This drops the SUB and
  MUL ops: a tenth of an int8 EfficientNet-Lite0's inference time, measured
  with LiteRT's XNNPACK kernels on an x86 CPU.

Either way int8 calibration measures the ranges the camera loop produces,
and the runtime reads from the metadata which of the two the model uses.
"""

from typing import Callable, Iterator, List

import numpy as np

from lince.export.loading import SourceModel
from lince.models.preprocessing import Normalization


def normalization_in_input(normalization: Normalization, quantization: str, io_type: str,
                           keep_float: bool = False) -> bool:
    """Return whether an export's input quantization can carry ``normalization`` instead of graph ops.

    Only an int8 model with an integer input has an input quantization, and
    its one scale and zero point can express one mean and one std, not one
    per channel. Models with layers kept in float come from TensorFlow's
    quantization debugger, which gives them a float input whatever the
    requested type.
    """
    return (quantization == "int8" and io_type in ("uint8", "int8") and not keep_float
            and not normalization.is_identity
            and len(set(normalization.mean)) == 1 and len(set(normalization.std)) == 1)


def input_transform(normalization: Normalization, in_input: bool) -> Callable[[np.ndarray], np.ndarray]:
    """Return the map from float pixel batches to what the graph takes as input.

    With the normalisation in the graph, the graph takes pixels as they are.
    Otherwise it takes ``(pixel - mean) / std``. There is one mean and one
    std, so channel order does not matter here, and a BGR reorder stays in
    the graph.
    """
    if not in_input:
        return lambda pixels: pixels
    mean, std = np.float32(normalization.mean[0]), np.float32(normalization.std[0])
    return lambda pixels: ((pixels - mean) / std).astype(np.float32)


def representative_dataset(batches: Callable[[], Iterator[List[np.ndarray]]],
                           transform: Callable[[np.ndarray], np.ndarray]) -> Callable[[], Iterator[List[np.ndarray]]]:
    """Return calibration ``batches`` passed through ``transform``, as the converter expects them."""
    def dataset():
        for inputs in batches():
            yield [transform(array) for array in inputs]

    return dataset


def raw_pixel_function(source: SourceModel, normalization: Normalization, normalize: bool = True):
    """Return a ``tf.function`` mapping float32 pixel batches (N, H, W, 3) to class scores.

    With ``normalize=False`` the function leaves ``(x - mean) / std`` to its
    caller (the input quantization) and only reorders channels if needed.
    """
    import tensorflow as tf

    mean = tf.constant(normalization.mean, tf.float32)
    scale = tf.constant([1.0 / s for s in normalization.std], tf.float32)

    # The last verification batch is smaller; one retrace for it is enough.
    @tf.function(reduce_retracing=True)
    def classify_pixels(pixels):
        x = pixels
        if normalization.bgr:
            x = tf.gather(x, [2, 1, 0], axis=-1)
        if normalize and not normalization.is_identity:
            # Multiplying by 1/std instead of dividing gives a plain MUL op.
            x = (x - mean) * scale
        return source.call(x)

    return classify_pixels


def frozen_function(source: SourceModel, normalization: Normalization, batch_size=1, normalize: bool = True):
    """Return the model function as a concrete function with its variables frozen to constants.

    Freezing matters for Keras 3: its Dropout layers own a random-seed
    variable that the converter otherwise leaves as a READ_VARIABLE op, and
    int8 calibration then fails on it (seen with TensorFlow 2.21, Keras 3.15).
    """
    import tensorflow as tf
    # Public TensorFlow offers no other way to freeze a TF2 concrete function.
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    height, width = source.input_size
    spec = tf.TensorSpec([batch_size, height, width, 3], tf.float32, name="image")
    concrete = raw_pixel_function(source, normalization, normalize).get_concrete_function(spec)
    return convert_variables_to_constants_v2(concrete)
