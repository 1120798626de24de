"""Fold the input normalisation into the graph, so the model takes raw pixels.

The exported model's input is RGB pixels 0-255 at the model's input size.
Its first operations reorder the channels (Caffe models) and apply
``(x - mean) / std``; no runtime needs to know the normalisation, and int8
calibration measures the same ranges the camera loop will produce.
"""

from lince.export.loading import SourceModel
from lince.models.preprocessing import Normalization


def raw_pixel_function(source: SourceModel, normalization: Normalization):
    """Return a ``tf.function`` mapping float32 pixel batches (N, H, W, 3) to class scores."""
    import tensorflow as tf

    mean = tf.constant(normalization.mean, tf.float32)
    scale = tf.constant([1.0 / s for s in normalization.std], tf.float32)

    # The last verification batch is smaller; one retrace for it is enough.
    @tf.function(reduce_retracing=True)
    def classify_pixels(pixels):
        x = pixels
        if normalization.bgr:
            x = tf.gather(x, [2, 1, 0], axis=-1)
        if not normalization.is_identity:
            # Multiplying by 1/std instead of dividing gives a plain MUL op.
            x = (x - mean) * scale
        return source.call(x)

    return classify_pixels


def frozen_function(source: SourceModel, normalization: Normalization, batch_size=1):
    """Return the raw-pixel model as a concrete function with its variables frozen to constants.

    Freezing matters for Keras 3: its Dropout layers own a random-seed
    variable that the converter otherwise leaves as a READ_VARIABLE op, and
    int8 calibration then fails on it (seen with TensorFlow 2.21, Keras 3.15).
    """
    import tensorflow as tf
    # Public TensorFlow offers no other way to freeze a TF2 concrete function.
    from tensorflow.python.framework.convert_to_constants import convert_variables_to_constants_v2

    height, width = source.input_size
    spec = tf.TensorSpec([batch_size, height, width, 3], tf.float32, name="image")
    concrete = raw_pixel_function(source, normalization).get_concrete_function(spec)
    return convert_variables_to_constants_v2(concrete)
