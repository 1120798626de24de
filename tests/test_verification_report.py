"""Verification of an export against its float model: metrics, report files, --max-drop, wrong normalisation."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from lince.export.verify import compare, kl_divergence


def test_compare_metrics_by_hand():
    source = np.array([[0.7, 0.2, 0.1, 0.0, 0.0, 0.0],
                       [0.1, 0.8, 0.1, 0.0, 0.0, 0.0],
                       [0.1, 0.1, 0.8, 0.0, 0.0, 0.0],
                       [0.6, 0.3, 0.1, 0.0, 0.0, 0.0]])
    exported = np.array([[0.6, 0.3, 0.1, 0.0, 0.0, 0.0],
                         [0.1, 0.8, 0.1, 0.0, 0.0, 0.0],
                         [0.5, 0.1, 0.4, 0.0, 0.0, 0.0],
                         [0.6, 0.3, 0.1, 0.0, 0.0, 0.0]])
    targets = np.array([0, 1, 2, 1])
    result = compare(source, exported, targets)
    assert result.top1_agreement == 0.75
    assert result.source_accuracy == 0.75
    assert result.export_accuracy == 0.5
    assert result.accuracy_drop == pytest.approx(25.0)
    assert result.disagreement == pytest.approx(25.0)
    assert result.per_class == ((0, 1, 1, 1), (1, 2, 1, 1), (2, 1, 1, 0))
    # The export takes few distinct values, like an 8-bit output, so KL floors
    # its zeros at half its smallest positive probability (0.1 / 2).
    assert result.mean_kl_divergence == pytest.approx(kl_divergence(source, exported, 0.05))
    assert result.mean_kl_divergence > 0


def test_kl_divergence_values():
    p = np.array([[0.5, 0.5]])
    assert kl_divergence(p, p) == pytest.approx(0.0, abs=1e-9)
    q = np.array([[0.9, 0.1]])
    expected = 0.5 * np.log(0.5 / 0.9) + 0.5 * np.log(0.5 / 0.1)
    assert kl_divergence(p, q) == pytest.approx(expected, rel=1e-5)


def test_top5_overlap():
    source = np.tile(np.arange(10, dtype=float), (2, 1)) / 45
    exported = source.copy()
    exported[1] = exported[1][::-1]  # top 5 becomes the bottom 5
    assert compare(source, exported).top5_overlap == pytest.approx(0.5)


@pytest.fixture(scope="module")
def colour(tmp_path_factory):
    pytest.importorskip("tensorflow")
    from quant_support import train_colour_model, write_class_folder, write_labels

    root = tmp_path_factory.mktemp("verify")
    return {
        "model": train_colour_model(root / "colour.keras"),
        "rescaling": train_colour_model(root / "rescaling" / "colour.keras", rescaling=True),
        "images": write_class_folder(root / "images", per_class=6),
        "labels": write_labels(root / "labels.txt"),
        "root": root,
    }


def _export(colour, *extra, name="out.tflite", model="model"):
    from lince.cli import cli

    output = colour["root"] / name
    arguments = ["export", str(colour[model]), "-o", str(output), "--labels", str(colour["labels"]),
                 "--calibration", str(colour["images"]), "--calibration-count", "30", "--overwrite", *extra]
    return CliRunner().invoke(cli, arguments), output


@pytest.mark.tensorflow
@pytest.mark.slow
def test_report_json_and_markdown(colour):
    result, output = _export(colour, "--int8", "--preprocess", "tf", name="int8.tflite")
    assert result.exit_code == 0, result.output
    report = json.loads(output.with_name("int8.report.json").read_text(encoding="utf-8"))
    comparison = report["comparison"]
    assert report["quantization"] == "int8"
    assert report["evaluation"]["held_out"] is True
    assert comparison["images"] == 30  # 60 images, 30 used for calibration
    assert len(report["calibration"]["files"]) == 30
    assert comparison["source_accuracy"] > 0.8
    assert {row["name"] for row in comparison["per_class"]} == {f"hue{i}" for i in range(10)}
    markdown = output.with_name("int8.report.md").read_text(encoding="utf-8")
    assert "top-1 agreement" in markdown
    assert "float top-1 accuracy" in markdown
    assert "Top-1 accuracy: float" in result.output


@pytest.mark.tensorflow
@pytest.mark.slow
def test_max_drop_rejects_and_keeps_model(colour, tmp_path):
    import cv2

    from lince.cli import cli

    # Calibrating on black frames gives activation ranges near zero, so the
    # int8 model clips every colour photo: a certain, large drop.
    black = tmp_path / "black"
    black.mkdir()
    for index in range(5):
        cv2.imwrite(str(black / f"{index}.png"), np.zeros((40, 40, 3), np.uint8))
    output = tmp_path / "strict.tflite"
    result = CliRunner().invoke(cli, ["export", str(colour["model"]), "-o", str(output), "--int8",
                                      "--calibration", str(black), "--eval", str(colour["images"]),
                                      "--labels", str(colour["labels"]), "--preprocess", "tf", "--max-drop", "5"])
    assert result.exit_code != 0
    assert "strict.rejected.tflite" in result.output
    assert "int16x8" in result.output  # the advice names what to try
    assert output.with_name("strict.rejected.tflite").exists()
    assert not output.exists()
    assert not output.with_name("strict.report.json").exists()
    report = json.loads(output.with_name("strict.rejected.report.json").read_text(encoding="utf-8"))
    assert report["passed"] is False
    assert report["max_drop"] == 5


@pytest.mark.tensorflow
@pytest.mark.slow
def test_max_drop_threshold(colour):
    from lince.export import ExportConfig
    from lince.export.verify import Comparison
    from lince.export.pipeline import _failure
    from lince.export.loading import load_source_model
    from lince.models.preprocessing import get_preset

    source = load_source_model(colour["model"])
    config = ExportConfig(colour["model"], colour["root"] / "x.tflite", max_drop=1.0,
                          normalization=get_preset("tf"))
    worse = Comparison(images=100, top1_agreement=0.97, mean_abs_difference=0.01, source_classes=10,
                       export_classes=10, source_accuracy=0.9, export_accuracy=0.9)
    assert "3.00 points of top-1 agreement" in _failure(worse, config, "int8", source)
    fine = Comparison(images=100, top1_agreement=0.995, mean_abs_difference=0.01, source_classes=10,
                      export_classes=10, source_accuracy=0.9, export_accuracy=0.895)
    assert _failure(fine, config, "int8", source) is None


@pytest.mark.tensorflow
@pytest.mark.slow
def test_double_normalisation_caught(colour):
    result, output = _export(colour, "--int8", "--mean", "127.5", "--std", "127.5", model="rescaling",
                             name="twice.tflite")
    assert result.exit_code != 0
    assert "normalise the pixels twice" in result.output
    assert "rescaling" in result.output
    assert not output.exists()


@pytest.mark.tensorflow
@pytest.mark.slow
def test_rescaling_model_exports_raw(colour):
    result, output = _export(colour, "--int8", "--preprocess", "raw", model="rescaling", name="raw.tflite")
    assert result.exit_code == 0, result.output
    report = json.loads(output.with_name("raw.report.json").read_text(encoding="utf-8"))
    assert report["comparison"]["source_accuracy"] > 0.8
    assert any("rescales its input" in note for note in report["notes"])


@pytest.mark.tensorflow
@pytest.mark.slow
def test_wrong_normalisation_shows_low_float_accuracy(colour):
    # Training used (x - 127.5) / 127.5; "caffe" feeds BGR pixels minus a mean.
    result, output = _export(colour, "--quantize", "float16", "--preprocess", "caffe", name="caffe.tflite")
    assert result.exit_code == 0, result.output
    report = json.loads(output.with_name("caffe.report.json").read_text(encoding="utf-8"))
    assert report["comparison"]["source_accuracy"] < 0.5
    assert report["comparison"]["export_accuracy"] < 0.5
    assert "Top-1 accuracy: float" in result.output


@pytest.mark.tensorflow
@pytest.mark.slow
def test_skipped_calibration_files_in_report(colour, tmp_path):
    from test_decoding_awkward_files import write_awkward_folder

    folder = tmp_path / "awkward"
    good, bad = write_awkward_folder(folder)
    from lince.cli import cli

    output = tmp_path / "awkward.tflite"
    result = CliRunner().invoke(cli, ["export", str(colour["model"]), "-o", str(output), "--int8",
                                      "--calibration", str(folder), "--eval", str(colour["images"]),
                                      "--labels", str(colour["labels"]), "--preprocess", "tf"])
    assert result.exit_code == 0, result.output
    assert f"({len(bad)} skipped)" in result.output
    report = json.loads(output.with_name("awkward.report.json").read_text(encoding="utf-8"))
    skipped = {name.rsplit("/", 1)[-1] for name in report["calibration"]["skipped"]}
    used = {name.rsplit("/", 1)[-1] for name in report["calibration"]["files"]}
    assert skipped == bad
    assert used == good
    markdown = output.with_name("awkward.report.md").read_text(encoding="utf-8")
    for name in bad:
        assert name in markdown


def test_top5_overlap_few_classes():
    source = np.array([[0.6, 0.3, 0.1], [0.2, 0.3, 0.5]])
    assert compare(source, source[:, ::-1]).top5_overlap == pytest.approx(1.0)


def test_top5_overlap_counts_ties():
    source = np.array([[0.30, 0.25, 0.20, 0.15, 0.10, 0.0, 0.0, 0.0]])
    # The 8-bit export rounded classes 3-7 to one value: classes 3 and 4 tie
    # with the fifth-highest value and count as kept.
    exported = np.array([[0.4, 0.3, 0.3, 0.0, 0.0, 0.0, 0.0, 0.0]])
    assert compare(source, exported).top5_overlap == pytest.approx(1.0)
    exported = np.array([[0.4, 0.3, 0.1, 0.0, 0.0, 0.1, 0.05, 0.05]])
    assert compare(source, exported).top5_overlap == pytest.approx(3 / 5)
