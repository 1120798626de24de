"""EfficientNet-Lite built by lince loads the real ImageNet weights of the fixture model."""

import numpy as np
import pytest

from lince.models.preprocessing import get_preset
from lince.models.zoo import get_backbone
from lince.runtime.image_io import read_image
from lince.runtime.preprocess import Preprocessing, prepare_image

pytestmark = pytest.mark.tensorflow

def _use_keras_home(monkeypatch, folder):
    # Keras reads KERAS_HOME once, on import, so the test changes its setting directly.
    from keras.src.backend import config

    monkeypatch.setattr(config, "_KERAS_DIR", str(folder))


PHOTOS = ("bird.bmp", "cat.bmp", "dragonfly.bmp", "grace_hopper.bmp", "parrot.jpg", "sunflower.bmp")


@pytest.fixture(scope="module")
def fixture_model(models_dir):
    import keras

    return keras.models.load_model(str(models_dir / "efficientnet_lite0_imagenet.keras"), compile=False)


@pytest.fixture(scope="module")
def photo_batch(images_dir):
    lite = get_preset("lite")
    pixels = [prepare_image(read_image(images_dir / name), Preprocessing(size=(224, 224))) for name in PHOTOS]
    return lite.apply(np.stack(pixels))


def test_lite0_same_layout_as_fixture(fixture_model):
    from lince.models.backbones import build_keras_model

    model = build_keras_model(get_backbone("efficientnet-lite0"), include_top=True)
    ours = [(layer.name, type(layer).__name__, [tuple(w.shape) for w in layer.weights]) for layer in model.layers]
    theirs = [(layer.name, type(layer).__name__, [tuple(w.shape) for w in layer.weights])
              for layer in fixture_model.layers]
    assert ours == theirs


def test_lite0_with_fixture_weights_same_probabilities(fixture_model, photo_batch, models_dir):
    from lince.models.backbones import build_keras_model

    model = build_keras_model(get_backbone("efficientnet-lite0"), include_top=True,
                              weights=str(models_dir / "efficientnet_lite0_imagenet.keras"))
    expected = fixture_model.predict(photo_batch, verbose=0)
    found = model.predict(photo_batch, verbose=0)
    np.testing.assert_allclose(found, expected, atol=1e-5)
    labels = (models_dir / "imagenet1000_labels.txt").read_text().splitlines()
    top1 = [labels[i] for i in found.argmax(axis=1)]
    assert top1[0].startswith("chickadee")
    assert top1[4].startswith("macaw")


def test_imagenet_weights_from_keras_cache(tmp_path, monkeypatch, fixture_model, photo_batch, models_dir):
    from lince.models.backbones import build_keras_model

    cache = tmp_path / "models"
    cache.mkdir()
    (cache / "efficientnet_lite0_imagenet.keras").symlink_to(models_dir / "efficientnet_lite0_imagenet.keras")
    _use_keras_home(monkeypatch, tmp_path)
    # Without its top (a new head), the backbone's features equal the fixture's.
    features = build_keras_model(get_backbone("efficientnet-lite0"), include_top=False, pooling="avg",
                                 weights="imagenet")
    import keras

    reference = keras.Model(fixture_model.input, fixture_model.get_layer("avg_pool").output)
    np.testing.assert_allclose(features.predict(photo_batch[:2], verbose=0),
                               reference.predict(photo_batch[:2], verbose=0), atol=1e-4)


def test_missing_cached_weights_names_file(tmp_path, monkeypatch):
    from lince.models.backbones import build_keras_model
    from lince.runtime.errors import LinceError

    _use_keras_home(monkeypatch, tmp_path)
    with pytest.raises(LinceError) as error:
        build_keras_model(get_backbone("efficientnet-lite1"), weights="imagenet")
    message = str(error.value)
    assert str(tmp_path / "models" / "efficientnet_lite1_imagenet.keras") in message
    assert "--weights PATH" in message


def test_wrong_architecture_weights_rejected(models_dir):
    from lince.models.backbones import build_keras_model
    from lince.runtime.errors import LinceError

    with pytest.raises(LinceError, match="efficientnet-lite1"):
        build_keras_model(get_backbone("efficientnet-lite1"), size=(64, 64),
                          weights=str(models_dir / "efficientnet_lite0_imagenet.keras"))


def test_offline_keras_weights_error(tmp_path, monkeypatch):
    """Without a cached file and without internet, the error names the file and --weights."""
    import urllib.error

    from keras.src.utils import file_utils

    from lince.models.backbones import build_keras_model
    from lince.runtime.errors import LinceError

    def no_network(url, *args, **kwargs):
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(file_utils, "urlretrieve", no_network)
    _use_keras_home(monkeypatch, tmp_path)
    with pytest.raises(LinceError) as error:
        build_keras_model(get_backbone("mobilenetv2-0.35"), size=(96, 96), weights="imagenet")
    message = str(error.value)
    expected = tmp_path / "models" / "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_0.35_96_no_top.h5"
    assert str(expected) in message
    assert "--weights PATH" in message
    assert "--weights none" in message
