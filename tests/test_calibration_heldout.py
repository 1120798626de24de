"""Which images an export is checked on when no --eval is given, and the warning that says so."""

import logging

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from lince.calibration.dataset import load_calibration_images
from lince.export.evaluation import load_evaluation_set
from lince.export.report import render_markdown
from lince.runtime.errors import LinceError
from lince.runtime.preprocess import Preprocessing

PREPROCESSING = Preprocessing(size=(16, 16))


def _write_images(folder, count):
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(0)
    for index in range(count):
        cv2.imwrite(str(folder / f"good_{index:02d}.jpg"), rng.integers(0, 255, (24, 24, 3), np.uint8))


def test_corrupt_file_in_small_folder_falls_back_to_calibration_images(tmp_path, caplog):
    folder = tmp_path / "calibration"
    _write_images(folder, 20)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    calibration = load_calibration_images(folder, PREPROCESSING, count=200)
    assert len(calibration.images) == 20
    assert len(calibration.skipped) == 1
    with caplog.at_level(logging.WARNING):
        evaluation = load_evaluation_set(None, PREPROCESSING, [], calibration, folder)
    assert evaluation.held_out is False
    assert len(evaluation.images) == 20
    assert "--eval DIR" in caplog.text


def test_unreadable_folder_message_counts_files(tmp_path):
    folder = tmp_path / "calibration"
    _write_images(folder, 2)
    (folder / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    (folder / "notes.txt").write_text("x", encoding="utf-8")
    excluded = sorted(folder.glob("good_*.jpg"))
    with pytest.raises(LinceError) as error:
        load_calibration_images(folder, PREPROCESSING, exclude=excluded)
    assert "(1 image files, 1 unreadable, 1 other files)" in str(error.value)


def test_video_calibration_check_is_announced(tmp_path, caplog):
    video = tmp_path / "clip.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 10, (32, 24))
    for index in range(10):
        writer.write(np.full((24, 32, 3), 20 * index, np.uint8))
    writer.release()
    calibration = load_calibration_images(video, PREPROCESSING, count=5)
    with caplog.at_level(logging.WARNING):
        evaluation = load_evaluation_set(None, PREPROCESSING, [], calibration, video)
    assert evaluation.held_out is False
    assert "calibration frames" in caplog.text
    assert "--eval DIR" in caplog.text
    document = {"model": "m.tflite", "quantization": "int8", "size_bytes": 1000, "passed": True, "max_drop": None,
                "evaluation": {"images": 5, "held_out": False, "labelled": False, "skipped": {}}}
    assert "Checked on calibration images, not held-out ones" in render_markdown(document)
    document["evaluation"]["held_out"] = True
    assert "Checked on calibration images" not in render_markdown(document)


def test_capture_from_missing_source_leaves_no_folder(tmp_path):
    from lince.cli import cli

    out = tmp_path / "capx"
    result = CliRunner().invoke(cli, ["calibration", "capture", "--source", str(tmp_path / "none.mp4"),
                                      "--count", "5", str(out)])
    assert result.exit_code == 1
    assert not out.exists()
