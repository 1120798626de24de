"""A classifier made of a backbone and a new head, and its two training stages.

Stage 1 freezes the pretrained backbone and trains only the head (global
pooling, dropout, dense softmax). Stage 2 (fine-tuning) unfreezes the top
layers of the backbone. Its batch normalisation layers stay frozen and in
inference mode, because updating their statistics on a small data set
destroys what the backbone learned on ImageNet.
"""

import logging
from typing import Optional, Tuple

from lince.models.backbones import build_keras_model
from lince.models.zoo import Backbone
from lince.runtime.errors import LinceError, _

logger = logging.getLogger(__name__)


def build_classifier(backbone: Backbone, num_classes: int, size: Tuple[int, int], weights: Optional[str],
                     dropout: float = 0.2):
    """Return ``(model, base)``: ``base`` is the backbone inside ``model``.

    With pretrained ``weights`` the backbone is called with ``training=False``
    so its batch normalisation always runs in inference mode; from scratch
    (``weights=None``) it trains normally.
    """
    import keras
    from keras import layers

    base = build_keras_model(backbone, size=size, include_top=False, pooling=None, weights=weights)
    pretrained = weights is not None
    base.trainable = not pretrained
    if not pretrained:
        _faster_batch_statistics(base)
    inputs = keras.Input(shape=(size[0], size[1], 3), name="image")
    features = base(inputs, training=False) if pretrained else base(inputs)
    x = layers.GlobalAveragePooling2D(name="avg_pool")(features)
    if dropout:
        x = layers.Dropout(dropout, name="head_dropout")(x)
    outputs = layers.Dense(num_classes, activation="softmax", name="predictions")(x)
    return keras.Model(inputs, outputs, name=f"lince_{backbone.name.replace('-', '_').replace('.', '_')}"), base


def _faster_batch_statistics(base, momentum: float = 0.9) -> None:
    """Lower the moving-average momentum of batch normalisation for training from scratch.

    With Keras' default of 0.99 the moving statistics need several hundred
    steps to catch up with the weights. A small data set trains for fewer
    steps, so validation would run on stale statistics.
    """
    from keras import layers

    for layer in base.layers:
        if isinstance(layer, layers.BatchNormalization):
            layer.momentum = momentum


def unfreeze_top(base, count: int) -> int:
    """Make the top ``count`` layers of ``base`` trainable, except batch normalisation; return how many."""
    from keras import layers

    if count <= 0:
        raise LinceError(_("--fine-tune takes a positive number of layers, got {count}").format(count=count))
    base.trainable = True
    unfrozen = 0
    for index, layer in enumerate(base.layers):
        in_top = index >= len(base.layers) - count
        layer.trainable = in_top and not isinstance(layer, layers.BatchNormalization)
        unfrozen += int(layer.trainable and bool(layer.weights))
    logger.info("Fine-tuning: %d of the top %d layers of %s have trainable weights", unfrozen, count, base.name)
    return unfrozen
