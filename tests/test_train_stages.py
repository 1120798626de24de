"""The two training stages: a frozen pretrained backbone, then fine-tuning of its top layers."""

import json

import pytest

from lince.models.zoo import get_backbone
from lince.synthetic import make_dataset

pytestmark = pytest.mark.tensorflow


def test_unfreeze_top_keeps_batch_norm_frozen():
    from keras import layers

    from lince.models.transfer import build_classifier, unfreeze_top

    model, base = build_classifier(get_backbone("mobilenetv2-0.35"), 3, (32, 32), weights=None)
    base.trainable = False
    unfrozen = unfreeze_top(base, 12)
    top = base.layers[-12:]
    assert unfrozen == sum(1 for layer in top if layer.weights and not isinstance(layer, layers.BatchNormalization))
    assert unfrozen > 0
    for layer in base.layers[:-12]:
        assert not layer.trainable, layer.name
    for layer in top:
        assert layer.trainable == (not isinstance(layer, layers.BatchNormalization)), layer.name


def test_scratch_backbone_is_trainable():
    from lince.models.transfer import build_classifier

    # From scratch the whole network trains, with faster batch-norm statistics.
    model, base = build_classifier(get_backbone("tiny-cnn"), 3, (32, 32), weights=None)
    assert base.trainable
    assert base.get_layer("stage0_bn").momentum == pytest.approx(0.9)


@pytest.mark.slow
def test_fine_tune_from_weights_file(tmp_path):
    from lince.models.backbones import build_keras_model
    from lince.models.training import train

    data = tmp_path / "data"
    make_dataset(data, classes=["stop", "circle", "square"], per_class=8, size=(48, 48), seed=2)
    pretrained = build_keras_model(get_backbone("tiny-cnn"), size=(32, 32), include_top=False)
    pretrained.save(tmp_path / "pretrained.keras")

    result = train(data, tmp_path / "out", backbone="tiny-cnn", size=32, weights=str(tmp_path / "pretrained.keras"),
                   epochs=2, fine_tune=3, fine_tune_epochs=2, patience=5)
    assert result.epochs_run == 4
    sidecar = json.loads((tmp_path / "out" / "lince.json").read_text())
    assert sidecar["settings"]["fine_tune"] == 3
    assert sidecar["weights"].endswith("pretrained.keras")

    import keras
    import numpy as np

    trained = keras.models.load_model(tmp_path / "out" / "model.keras", compile=False)
    base = next(layer for layer in trained.layers if hasattr(layer, "layers"))
    # Stage 1 trains the head only and stage 2 the top 3 layers, so the first
    # convolution keeps the loaded weights exactly.
    frozen = base.get_layer("stage0_conv").get_weights()[0]
    np.testing.assert_array_equal(frozen, pretrained.get_layer("stage0_conv").get_weights()[0])


def test_weights_from_lince_classifier(tmp_path):
    """A model saved by lince (backbone nested in the classifier) gives its backbone weights."""
    import numpy as np

    from lince.models.backbones import build_keras_model
    from lince.models.transfer import build_classifier

    classifier, base = build_classifier(get_backbone("tiny-cnn"), 4, (32, 32), weights=None)
    classifier.save(tmp_path / "previous.keras")
    loaded = build_keras_model(get_backbone("tiny-cnn"), size=(32, 32), weights=str(tmp_path / "previous.keras"))
    for name in ("stage0_conv", "stage3_conv2", "stage3_bn2"):
        for found, expected in zip(loaded.get_layer(name).get_weights(), base.get_layer(name).get_weights()):
            np.testing.assert_array_equal(found, expected)
