"""Build the Keras models of the zoo, with or without ImageNet weights.

``keras.applications`` builds every family but EfficientNet-Lite (built by
:mod:`lince.models.efficientnet_lite`) and lince's tiny CNN. ImageNet weights
come from the Keras cache (``$KERAS_HOME/models``, by default
``~/.keras/models``) when the file is there, else Keras downloads them.
Without internet access, the error names the file looked for and the
``--weights PATH`` alternative.
"""

import logging
import os
import re
from pathlib import Path
from typing import Optional, Tuple

from lince.models.efficientnet_lite import EfficientNetLite
from lince.models.zoo import Backbone
from lince.runtime.errors import LinceError, ModelLoadError, _

logger = logging.getLogger(__name__)

WEIGHT_SUFFIXES = (".keras", ".h5", ".weights.h5")


def keras_cache_dir() -> Path:
    """Return the folder where Keras keeps downloaded weights."""
    try:
        # Keras fixes its home folder when it is imported (from KERAS_HOME, else
        # ~/.keras, else /tmp/.keras) and offers no public accessor (Keras 3.15).
        from keras.src.backend.config import keras_home

        home = keras_home()
    except ImportError:
        home = os.environ.get("KERAS_HOME") or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(home) / "models"


def tiny_cnn(input_shape, include_top=True, pooling=None, classes=1000, classifier_activation="softmax"):
    """Build lince's small from-scratch CNN: four stages of two conv-BN-ReLU layers, 0.3 M parameters without its top.

    It has no pretrained weights. It learns simple signs and shapes in a few
    minutes on a CPU, which is what the tests and the demo need.
    """
    import keras
    from keras import layers

    inputs = keras.Input(shape=input_shape, name="image")
    x = inputs
    for stage, filters in enumerate((16, 32, 64, 128)):
        x = layers.Conv2D(filters, 3, strides=2, padding="same", use_bias=False, name=f"stage{stage}_conv")(x)
        x = layers.BatchNormalization(name=f"stage{stage}_bn")(x)
        x = layers.ReLU(name=f"stage{stage}_relu")(x)
        x = layers.Conv2D(filters, 3, padding="same", use_bias=False, name=f"stage{stage}_conv2")(x)
        x = layers.BatchNormalization(name=f"stage{stage}_bn2")(x)
        x = layers.ReLU(name=f"stage{stage}_relu2")(x)
    if include_top:
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
        x = layers.Dense(classes, activation=classifier_activation, name="predictions")(x)
    elif pooling == "avg":
        x = layers.GlobalAveragePooling2D(name="avg_pool")(x)
    elif pooling == "max":
        x = layers.GlobalMaxPooling2D(name="max_pool")(x)
    return keras.Model(inputs, x, name="tiny_cnn")


def _constructor(backbone: Backbone):
    if backbone.constructor == "EfficientNetLite":
        return EfficientNetLite
    if backbone.constructor == "TinyCNN":
        return tiny_cnn
    import keras

    return getattr(keras.applications, backbone.constructor)


def check_size(backbone: Backbone, size: Tuple[int, int]) -> None:
    if min(size) < backbone.min_size:
        raise LinceError(_("{name} needs an input of at least {minimum}x{minimum} pixels, got {height}x{width}")
                         .format(name=backbone.name, minimum=backbone.min_size, height=size[0], width=size[1]))


def build_keras_model(backbone: Backbone, size: Optional[Tuple[int, int]] = None, include_top: bool = False,
                      pooling: Optional[str] = None, weights: Optional[str] = None, classes: int = 1000):
    """Build ``backbone`` at ``size`` (default: its own) with ``weights``: None, ``"imagenet"`` or a file.

    With ``include_top`` it is the 1000-class ImageNet classifier; without, the
    feature extractor (``pooling`` ``None``, ``"avg"`` or ``"max"``).
    """
    size = tuple(size or (backbone.size, backbone.size))
    check_size(backbone, size)
    keyword = dict(backbone.options)
    keyword.update(include_top=include_top, input_shape=(size[0], size[1], 3))
    if not include_top:
        keyword["pooling"] = pooling
    else:
        keyword["classes"] = classes
    builtin = backbone.constructor not in ("EfficientNetLite", "TinyCNN")
    if builtin:
        keyword["weights"] = "imagenet" if weights == "imagenet" else None
    model = _build_quietly(_constructor(backbone), keyword, backbone)
    if weights == "imagenet" and not builtin:
        load_weights_file(model, _cached_lince_weights(backbone), backbone)
    elif weights not in (None, "imagenet"):
        load_weights_file(model, Path(weights), backbone)
    return model


