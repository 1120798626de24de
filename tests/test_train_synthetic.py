"""`lince train` end to end on generated signs, its int8 export and `lince evaluate` on it.

One model is trained for the whole module: tiny-cnn from scratch (no
ImageNet weights exist offline) on six classes of synthetic signs.
"""

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from lince.cli import cli
from lince.runtime.image_io import read_image
from lince.runtime.preprocess import Preprocessing, prepare_image
from lince.synthetic import CLASSES, make_dataset

pytestmark = [pytest.mark.tensorflow, pytest.mark.slow]

SIZE = 64


@pytest.fixture(scope="module")
def signs(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("signs")
    make_dataset(folder, per_class=100, seed=3)
    return folder


@pytest.fixture(scope="module")
def trained(signs, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("trained") / "out"
    result = CliRunner().invoke(cli, [
        "train", str(signs), "-o", str(out), "--backbone", "tiny-cnn", "--weights", "none", "--size", str(SIZE),
        "--epochs", "30", "--batch-size", "16", "--patience", "10", "--seed", "1"])
    assert result.exit_code == 0, result.output
    return out


def _validation_set(out: Path):
    labels = (out / "labels.txt").read_text().splitlines()
    paths = [Path(line) for line in (out / "validation.txt").read_text().splitlines()]
    truth = np.array([labels.index(path.parent.name) for path in paths])
    pixels = np.stack([prepare_image(read_image(path), Preprocessing(size=(SIZE, SIZE))) for path in paths])
    return pixels, truth


def test_output_folder(trained):
    names = {path.name for path in trained.iterdir()}
    assert {"model.keras", "labels.txt", "lince.json", "curves.png", "confusion.png", "confusion.txt",
            "per_class.txt", "validation.txt"} <= names
    assert not any(name.endswith(".part") for name in names)
    assert (trained / "labels.txt").read_text().splitlines() == sorted(CLASSES)
    sidecar = json.loads((trained / "lince.json").read_text())
    assert sidecar["format"] == "lince-training"
    assert sidecar["version"] == 1
    assert sidecar["backbone"] == "tiny-cnn"
    assert sidecar["preprocess"] == "unit"
    assert sidecar["image_size"] == [SIZE, SIZE]
    assert sidecar["labels"] == "labels.txt"
    assert (sidecar["crop"], sidecar["interpolation"], sidecar["output"]) == ("none", "bilinear", "probabilities")


def test_sidecar_loader(trained):
    from lince.models import load_training_sidecar

    document = load_training_sidecar(trained / "model.keras")
    assert document["label_names"] == sorted(CLASSES)
    assert Path(document["labels_path"]) == trained / "labels.txt"
    assert load_training_sidecar(trained / "elsewhere" / "model.keras") is None


def test_validation_accuracy_at_least_95(trained):
    import keras

    from lince.models.preprocessing import get_preset

    pixels, truth = _validation_set(trained)
    model = keras.models.load_model(trained / "model.keras", compile=False)
    probabilities = model.predict(get_preset("unit").apply(pixels), verbose=0)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, atol=1e-4)  # A softmax output.
    accuracy = float(np.mean(probabilities.argmax(axis=1) == truth))
    sidecar = json.loads((trained / "lince.json").read_text())
    assert accuracy == pytest.approx(sidecar["val_accuracy"], abs=1e-6)
    assert accuracy >= 0.95
    assert len(truth) >= 100


@pytest.fixture(scope="module")
def exported(trained, signs, tmp_path_factory) -> Path:
    """The int8 export made with no flags beyond the calibration folder."""
    path = tmp_path_factory.mktemp("exported") / "signs_int8.tflite"
    result = CliRunner().invoke(cli, ["export", str(trained / "model.keras"), "-o", str(path), "--int8",
                                      "--calibration", str(signs)])
    assert result.exit_code == 0, result.output
    return path


def test_int8_export_loses_at_most_one_point(trained, exported):
    import keras

    from lince.models.preprocessing import get_preset
    from lince.runtime.classifier import Classifier

    pixels, truth = _validation_set(trained)
    model = keras.models.load_model(trained / "model.keras", compile=False)
    float_accuracy = float(np.mean(model.predict(get_preset("unit").apply(pixels), verbose=0).argmax(1) == truth))

    classifier = Classifier(exported, num_threads=2)
    assert classifier.input_dtype == np.uint8
    assert classifier.labels == sorted(CLASSES)
    predicted = np.array([classifier.classify_prepared(rgb, top_k=1).index for rgb in pixels])
    int8_accuracy = float(np.mean(predicted == truth))
    assert int8_accuracy >= float_accuracy - 0.01


def test_evaluate_keras_and_tflite_agree_with_training(trained, signs, tmp_path):
    result = CliRunner().invoke(cli, ["evaluate", str(trained / "model.keras"), str(signs), "-o",
                                      str(tmp_path / "report"), "--json"])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output.splitlines()[0])
    assert summary["images"] == 600
    assert summary["top1"] >= 0.9
    report = json.loads((tmp_path / "report" / "results.json").read_text())
    assert len(report["mistakes"]) == round((1 - summary["top1"]) * 600)
    assert (tmp_path / "report" / "confusion.png").exists()


def test_evaluate_int8_tflite(trained, exported, signs, tmp_path):
    labels = (trained / "labels.txt").read_text().splitlines()
    paths = (trained / "validation.txt").read_text().splitlines()
    rows = "".join(f"{path},{path.split('/')[-2]}\n" for path in paths)
    (tmp_path / "validation.csv").write_text("file,label\n" + rows)
    result = CliRunner().invoke(cli, ["evaluate", str(exported), str(tmp_path / "validation.csv"), "-o",
                                      str(tmp_path / "report")])
    assert result.exit_code == 0, result.output
    assert "top-1 accuracy: " in result.output
    for name in labels:
        assert name in result.output  # Per-class accuracy and confusion matrix rows.
    right, total = map(int, result.output.split("top-1 accuracy: ")[1].split("(")[1].split(")")[0].split("/"))
    assert total == len(paths)
    sidecar = json.loads((trained / "lince.json").read_text())
    assert right / total >= sidecar["val_accuracy"] - 0.01


def test_interrupt_keeps_best_model(signs, tmp_path, monkeypatch):
    import lince.models.fitting as fitting
    from lince.models.training import train

    original = fitting._best_weights_callback

    def interrupting(state):
        callback = original(state)
        keep = callback.on_epoch_end

        def on_epoch_end(epoch, logs=None):
            keep(epoch, logs)
            if state["epochs"] == 2:
                raise KeyboardInterrupt

        callback.on_epoch_end = on_epoch_end
        return callback

    monkeypatch.setattr(fitting, "_best_weights_callback", interrupting)
    result = train(signs, tmp_path / "out", backbone="tiny-cnn", weights=None, size=32, epochs=10)
    assert result.interrupted
    assert result.epochs_run == 2
    assert result.best_epoch in (1, 2)
    assert (tmp_path / "out" / "model.keras").is_file()
    assert json.loads((tmp_path / "out" / "lince.json").read_text())["interrupted"] is True
