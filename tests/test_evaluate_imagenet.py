"""`lince evaluate` on the ImageNet sample with the fixture EfficientNet-Lite0, float and int8.

The printed top-1 accuracy must equal an independent computation: OpenCV
decoding and resizing, labels taken from the CSV's class index (not matched
by name), and for the ``.tflite`` the LiteRT interpreter driven directly.
"""

import csv
import json
import re
import zipfile

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from lince.cli import cli

pytestmark = pytest.mark.tensorflow


@pytest.fixture(scope="module")
def sample(fixtures_dir):
    csv_path = fixtures_dir / "imagenet-sample" / "labels.csv"
    with open(csv_path, newline="") as file:
        rows = list(csv.DictReader(file))
    return csv_path, rows


def _pixels(folder, rows, size=224):
    images = []
    for row in rows:
        image = cv2.imread(str(folder / row["file"]), cv2.IMREAD_COLOR)
        image = cv2.resize(image, (size, size), interpolation=cv2.INTER_LINEAR)
        images.append(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
    return np.stack(images)


def _printed_top1(output: str) -> float:
    match = re.search(r"top-1 accuracy: ([0-9.]+)% \((\d+)/(\d+)\)", output)
    assert match, output
    return int(match.group(2)) / int(match.group(3))


@pytest.mark.slow
def test_float_keras_top1(sample, models_dir, tmp_path):
    import keras

    csv_path, rows = sample
    model_path = models_dir / "efficientnet_lite0_imagenet.keras"
    result = CliRunner().invoke(cli, ["evaluate", str(model_path), str(csv_path), "--preprocess", "lite",
                                      "--labels", str(models_dir / "imagenet1000_labels.txt"),
                                      "-o", str(tmp_path / "report")])
    assert result.exit_code == 0, result.output
    printed = _printed_top1(result.output)

    model = keras.models.load_model(str(model_path), compile=False)
    pixels = _pixels(csv_path.parent, rows).astype(np.float32)
    # Eager calls on batches of 32, as lince evaluates: model.predict runs a
    # compiled graph whose rounding can flip a near tie between two classes.
    normalised = (pixels - 127.0) / 128.0
    probabilities = np.concatenate([np.asarray(model(normalised[start:start + 32], training=False))
                                    for start in range(0, len(normalised), 32)])
    truth = np.array([int(row["index"]) for row in rows])
    expected = float(np.mean(probabilities.argmax(axis=1) == truth))
    assert printed == pytest.approx(expected, abs=1e-9)
    assert expected > 0.6  # Measured: 84.2% on this sample; a wrong normalisation falls far below.
    assert (tmp_path / "report" / "misclassified.png").is_file()
    report = json.loads((tmp_path / "report" / "results.json").read_text())
    assert report["images"] == len(rows)


@pytest.mark.slow
def test_int8_tflite_top1(sample, models_dir, images_dir, tmp_path):
    from ai_edge_litert.interpreter import Interpreter

    csv_path, rows = sample
    exported = tmp_path / "lite0_int8.tflite"
    result = CliRunner().invoke(cli, ["export", str(models_dir / "efficientnet_lite0_imagenet.keras"), "-o",
                                      str(exported), "--int8", "--calibration", str(images_dir), "--preprocess", "lite",
                                      "--labels", str(models_dir / "imagenet1000_labels.txt")])
    assert result.exit_code == 0, result.output
    result = CliRunner().invoke(cli, ["evaluate", str(exported), str(csv_path), "-o", str(tmp_path / "report")])
    assert result.exit_code == 0, result.output
    printed = _printed_top1(result.output)

    interpreter = Interpreter(model_path=str(exported), num_threads=2)
    interpreter.allocate_tensors()
    source, target = interpreter.get_input_details()[0], interpreter.get_output_details()[0]
    scale, zero_point = source["quantization"]
    info = np.iinfo(source["dtype"])
    with zipfile.ZipFile(exported) as archive:
        normalization = json.loads(archive.read("lince.json"))["input"]["normalization"]
    # One mean and std: the int8 input's quantization normalises, so the
    # tensor takes (x - mean) / std, quantized.
    assert normalization["folded"] is False
    mean, std = normalization["mean"][0], normalization["std"][0]
    right = 0
    for rgb, row in zip(_pixels(csv_path.parent, rows), rows):
        real = (rgb - mean) / std
        quantized = np.clip(np.round(real / scale) + zero_point, info.min, info.max).astype(source["dtype"])
        interpreter.set_tensor(source["index"], quantized[np.newaxis])
        interpreter.invoke()
        right += int(np.argmax(interpreter.get_tensor(target["index"]).reshape(-1)) == int(row["index"]))
    assert printed == pytest.approx(right / len(rows), abs=1e-9)
    assert printed > 0.6
