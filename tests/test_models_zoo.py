"""The backbone zoo: names, families, parameter counts, MACs and `lince models`."""

import json

import pytest
from click.testing import CliRunner

from lince.cli import cli
from lince.models.preprocessing import PRESETS
from lince.models.zoo import BACKBONES, FAMILIES, get_backbone
from lince.runtime.errors import LinceError

COURSE_FAMILIES = {"VGG", "ResNet", "MobileNet", "MobileNetV2", "MobileNetV3", "EfficientNet", "EfficientNetV2",
                   "EfficientNet-Lite"}

# Preset per family: Caffe BGR mean for VGG and ResNet V1, [-1, 1] for the
# MobileNets V1/V2 and ResNet V2, 0-255 for the models that rescale inside
# (Keras EfficientNet, EfficientNetV2, MobileNetV3), (x - 127) / 128 for Lite.
EXPECTED_PRESET = {"vgg16": "caffe", "resnet50": "caffe", "resnet152": "caffe", "resnet50v2": "tf",
                   "mobilenet-0.25": "tf", "mobilenetv2-0.35": "tf", "mobilenetv3-small": "raw",
                   "mobilenetv3-large-minimalistic": "raw", "efficientnet-b7": "raw", "efficientnetv2-s": "raw",
                   "efficientnet-lite0": "lite"}


def test_zoo_covers_course_families():
    assert COURSE_FAMILIES <= set(FAMILIES)
    names = set(BACKBONES)
    expected = {"vgg16", "vgg19", "resnet50", "resnet101", "resnet152", "resnet50v2", "resnet101v2", "resnet152v2",
                "mobilenet-1.0", "mobilenet-0.75", "mobilenet-0.5", "mobilenet-0.25", "mobilenetv2-1.0",
                "mobilenetv2-0.35", "mobilenetv3-small", "mobilenetv3-large", "mobilenetv3-small-minimalistic",
                "mobilenetv3-large-minimalistic", "efficientnetv2-s"}
    expected |= {f"efficientnet-b{i}" for i in range(8)} | {f"efficientnetv2-b{i}" for i in range(4)}
    expected |= {f"efficientnet-lite{i}" for i in range(5)}
    assert expected <= names


@pytest.mark.parametrize("name, preset", sorted(EXPECTED_PRESET.items()))
def test_preset_per_family(name, preset):
    assert BACKBONES[name].preprocess == preset


def test_every_entry_is_complete():
    for entry in BACKBONES.values():
        assert entry.preprocess in PRESETS, entry.name
        assert entry.params > 0, entry.name
        assert entry.macs > 0, entry.name
        assert entry.note, entry.name


@pytest.mark.parametrize("typed, name", [("MobileNetV2", "mobilenetv2-1.0"), ("mobilenet_v2_0.35", "mobilenetv2-0.35"),
                                         ("EfficientNetLite0", "efficientnet-lite0"), ("ResNet50V2", "resnet50v2"),
                                         ("efficientnet_b3", "efficientnet-b3"), ("VGG16", "vgg16"),
                                         ("mobilenetv1-0.25", "mobilenet-0.25")])
def test_lookup_ignores_case_and_dashes(typed, name):
    assert get_backbone(typed).name == name


def test_unknown_name_suggests_close_ones():
    with pytest.raises(LinceError, match=r"unknown backbone 'mobilenet-v4'.*did you mean .*mobilenet"):
        get_backbone("mobilenet-v4")
    with pytest.raises(LinceError, match=r"did you mean .*resnet50"):
        get_backbone("resnet5O")


def test_unknown_name_without_match():
    with pytest.raises(LinceError, match="lince models"):
        get_backbone("zzzzzz")


def test_models_command_table():
    result = CliRunner().invoke(cli, ["models"])
    assert result.exit_code == 0, result.output
    for name in BACKBONES:
        assert f"\n{name} " in result.output
    assert "138.36 M" in result.output  # VGG16
    assert "too big for a Pi" in result.output
    assert "swish + SE: check int8 accuracy" in result.output


def test_models_command_json():
    result = CliRunner().invoke(cli, ["models", "--json"])
    assert result.exit_code == 0, result.output
    rows = {row["name"]: row for row in json.loads(result.output)}
    assert set(rows) == set(BACKBONES)
    assert rows["efficientnet-lite0"]["params"] == 4694024
    assert rows["efficientnet-lite0"]["preprocess"] == "lite"
    assert rows["vgg16"]["size"] == 224


def test_models_command_family_filter():
    result = CliRunner().invoke(cli, ["models", "--family", "efficientnet-lite", "--json"])
    assert result.exit_code == 0, result.output
    assert [row["name"] for row in json.loads(result.output)] == [f"efficientnet-lite{i}" for i in range(5)]
    bad = CliRunner().invoke(cli, ["models", "--family", "alexnet"])
    assert bad.exit_code != 0
    assert "unknown family 'alexnet'" in bad.output


@pytest.mark.tensorflow
@pytest.mark.slow
def test_counts_match_keras():
    """Every entry's parameters and MACs equal those of the model Keras builds."""
    import keras

    from lince.models.backbones import build_keras_model
    from lince.models.complexity import count_macs

    mismatches = []
    for entry in BACKBONES.values():
        model = build_keras_model(entry, include_top=True)
        found = (model.count_params(), count_macs(model))
        if found != (entry.params, entry.macs):
            mismatches.append((entry.name, found, (entry.params, entry.macs)))
        del model
        keras.backend.clear_session()
    assert mismatches == []


@pytest.mark.tensorflow
def test_keras_reference_counts():
    """Spot checks against the parameter counts published with keras.applications."""
    published = {"vgg16": 138_357_544, "resnet50": 25_636_712, "mobilenetv2-1.0": 3_538_984,
                 "mobilenet-1.0": 4_253_864, "efficientnet-b0": 5_330_571}
    for name, params in published.items():
        assert BACKBONES[name].params == params, name


@pytest.mark.tensorflow
def test_lite_counts_match_published():
    # Trainable parameters of the EfficientNet-Lite ImageNet models as published
    # with the reference implementation (tensorflow/tpu, efficientnet/lite
    # README), rounded there to 0.1 M.
    import keras

    from lince.models.backbones import build_keras_model

    published_millions = {"efficientnet-lite0": 4.7, "efficientnet-lite1": 5.4, "efficientnet-lite2": 6.1,
                          "efficientnet-lite3": 8.2, "efficientnet-lite4": 13.0}
    for name, millions in published_millions.items():
        model = build_keras_model(BACKBONES[name], include_top=True)
        trainable = sum(int(w.numpy().size) for w in model.trainable_weights)
        assert abs(trainable / 1e6 - millions) <= 0.05, (name, trainable)
        keras.backend.clear_session()


def test_mac_formulas():
    from types import SimpleNamespace

    from lince.models.complexity import layer_macs

    conv = type("Conv2D", (), {})()
    conv.kernel = SimpleNamespace(shape=(3, 3, 16, 32))
    conv.output = SimpleNamespace(shape=(None, 10, 10, 32))
    assert layer_macs(conv) == 10 * 10 * 3 * 3 * 16 * 32
    depthwise = type("DepthwiseConv2D", (), {})()
    depthwise.kernel = SimpleNamespace(shape=(5, 5, 8, 1))
    depthwise.output = SimpleNamespace(shape=(None, 4, 4, 8))
    assert layer_macs(depthwise) == 4 * 4 * 5 * 5 * 8
    dense = type("Dense", (), {})()
    dense.kernel = SimpleNamespace(shape=(1280, 10))
    assert layer_macs(dense) == 12800
