"""Each family's preprocessing, folded in on export, matches Keras' own preprocess_input.

For one small member per family, with random weights (same seed): the
exported ``.tflite`` fed raw 0-255 pixels must give the probabilities of the
Keras model fed ``keras.applications.<family>.preprocess_input(pixels)``.
Tolerance: 5e-4 absolute on probabilities (float32 TFLite kernels round
differently from TensorFlow's).
"""

import numpy as np
import pytest

from lince.models.preprocessing import get_preset
from lince.models.zoo import get_backbone
from lince.runtime.image_io import read_image
from lince.runtime.preprocess import Preprocessing, prepare_image

pytestmark = [pytest.mark.tensorflow, pytest.mark.slow]

SIZE = (64, 64)
TOLERANCE = 5e-4
PHOTOS = ("bird.bmp", "cat.bmp", "parrot.jpg", "sunflower.bmp")


def _lite_preprocess(pixels):
    # EfficientNet-Lite has no preprocess_input in Keras; its reference
    # implementation feeds (x - 127) / 128.
    return (pixels - 127.0) / 128.0


def _keras_preprocess(module_name):
    import keras

    return getattr(keras.applications, module_name).preprocess_input


CASES = [
    ("vgg16", "vgg16"),
    ("resnet50", "resnet50"),
    ("resnet50v2", "resnet_v2"),
    ("mobilenet-0.25", "mobilenet"),
    ("mobilenetv2-0.35", "mobilenet_v2"),
    ("mobilenetv3-small-minimalistic", "mobilenet_v3"),
    ("efficientnet-b0", "efficientnet"),
    ("efficientnetv2-b0", "efficientnet_v2"),
    ("efficientnet-lite0", None),
]


@pytest.fixture(scope="module")
def raw_pixels(images_dir):
    return np.stack([prepare_image(read_image(images_dir / name), Preprocessing(size=SIZE)) for name in PHOTOS])


def _wake_up(model, pixels):
    """Give random weights activations that differ between images.

    Freshly initialised batch normalisation is the identity in inference
    mode, and a deep ReLU network then often outputs the same features for
    every image. One training-mode pass with momentum 0 sets each layer's
    moving statistics to those of ``pixels``; the head is then scaled so
    that the probabilities differ clearly between images.
    """
    import keras
    from keras import layers

    for layer in _all_layers(model):
        if isinstance(layer, layers.BatchNormalization):
            layer.momentum = 0.0
    model(pixels, training=True)

    features = keras.Model(model.input, model.get_layer("avg_pool").output).predict(pixels, verbose=0)
    dense = model.get_layer("predictions")
    kernel, bias = dense.get_weights()
    rng = np.random.default_rng(0)
    spread = (features - features.mean(axis=0)).std() + 1e-6
    kernel = rng.normal(0, 1.5 / (spread * np.sqrt(features.shape[1])), kernel.shape).astype(np.float32)
    dense.set_weights([kernel, bias])


def _all_layers(model):
    for layer in model.layers:
        yield layer
        if hasattr(layer, "layers"):
            yield from _all_layers(layer)


@pytest.mark.parametrize("name, module_name", CASES)
def test_export_matches_preprocess_input(name, module_name, raw_pixels, tmp_path):
    import keras

    from lince.export.pipeline import ExportConfig, export_model
    from lince.models.transfer import build_classifier
    from lince.runtime.classifier import Classifier

    entry = get_backbone(name)
    keras.utils.set_random_seed(0)
    model, _base = build_classifier(entry, 5, SIZE, weights=None, dropout=0.0)
    preprocess = _lite_preprocess if module_name is None else _keras_preprocess(module_name)
    reference_input = preprocess(raw_pixels.astype(np.float32).copy())
    _wake_up(model, reference_input)
    expected = model.predict(reference_input, verbose=0)
    model_path = tmp_path / "model.keras"
    model.save(model_path)

    output = tmp_path / "model.tflite"
    export_model(ExportConfig(model_path=model_path, output_path=output, normalization=get_preset(entry.preprocess)))
    classifier = Classifier(output, num_threads=2)
    found = np.stack([classifier.classify_prepared(rgb, top_k=1).probabilities for rgb in raw_pixels])
    np.testing.assert_allclose(found, expected, atol=TOLERANCE)

    # The comparison can fail: another normalisation moves the probabilities well past the tolerance.
    wrong = get_preset("unit" if entry.preprocess != "unit" else "tf").apply(raw_pixels)
    assert np.abs(model.predict(wrong, verbose=0) - expected).max() > 40 * TOLERANCE
