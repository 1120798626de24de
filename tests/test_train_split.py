"""Class folders, the stratified split and class weights."""

import numpy as np

from lince.models.dataset import LabelledFiles, decode_images, scan_class_folders, stratified_split
from lince.models.training import class_weight_map
from lince.runtime.preprocess import Preprocessing
from lince.synthetic import make_dataset


def test_classes_sorted_by_folder_name(tmp_path):
    make_dataset(tmp_path, classes=["triangle", "circle", "stop"], per_class=2, size=(32, 32))
    (tmp_path / ".hidden").mkdir()
    files = scan_class_folders(tmp_path)
    assert files.classes == ("circle", "stop", "triangle")
    assert files.labels == (0, 0, 1, 1, 2, 2)


def test_split_keeps_class_shares():
    labels = (0,) * 50 + (1,) * 10 + (2,) * 2 + (3,)
    files = LabelledFiles(tuple(f"{i}.jpg" for i in range(len(labels))), labels, ("a", "b", "c", "d"))
    train, validation = stratified_split(files, 0.2, seed=0)
    assert sorted(train + validation) == list(range(len(labels)))
    in_validation = np.bincount(np.asarray(labels)[validation], minlength=4)
    assert list(in_validation) == [10, 2, 1, 0]


def test_split_depends_on_seed_only():
    labels = (0,) * 20 + (1,) * 20
    files = LabelledFiles(tuple(f"{i}.jpg" for i in range(40)), labels, ("a", "b"))
    assert stratified_split(files, 0.25, seed=3) == stratified_split(files, 0.25, seed=3)
    assert stratified_split(files, 0.25, seed=3) != stratified_split(files, 0.25, seed=4)


def test_class_weights_balance_totals():
    labels = np.array([0] * 30 + [1] * 10)
    weights = class_weight_map(labels, 2)
    assert weights[0] * 30 == weights[1] * 10
    assert weights[0] == 40 / (2 * 30)


def test_decode_uses_camera_preprocessing(tmp_path):
    make_dataset(tmp_path, classes=["stop"], per_class=2, size=(48, 80), image_format="png")
    (tmp_path / "stop" / "bad.png").write_bytes(b"\x89PNG broken")
    files = scan_class_folders(tmp_path, min_classes=1)
    images, labels, skipped = decode_images(files, Preprocessing(size=(24, 40)))
    assert images.shape == (2, 24, 40, 3)
    assert images.dtype == np.uint8
    assert list(labels) == [0, 0]
    assert [path.name for path, _reason in skipped] == ["bad.png"]
