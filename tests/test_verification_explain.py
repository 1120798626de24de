"""``--explain`` lists the layers that lose most to int8; ``--keep-float`` leaves them in float and reports the cost."""

import json

import pytest
from click.testing import CliRunner

pytestmark = [pytest.mark.tensorflow, pytest.mark.slow]


@pytest.fixture(scope="module")
def colour(tmp_path_factory):
    pytest.importorskip("tensorflow")
    from quant_support import train_colour_model, write_class_folder, write_labels

    root = tmp_path_factory.mktemp("explain")
    return {"model": train_colour_model(root / "colour.keras"),
            "images": write_class_folder(root / "images", per_class=5),
            "labels": write_labels(root / "labels.txt"), "root": root}


def _export(colour, name, *extra):
    from lince.cli import cli

    output = colour["root"] / name
    result = CliRunner().invoke(cli, ["export", str(colour["model"]), "-o", str(output), "--int8",
                                      "--calibration", str(colour["images"]), "--calibration-count", "25",
                                      "--labels", str(colour["labels"]), "--preprocess", "tf", *extra])
    return result, output


@pytest.fixture(scope="module")
def explained(colour):
    result, output = _export(colour, "explain.tflite", "--explain")
    assert result.exit_code == 0, result.output
    return result, json.loads(output.with_name("explain.report.json").read_text(encoding="utf-8"))


def test_explain_lists_layers(explained):
    result, report = explained
    layers = report["explain"]
    assert 3 <= len(layers) <= 10
    errors = [layer["rmse_per_step"] for layer in layers]
    assert errors == sorted(errors, reverse=True)
    assert all(error > 0 for error in errors)
    assert {layer["op"] for layer in layers} <= {"CONV_2D", "FULLY_CONNECTED", "MEAN", "SOFTMAX", "QUANTIZE",
                                                  "DEPTHWISE_CONV_2D", "ADD", "MUL", "SUB"}
    assert "Layers with the largest int8 error" in result.output
    assert layers[0]["tensor"] in result.output


def test_keep_float_tradeoff(colour, explained):
    from lince.export.tensors import inspect_tensors

    _result, report = explained
    kept = next(layer["tensor"] for layer in report["explain"] if layer["op"] == "CONV_2D")
    result, output = _export(colour, "kept.tflite", "--keep-float", kept)
    assert result.exit_code == 0, result.output
    summary = inspect_tensors(output.read_bytes())
    assert "float32" in summary.weights  # the kept convolution's filter
    assert "int8" in summary.weights
    tradeoff = json.loads(output.with_name("kept.report.json").read_text(encoding="utf-8"))["keep_float"]
    assert tradeoff["layers"] == [kept]
    assert tradeoff["keep_float"]["size_bytes"] > tradeoff["int8"]["size_bytes"]
    assert tradeoff["int8"]["median_ms"] > 0
    assert 0 <= tradeoff["keep_float"]["accuracy"] <= 1
    markdown = output.with_name("kept.report.md").read_text(encoding="utf-8")
    assert "Layers kept in float" in markdown


def test_keep_float_unknown_layer(colour):
    result, output = _export(colour, "unknown.tflite", "--keep-float", "no_such_layer")
    assert result.exit_code != 0
    assert "--keep-float no_such_layer: no such tensor" in result.output
    assert not output.exists()


def test_explain_needs_int8(colour):
    from lince.cli import cli

    output = colour["root"] / "fp16.tflite"
    result = CliRunner().invoke(cli, ["export", str(colour["model"]), "-o", str(output), "--quantize", "float16",
                                      "--explain", "--labels", str(colour["labels"]), "--preprocess", "tf"])
    assert result.exit_code != 0
    assert "--explain applies to int8 export only" in result.output
