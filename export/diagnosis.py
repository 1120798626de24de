"""Catch the usual causes of a wrong export before and after converting.

Normalising twice is the most common mistake: a Keras EfficientNet (B0-B7)
or a model with a ``Rescaling`` layer takes 0-255 pixels and scales them
itself, so ``--mean/--std`` on top of it feeds the network values near zero.
The float model then gives nearly the same class for every image, and the
int8 model inherits the mistake.
"""

import logging
from typing import List, Optional

import numpy as np

from lince.export.converter import ExportError
from lince.export.loading import SourceModel
from lince.models.preprocessing import Normalization
from lince.runtime.errors import _

logger = logging.getLogger(__name__)

# Layer classes that normalise the pixels inside the model.
_NORMALIZING_LAYERS = ("Rescaling", "Normalization")
# Only layers this close to the input are taken for input normalisation.
_INPUT_DEPTH = 4
# Activations whose unbounded or wide ranges quantize badly to 8 bits.
_WIDE_ACTIVATIONS = ("swish", "silu", "gelu", "hard_swish")


def normalizing_layers(source: SourceModel) -> List[str]:
    """Return ``name (Class)`` of the layers near the input of a Keras model that rescale pixels."""
    model = source.keras_model
    if model is None:
        return []
    found = []
    for layer in _first_layers(model, _INPUT_DEPTH):
        if type(layer).__name__ in _NORMALIZING_LAYERS:
            found.append(f"{layer.name} ({type(layer).__name__})")
    return found


def _first_layers(model, depth: int):
    layers = []
    for layer in model.layers[:depth + 1]:
        inner = getattr(layer, "layers", None)
        # A backbone nested as one layer (keras.applications inside a
        # transfer-learning model) hides its Rescaling layer one level down.
        layers.extend(inner[:depth + 1] if inner else [layer])
    return layers


def check_double_normalization(source: SourceModel, normalization: Normalization, given: bool) -> None:
    """Raise when the user normalises pixels that the model already rescales itself."""
    layers = normalizing_layers(source)
    if not layers or normalization.is_identity:
        return
    if given:
        raise ExportError(_(
            "{path} already normalises its input ({layers}), so --mean/--std or --preprocess {name} would "
            "normalise the pixels twice; export it without them (or with --preprocess raw)").format(
                path=source.path, layers=", ".join(layers), name=normalization.name))
    logger.warning("%s already normalises its input (%s) and the training settings add normalisation %s; "
                   "check that the pixels are not normalised twice", source.path, ", ".join(layers),
                   normalization.name)


def check_source_predictions(scores: np.ndarray, normalization: Normalization) -> str:
    """Return a warning when the float model gives one class for every one of several images, else "".

    Real photos of different things rarely all get one class from a working
    classifier, and wrong normalisation is the usual cause. A folder of one
    class's photos does it too, so this is a warning, not an error.
    """
    if len(scores) < 8:
        return ""
    classes = np.unique(scores.argmax(axis=1))
    if len(classes) > 1:
        return ""
    return _("The source model gives class {index} for all {count} images before any conversion: unless they all "
             "show that class, its input is probably normalised wrongly (now {normalization}); check --preprocess "
             "or --mean/--std, and whether the model rescales its input itself.").format(
                 index=int(classes[0]), count=len(scores), normalization=_describe(normalization))


def _describe(normalization: Normalization) -> str:
    return f"{normalization.name}: mean {list(normalization.mean)}, std {list(normalization.std)}"


def wide_activation_layers(source: SourceModel) -> List[str]:
    """Return names of layers with swish-like activations or squeeze-and-excitation multiplies."""
    model = source.keras_model
    if model is None:
        return []
    names = []
    for layer in _all_layers(model):
        activation = getattr(layer, "activation", None)
        name = getattr(activation, "__name__", "") if activation is not None else ""
        if name in _WIDE_ACTIVATIONS or type(layer).__name__ == "Multiply":
            names.append(layer.name)
    return names


def _all_layers(model):
    for layer in model.layers:
        inner = getattr(layer, "layers", None)
        if inner:
            yield from _all_layers(layer)
        else:
            yield layer


def collapse_advice(source: SourceModel, mode: str) -> str:
    """Return what to try when a quantized export lost the model's behaviour."""
    wide = wide_activation_layers(source)
    cause = ""
    if wide:
        cause = _("the model has {count} swish or squeeze-and-excitation layers (e.g. {examples}), whose wide "
                  "activation ranges lose most detail in 8 bits. ").format(
                      count=len(wide), examples=", ".join(wide[:3]))
    return cause + _("Try --quantize int16x8 or float16, --explain then --keep-float on the worst layers, more "
                     "calibration images from the camera, or a Lite backbone (EfficientNet-Lite, MobileNet).")


def normalization_note(layers: Optional[List[str]]) -> str:
    """Return a one-line note for the report about normalisation inside the model."""
    if not layers:
        return ""
    return _("The model rescales its input itself ({layers}).").format(layers=", ".join(layers))
