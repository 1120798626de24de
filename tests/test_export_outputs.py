"""Files an export writes: no report or rejected model replaced without --overwrite, reports named after
the model they describe, and a loud warning for a degraded export that passed."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

pytestmark = pytest.mark.tensorflow


def _invoke(*arguments):
    from lince.cli import cli

    return CliRunner().invoke(cli, [str(argument) for argument in arguments])


@pytest.mark.parametrize("existing", ["only.report.md", "only.report.json", "only.rejected.tflite",
                                      "only.rejected.report.json"])
def test_existing_report_or_rejected_file_refused_up_front(tmp_path, existing):
    pytest.importorskip("tensorflow")
    # Not a model: the refusal must come before the model is even loaded.
    model = tmp_path / "model.keras"
    model.write_bytes(b"not a model")
    calibration = tmp_path / "images"
    calibration.mkdir()
    (tmp_path / existing).write_text("keep me", encoding="utf-8")
    result = _invoke("export", model, "--int8", "--calibration", calibration, "-o", tmp_path / "only.tflite")
    assert result.exit_code == 1
    lines = result.output.strip().splitlines()
    assert len(lines) == 1, result.output
    assert existing in lines[0]
    assert "--overwrite" in lines[0]
    assert (tmp_path / existing).read_text(encoding="utf-8") == "keep me"


def test_float_export_without_verification_ignores_old_reports(tmp_path):
    pytest.importorskip("tensorflow")
    from lince.export.pipeline import ExportConfig, _check_outputs_writable

    (tmp_path / "m.report.json").write_text("{}", encoding="utf-8")
    output = tmp_path / "m.tflite"
    config = ExportConfig(tmp_path / "model.keras", output)
    _check_outputs_writable(config, output, tmp_path / "m.rejected.tflite")  # no report is written: no refusal


def test_degradation_warning_thresholds():
    pytest.importorskip("tensorflow")
    from lince.export.pipeline import degradation_warning
    from lince.export.verify import Comparison

    def comparison(agreement, source=None, export=None):
        return Comparison(images=100, top1_agreement=agreement, mean_abs_difference=0.01, source_classes=5,
                          export_classes=5, source_accuracy=source, export_accuracy=export)

    assert degradation_warning(comparison(0.96)) is None
    assert degradation_warning(comparison(0.99, 0.90, 0.89)) is None
    low = degradation_warning(comparison(0.767))
    for fragment in ("76.7%", "int16x8", "--keep-float", "preprocessing"):
        assert fragment in low
    assert "3.00 points" in degradation_warning(comparison(0.99, 0.90, 0.87))


@pytest.fixture(scope="module")
def colour(tmp_path_factory):
    pytest.importorskip("tensorflow")
    import cv2
    from quant_support import train_colour_model, write_class_folder, write_labels

    from lince.calibration.dataset import list_images

    root = tmp_path_factory.mktemp("outputs")
    images = write_class_folder(root / "images", per_class=3)
    # Calibrating on every third photo at 30 % brightness clips the brighter
    # colours: about a third of the images keep their class, none collapses.
    dim = root / "dim"
    dim.mkdir()
    for index, path in enumerate(list_images(images)[::3]):
        cv2.imwrite(str(dim / f"{index}.png"), (cv2.imread(str(path)) * 0.3).astype(np.uint8))
    return {"model": train_colour_model(root / "colour.keras"), "labels": write_labels(root / "labels.txt"),
            "images": images, "dim": dim}


def _dim_export(colour, output, *extra):
    return _invoke("export", colour["model"], "-o", output, "--int8", "--calibration", colour["dim"],
                   "--eval", colour["images"], "--labels", colour["labels"], "--preprocess", "tf", *extra)


@pytest.mark.slow
def test_rejected_report_named_after_rejected_model(colour, tmp_path):
    output = tmp_path / "good.tflite"
    good_report = tmp_path / "good.report.json"
    good_report.write_text('{"model": "good.tflite", "passed": true}', encoding="utf-8")
    result = _dim_export(colour, output, "--max-drop", "5", "--overwrite")
    assert result.exit_code == 1
    assert good_report.read_text(encoding="utf-8") == '{"model": "good.tflite", "passed": true}'
    assert not tmp_path.joinpath("good.report.md").exists()
    report = json.loads((tmp_path / "good.rejected.report.json").read_text(encoding="utf-8"))
    assert report["model"] == str(tmp_path / "good.rejected.tflite")
    assert report["passed"] is False
    markdown = (tmp_path / "good.rejected.report.md").read_text(encoding="utf-8")
    assert "`good.rejected.tflite`" in markdown


@pytest.mark.slow
def test_degraded_export_warns_loudly_but_passes(colour, tmp_path):
    output = tmp_path / "loose.tflite"
    result = _dim_export(colour, output)
    assert result.exit_code == 0, result.output
    warnings = [line for line in result.output.splitlines() if line.startswith("WARNING: ")]
    assert len(warnings) == 1, result.output
    assert "int16x8" in warnings[0]
    report = json.loads((tmp_path / "loose.report.json").read_text(encoding="utf-8"))
    assert report["passed"] is True
    assert 0.1 < report["comparison"]["top1_agreement"] < 0.95
    assert "--keep-float" in report["warning"]
    assert "**Warning: " in (tmp_path / "loose.report.md").read_text(encoding="utf-8")
