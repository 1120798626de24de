"""Calibration from video: frames sampled evenly, and ``lince calibration capture`` from a video source."""

import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from lince.calibration.video import evenly_spaced, read_video_frames


def _write_video(path, frames=40, size=(64, 48)):
    """Write a video whose frame i is uniformly grey level 5 * i, so frame indices can be read back."""
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 10, size)
    assert writer.isOpened()
    for index in range(frames):
        writer.write(np.full((size[1], size[0], 3), 5 * index, np.uint8))
    writer.release()
    return path


def test_evenly_spaced_indices():
    assert evenly_spaced(100, 4) == [12, 37, 62, 87]
    assert evenly_spaced(3, 10) == [0, 1, 2]
    assert evenly_spaced(0, 5) == []


def test_video_frames_sampled_evenly(tmp_path):
    video = _write_video(tmp_path / "clip.mp4")
    frames = read_video_frames(video, 4)
    assert [index for index, _frame in frames] == [5, 15, 25, 35]
    for index, frame in frames:
        assert abs(float(frame.mean()) - 5 * index) < 4


def test_video_calibration_set(tmp_path):
    from lince.calibration.dataset import load_calibration_images
    from lince.runtime.preprocess import Preprocessing

    video = _write_video(tmp_path / "clip.mp4")
    result = load_calibration_images(video, Preprocessing(size=(16, 16)), count=8)
    assert result.images.shape == (8, 16, 16, 3)
    assert str(result.files[0]).endswith("clip.mp4#frame=2")


def test_unreadable_video(tmp_path):
    from lince.runtime.errors import LinceError

    bad = tmp_path / "bad.mp4"
    bad.write_bytes(b"not a video")
    with pytest.raises(LinceError, match="bad.mp4"):
        read_video_frames(bad, 5)


def test_capture_from_video_writes_count(tmp_path, fixtures_dir):
    from lince.cli import cli
    from lince.runtime.image_io import read_image

    video = fixtures_dir / "videos" / "slideshow_640x480_30fps.mp4"
    out = tmp_path / "captured"
    result = CliRunner().invoke(cli, ["calibration", "capture", "--source", str(video), "--count", "25",
                                      "--every", "3", str(out)])
    assert result.exit_code == 0, result.output
    files = sorted(out.glob("*.jpg"))
    assert len(files) == 25
    assert read_image(files[-1]).shape == (480, 640, 3)
    assert "25" in result.output


def test_capture_stops_when_video_ends(tmp_path):
    from lince.cli import cli

    video = _write_video(tmp_path / "short.mp4", frames=12)
    result = CliRunner().invoke(cli, ["calibration", "capture", "--source", str(video), "--count", "50",
                                      str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "out").glob("*.jpg"))) == 12
    assert "12 of 50" in result.output


def test_capture_refuses_folder_with_images(tmp_path):
    from lince.cli import cli

    video = _write_video(tmp_path / "short.mp4", frames=3)
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.jpg").write_bytes(b"x")
    result = CliRunner().invoke(cli, ["calibration", "capture", "--source", str(video), "--count", "2", str(out)])
    assert result.exit_code != 0
    assert "--overwrite" in result.output
