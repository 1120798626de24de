"""Every quantization mode: the file size and the stored tensor types prove the mode was applied."""

import json

import pytest
from click.testing import CliRunner

from quant_support import write_class_folder, write_labels, train_colour_model

pytestmark = [pytest.mark.tensorflow, pytest.mark.slow]

MODES = ["float32", "float16", "dynamic", "int8", "int16x8"]
# Size of each mode's file relative to float32: float16 halves the weights,
# the 8-bit modes quarter them; metadata and graph add a few kilobytes.
SIZE_RATIO = {"float16": (0.45, 0.56), "dynamic": (0.24, 0.32), "int8": (0.24, 0.32), "int16x8": (0.24, 0.34)}
WEIGHT_TYPES = {"float32": {"float32"}, "float16": {"float16"}, "dynamic": {"int8"}, "int8": {"int8"},
                "int16x8": {"int8"}}


@pytest.fixture(scope="module")
def colour_setup(tmp_path_factory):
    pytest.importorskip("tensorflow")
    root = tmp_path_factory.mktemp("colour")
    model = train_colour_model(root / "colour.keras")
    images = write_class_folder(root / "images", per_class=8)
    labels = write_labels(root / "labels.txt")
    return model, images, labels, root


@pytest.fixture(scope="module")
def exports(colour_setup):
    from lince.export import ExportConfig, export_model
    from lince.models.preprocessing import get_preset

    model, images, labels, root = colour_setup
    results = {}
    for mode in MODES:
        config = ExportConfig(model_path=model, output_path=root / f"{mode}.tflite", quantization=mode,
                              calibration_dir=images, calibration_count=40, labels_path=labels,
                              normalization=get_preset("tf"))
        results[mode] = export_model(config)
    return results


@pytest.mark.parametrize("mode", MODES[1:])
def test_mode_size_ratio(exports, mode):
    low, high = SIZE_RATIO[mode]
    ratio = exports[mode].size_bytes / exports["float32"].size_bytes
    assert low <= ratio <= high, f"{mode}: {ratio:.3f} of float32"


@pytest.mark.parametrize("mode", MODES)
def test_mode_weight_types(exports, mode):
    from lince.export.tensors import inspect_tensors

    summary = inspect_tensors(exports[mode].path.read_bytes())
    assert set(summary.weights) == WEIGHT_TYPES[mode]
    assert exports[mode].report["tensors"]["weights"] == summary.weights


def test_int16x8_has_16bit_activations(exports):
    from lince.export.tensors import inspect_tensors

    summary = inspect_tensors(exports["int16x8"].path.read_bytes())
    assert summary.activations.get("int16", 0) >= 5
    assert "int8" not in summary.activations


def test_int8_activations_and_io(exports):
    from lince.export.tensors import inspect_tensors

    summary = inspect_tensors(exports["int8"].path.read_bytes())
    assert summary.input_type == "uint8"
    assert summary.output_type == "uint8"
    assert "float32" not in summary.activations


@pytest.mark.parametrize("mode", MODES)
def test_mode_keeps_predictions(exports, mode):
    comparison = exports[mode].comparison
    assert comparison.images >= 40
    assert comparison.top1_agreement >= 0.95
    assert comparison.export_accuracy >= comparison.source_accuracy - 0.05


def test_int8_float_io(colour_setup):
    from lince.export import ExportConfig, export_model
    from lince.export.tensors import inspect_tensors
    from lince.models.preprocessing import get_preset

    model, images, labels, root = colour_setup
    config = ExportConfig(model_path=model, output_path=root / "int8_float_io.tflite", quantization="int8",
                          io_type="float32", calibration_dir=images, calibration_count=20, labels_path=labels,
                          normalization=get_preset("tf"))
    summary = inspect_tensors(export_model(config).path.read_bytes())
    assert summary.input_type == "float32"
    assert set(summary.weights) == {"int8"}


def test_float_weights_rejected_as_int8(exports):
    from lince.export.tensors import check_mode, inspect_tensors
    from lince.runtime.errors import LinceError

    float_summary = inspect_tensors(exports["float32"].path.read_bytes())
    with pytest.raises(LinceError, match="weights of type float32"):
        check_mode(float_summary, "int8")
    with pytest.raises(LinceError, match="no 16-bit activations"):
        check_mode(inspect_tensors(exports["int8"].path.read_bytes()), "int16x8")


def test_cli_quantize_float16(colour_setup):
    from lince.cli import cli

    model, images, labels, root = colour_setup
    output = root / "cli_fp16.tflite"
    result = CliRunner().invoke(cli, ["export", str(model), "-o", str(output), "--quantize", "float16",
                                      "--calibration", str(images), "--calibration-count", "40",
                                      "--labels", str(labels), "--preprocess", "tf"])
    assert result.exit_code == 0, result.output
    assert "float16" in result.output
    report = json.loads(output.with_name("cli_fp16.report.json").read_text())
    assert report["quantization"] == "float16"
    assert report["evaluation"]["held_out"] is True


def test_cli_int8_conflicts_with_quantize(colour_setup):
    from lince.cli import cli

    model, images, labels, root = colour_setup
    result = CliRunner().invoke(cli, ["export", str(model), "-o", str(root / "x.tflite"), "--int8",
                                      "--quantize", "float16"])
    assert result.exit_code != 0
    assert "contradict" in result.output
