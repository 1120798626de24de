"""Held-out evaluation images: from a CSV or a class folder, never the calibration images."""

import cv2
import numpy as np
import pytest

from lince.calibration.dataset import load_calibration_images
from lince.export.evaluation import load_evaluation_set
from lince.runtime.errors import LinceError
from lince.runtime.preprocess import Preprocessing

LABELS = ["cat", "dog", "bird"]
PREPROCESSING = Preprocessing(size=(16, 16))


def _folder(root, per_class=4):
    for name in LABELS:
        (root / name).mkdir(parents=True)
        for index in range(per_class):
            cv2.imwrite(str(root / name / f"{index}.png"), np.full((20, 20, 3), 40 * index, np.uint8))
    return root


def test_folder_labels_and_held_out(tmp_path):
    root = _folder(tmp_path / "data")
    calibration = load_calibration_images(root, PREPROCESSING, count=6)
    evaluation = load_evaluation_set(None, PREPROCESSING, LABELS, calibration, root)
    assert len(evaluation.files) == 6
    assert not set(evaluation.files) & set(calibration.files)
    assert evaluation.held_out
    assert evaluation.labelled
    for file, target in zip(evaluation.files, evaluation.targets):
        assert LABELS[target] == file.parent.name


def test_all_images_used_falls_back(tmp_path):
    root = _folder(tmp_path / "data", per_class=1)
    calibration = load_calibration_images(root, PREPROCESSING)
    evaluation = load_evaluation_set(None, PREPROCESSING, LABELS, calibration, root)
    assert not evaluation.held_out
    assert not evaluation.labelled
    assert len(evaluation.images) == 3


def test_csv_by_index_and_label(tmp_path):
    root = _folder(tmp_path / "data", per_class=2)
    table = tmp_path / "data" / "eval.csv"
    table.write_text("file,index,label\ncat/0.png,0,\ndog/1.png,,dog\nbird/0.png,2,bird\n", encoding="utf-8")
    evaluation = load_evaluation_set(table, PREPROCESSING, LABELS, None, None)
    assert sorted(zip((f.name for f in evaluation.files), evaluation.targets.tolist())) == [
        ("0.png", 0), ("0.png", 2), ("1.png", 1)]


def test_csv_unknown_label(tmp_path):
    _folder(tmp_path / "data", per_class=1)
    table = tmp_path / "data" / "eval.csv"
    table.write_text("file,label\ncat/0.png,tiger\n", encoding="utf-8")
    with pytest.raises(LinceError, match="label 'tiger' of cat/0.png is not in the model's label file"):
        load_evaluation_set(table, PREPROCESSING, LABELS, None, None)


def test_csv_without_file_column(tmp_path):
    table = tmp_path / "eval.csv"
    table.write_text("path,label\na.png,cat\n", encoding="utf-8")
    with pytest.raises(LinceError, match="'file' column"):
        load_evaluation_set(table, PREPROCESSING, LABELS, None, None)


def test_folder_labels_csv_excludes_calibration(tmp_path):
    root = _folder(tmp_path / "data", per_class=2)
    (root / "labels.csv").write_text(
        "file,index\n" + "".join(f"{name}/{i}.png,{k}\n" for k, name in enumerate(LABELS) for i in range(2)),
        encoding="utf-8")
    calibration = load_calibration_images(root, PREPROCESSING, count=3)
    evaluation = load_evaluation_set(None, PREPROCESSING, LABELS, calibration, root)
    assert len(evaluation.files) == 3
    assert evaluation.held_out
    assert evaluation.labelled
