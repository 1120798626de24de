"""EfficientNet-Lite0 to Lite4, built from standard Keras layers.

Keras has no EfficientNet-Lite. The Lite variants (Google's edge versions of
EfficientNet, in the ``tensorflow/tpu`` repository under
``models/official/efficientnet/lite``) differ from EfficientNet in four ways
that make them int8-friendly: no squeeze-and-excite, ReLU6 in place of swish,
a stem (32 filters) and head (1280 filters) that do not grow with the width,
and first and last stages whose repeats do not grow with the depth.

Layer names follow ``stem_conv``, ``block{i}_expand``, ``block{i}_dw``,
``block{i}_project`` and ``head_conv``, so ImageNet weights saved with that
layout load by name. The model takes RGB input normalised as
``(x - 127) / 128`` (preset ``lite``); the normalisation is not in the graph.
"""

import math
from dataclasses import dataclass
from typing import Optional, Tuple

# (expand ratio, kernel, stride, input filters, output filters, repeats) of
# EfficientNet-B0's seven stages, which every Lite variant scales.
BASE_STAGES = (
    (1, 3, 1, 32, 16, 1),
    (6, 3, 2, 16, 24, 2),
    (6, 5, 2, 24, 40, 2),
    (6, 3, 2, 40, 80, 3),
    (6, 5, 1, 80, 112, 3),
    (6, 5, 2, 112, 192, 4),
    (6, 3, 1, 192, 320, 1),
)
STEM_FILTERS = 32
HEAD_FILTERS = 1280
BN_EPSILON = 1e-3
BN_MOMENTUM = 0.99


@dataclass(frozen=True)
class LiteVariant:
    """Scaling of one Lite variant: width and depth multipliers, resolution, dropout."""

    width: float
    depth: float
    resolution: int
    dropout: float


VARIANTS = {
    "lite0": LiteVariant(1.0, 1.0, 224, 0.2),
    "lite1": LiteVariant(1.0, 1.1, 240, 0.2),
    "lite2": LiteVariant(1.1, 1.2, 260, 0.3),
    "lite3": LiteVariant(1.2, 1.4, 280, 0.3),
    "lite4": LiteVariant(1.4, 1.8, 300, 0.3),
}


def round_filters(filters: int, width: float, divisor: int = 8) -> int:
    """Scale ``filters`` by ``width`` and round to a multiple of ``divisor`` (at most 10% down)."""
    scaled = filters * width
    rounded = max(divisor, int(scaled + divisor / 2) // divisor * divisor)
    if rounded < 0.9 * scaled:
        rounded += divisor
    return int(rounded)


def round_repeats(repeats: int, depth: float) -> int:
    return int(math.ceil(depth * repeats))


def _conv_bn(x, layers, filters, kernel, stride, prefix, conv_name=None, activation=True):
    """Convolution ``conv_name`` (default ``prefix``), then ``{prefix}_bn`` and ``{prefix}_relu6``."""
    x = layers.Conv2D(filters, kernel, strides=stride, padding="same", use_bias=False,
                      name=conv_name or prefix)(x)
    x = layers.BatchNormalization(epsilon=BN_EPSILON, momentum=BN_MOMENTUM, name=f"{prefix}_bn")(x)
    if activation:
        x = layers.ReLU(6.0, name=f"{prefix}_relu6")(x)
    return x


def _block(x, layers, index, expand_ratio, kernel, stride, filters_in, filters_out):
    """Inverted residual block without squeeze-and-excite (MBConv with ReLU6)."""
    name = f"block{index}"
    inputs = x
    if expand_ratio != 1:
        x = _conv_bn(x, layers, filters_in * expand_ratio, 1, 1, f"{name}_expand")
    x = layers.DepthwiseConv2D(kernel, strides=stride, padding="same", use_bias=False, name=f"{name}_dw")(x)
    x = layers.BatchNormalization(epsilon=BN_EPSILON, momentum=BN_MOMENTUM, name=f"{name}_dw_bn")(x)
    x = layers.ReLU(6.0, name=f"{name}_dw_relu6")(x)
    x = _conv_bn(x, layers, filters_out, 1, 1, f"{name}_project", activation=False)
    if stride == 1 and filters_in == filters_out:
        x = layers.Add(name=f"{name}_add")([x, inputs])
    return x


def stage_settings(variant: LiteVariant):
    """Yield ``(expand, kernel, stride, filters_in, filters_out)`` for every block, in order."""
    last = len(BASE_STAGES) - 1
    for stage, (expand, kernel, stride, filters_in, filters_out, repeats) in enumerate(BASE_STAGES):
        filters_in = round_filters(filters_in, variant.width)
        filters_out = round_filters(filters_out, variant.width)
        # Lite keeps the repeats of the first and last stage fixed.
        if stage not in (0, last):
            repeats = round_repeats(repeats, variant.depth)
        for repeat in range(repeats):
            yield expand, kernel, stride if repeat == 0 else 1, filters_in if repeat == 0 else filters_out, filters_out


def EfficientNetLite(
    name: str = "lite0",
    include_top: bool = True,
    input_shape: Optional[Tuple[int, int, int]] = None,
    pooling: Optional[str] = None,
    classes: int = 1000,
    classifier_activation: str = "softmax",
):
    """Build EfficientNet-``name`` (``"lite0"`` ... ``"lite4"``) as a Keras functional model.

    The arguments mean what they mean in ``keras.applications``; the input
    defaults to the variant's own resolution.
    """
    import keras
    from keras import layers

    variant = VARIANTS[name]
    if input_shape is None:
        input_shape = (variant.resolution, variant.resolution, 3)
    inputs = keras.Input(shape=input_shape, name="image")
    x = _conv_bn(inputs, layers, STEM_FILTERS, 3, 2, "stem", "stem_conv")
    for index, settings in enumerate(stage_settings(variant)):
        x = _block(x, layers, index, *settings)
    x = _conv_bn(x, layers, HEAD_FILTERS, 1, 1, "head", "head_conv")
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = layers.Dropout(variant.dropout, name="dropout")(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D(name="max_pool")(x)
    return keras.Model(inputs, x, name=f"efficientnet_{name}")