def _build_quietly(constructor, keyword, backbone: Backbone):
    try:
        return constructor(**keyword)
    except Exception as error:  # Keras raises a bare Exception when a download fails.
        url = re.search(r"URL fetch failure on (\S+):\s", str(error))
        if url is None:
            raise
        file_name = url.group(1).rsplit("/", 1)[-1]
        raise LinceError(_(
            "ImageNet weights of {name} not found: looked for {path} and could not download {url}. "
            "Copy that file there, pass --weights PATH (a .keras or .h5 of the same architecture), "
            "or --weights none to train from scratch").format(
                name=backbone.name, path=keras_cache_dir() / file_name, url=url.group(1))) from None


def _cached_lince_weights(backbone: Backbone) -> Path:
    """Return the cache path of ImageNet weights for a lince-built architecture, or raise."""
    if backbone.constructor == "TinyCNN":
        raise LinceError(_("{name} has no ImageNet weights: pass --weights none to train it from scratch")
                         .format(name=backbone.name))
    path = keras_cache_dir() / f"efficientnet_{backbone.options['name']}_imagenet.keras"
    if not path.exists():
        # Limitation: no public download of EfficientNet-Lite weights in Keras format exists, so lince
        # only looks in the cache.
        raise LinceError(_(
            "ImageNet weights of {name} not found: looked for {path}. Copy a Keras model of {name} there, "
            "pass --weights PATH (a .keras or .h5 of the same architecture), "
            "or --weights none to train from scratch").format(name=backbone.name, path=path))
    return path


def load_weights_file(model, path: Path, backbone: Backbone) -> None:
    """Copy weights from ``path`` into ``model``, layer by layer, matching layer names.

    ``path`` may be a whole saved model (``.keras`` or ``.h5``) of the same
    architecture, with or without its classification top, or a weights file.
    """
    if not path.is_file():
        raise LinceError(_("--weights {path}: file not found").format(path=path))
    if not str(path).endswith(WEIGHT_SUFFIXES):
        raise LinceError(_("--weights {path}: give a .keras or .h5 file, or 'none' or 'imagenet'").format(path=path))
    source = _read_weights_model(path)
    if source is None:
        model.load_weights(str(path), skip_mismatch=False)
        return
    # A lince-trained classifier nests its backbone as one layer: look inside.
    source_layers = {layer.name: layer for layer in _flatten_layers(source)}
    copied = 0
    for layer in model.layers:
        if not layer.weights or layer.name not in source_layers:
            continue
        source_weights = source_layers[layer.name].get_weights()
        if [w.shape for w in source_weights] != [w.shape for w in layer.get_weights()]:
            if layer.name == "predictions":
                continue  # A top with another number of classes is expected.
            raise LinceError(_("--weights {path}: layer {layer} has shapes {found}, {name} needs {expected}")
                             .format(path=path, layer=layer.name, name=backbone.name,
                                     found=[tuple(w.shape) for w in source_weights],
                                     expected=[tuple(w.shape) for w in layer.get_weights()]))
        layer.set_weights(source_weights)
        copied += 1
    expected = sum(1 for layer in model.layers if layer.weights and layer.name != "predictions")
    if copied < expected:
        raise LinceError(_("--weights {path}: only {copied} of the {expected} layers of {name} were found in it; "
                           "is it the same architecture?").format(path=path, copied=copied, expected=expected,
                                                                 name=backbone.name))
    logger.info("Loaded weights of %d layers from %s", copied, path)


def _flatten_layers(model):
    for layer in model.layers:
        if hasattr(layer, "layers") and layer.layers:
            yield from _flatten_layers(layer)
        else:
            yield layer


def _read_weights_model(path: Path):
    """Load a whole saved model, or return None when ``path`` contains weights only."""
    import keras

    if str(path).endswith(".weights.h5"):
        return None
    try:
        return keras.models.load_model(str(path), compile=False)
    except (ValueError, OSError, TypeError) as error:
        if str(path).endswith(".h5"):
            return None
        raise ModelLoadError(_("--weights {path}: cannot load it: {reason}").format(
            path=path, reason=str(error).splitlines()[0] if str(error) else type(error).__name__)) from None
