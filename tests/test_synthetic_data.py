"""The synthetic sign images and video that the demo and the training tests use."""

import csv
from dataclasses import replace

import numpy as np
import pytest

from lince.runtime.errors import LinceError
from lince.runtime.image_io import read_image
from lince.synthetic import CLASSES, Scene, make_dataset, make_video, render
from video_support import read_all_frames


def test_dataset_one_folder_per_class(tmp_path):
    counts = make_dataset(tmp_path, per_class=4, size=(96, 128), seed=1)
    assert counts == {name: 4 for name in CLASSES}
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(CLASSES)
    for name in CLASSES:
        files = sorted((tmp_path / name).iterdir())
        assert len(files) == 4
        image = read_image(files[0])
        assert image.shape == (96, 128, 3)


def test_dataset_same_seed_same_images(tmp_path):
    make_dataset(tmp_path / "a", classes=["stop"], per_class=2, seed=7, image_format="png")
    make_dataset(tmp_path / "b", classes=["stop"], per_class=2, seed=7, image_format="png")
    first = read_image(tmp_path / "a" / "stop" / "stop_0001.png")
    second = read_image(tmp_path / "b" / "stop" / "stop_0001.png")
    assert np.array_equal(first, second)


def test_dataset_images_vary(tmp_path):
    make_dataset(tmp_path, classes=["circle"], per_class=6, seed=2, image_format="png")
    images = [read_image(p).astype(np.float32) for p in sorted((tmp_path / "circle").iterdir())]
    means = [image.mean() for image in images]
    # Lighting and backgrounds differ: mean brightness spreads over tens of levels.
    assert max(means) - min(means) > 15
    differences = [np.abs(images[0] - other).mean() for other in images[1:]]
    assert min(differences) > 10


def test_arrows_are_mirror_images():
    # Left and right arrows differ only by direction, so the classes cannot be
    # told apart by anything but the arrow (and training must not flip them).
    background = np.full((96, 96, 3), 90, np.uint8)
    scene = Scene("arrow_right", (0.5, 0.5), 0.3, 0.0, (0, 0, 0), 1.0, (0.0, 0.0), 0.0, 0.0, 0.0)
    right = render(scene, background).astype(np.float32)
    left = render(replace(scene, kind="arrow_left"), background).astype(np.float32)
    different = np.abs(left - right).mean()
    # The sign's centre falls between pixels, so the mirror may be off by one column.
    mirrored = min(np.abs(left - np.roll(right[:, ::-1], shift, axis=1)).mean() for shift in (-1, 0, 1))
    assert different > 2
    assert mirrored < 0.2 * different


def test_unknown_class_rejected(tmp_path):
    with pytest.raises(LinceError, match="unknown synthetic class"):
        make_dataset(tmp_path, classes=["stop", "yield"], per_class=1)


def test_video_frames_match_csv(tmp_path):
    video = tmp_path / "signs.mp4"
    csv_path = make_video(video, classes=["stop", "circle"], fps=10, size=(120, 160), seconds_per_sign=0.5,
                          gap_seconds=0.3, seed=3)
    assert csv_path == tmp_path / "signs.csv"
    with open(csv_path, newline="") as file:
        rows = list(csv.DictReader(file))
    labels = [row["label"] for row in rows]
    assert labels == ["stop"] * 5 + [""] * 3 + ["circle"] * 5 + [""] * 3
    assert [int(row["frame"]) for row in rows] == list(range(16))

    frames = read_all_frames(video)
    assert len(frames) == 16
    assert frames[0].shape == (120, 160, 3)
    # The gaps are near-black, the signs are not.
    assert frames[6].mean() < 30
    assert frames[2].mean() > 40


def test_video_not_overwritten(tmp_path):
    video = tmp_path / "v.mp4"
    video.write_bytes(b"keep")
    with pytest.raises(LinceError, match="--overwrite"):
        make_video(video, classes=["stop"], fps=5, size=(64, 64), seconds_per_sign=0.2, gap_seconds=0)
    assert video.read_bytes() == b"keep"
