"""The --source parser and the errors of sources that cannot be opened."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from lince.runtime.errors import MissingDependencyError, SourceError
from lince.runtime.sources import (
    ImageFolderSource,
    OpenCVSource,
    Picamera2Source,
    make_source,
    parse_source,
    register_source,
    unregister_source,
)
from lince.runtime.sources.opencv import opencv_has_gstreamer


@pytest.mark.parametrize("text, kind, target", [
    ("0", "camera", 0),
    ("2", "camera", 2),
    ("/dev/video1", "device", "/dev/video1"),
    ("picamera2", "picamera2", 0),
    ("PiCamera2:1", "picamera2", 1),
    ("gst:videotestsrc ! videoconvert ! appsink", "gstreamer", "videotestsrc ! videoconvert ! appsink"),
    ("v4l2src device=/dev/video0 ! videoconvert ! appsink", "gstreamer",
     "v4l2src device=/dev/video0 ! videoconvert ! appsink"),
    ("rtsp://127.0.0.1:8554/cam", "stream", "rtsp://127.0.0.1:8554/cam"),
    ("http://127.0.0.1:8080/video.mjpg", "stream", "http://127.0.0.1:8080/video.mjpg"),
])
def test_parse_source_kinds(text, kind, target):
    spec = parse_source(text)
    assert spec.kind == kind
    assert spec.target == target
    assert spec.text == text


def test_parse_source_integer_argument():
    assert parse_source(3).kind == "camera"
    assert parse_source(3).target == 3


def test_parse_source_folder_and_file(tmp_path):
    video = tmp_path / "clip.mp4"
    video.write_bytes(b"x")
    assert parse_source(str(tmp_path)).kind == "folder"
    assert parse_source(str(video)).kind == "video"
    assert parse_source(str(video)).target == video


def test_parse_source_unknown_lists_every_kind(tmp_path):
    missing = tmp_path / "nothing_here.mp4"
    with pytest.raises(SourceError) as error:
        parse_source(str(missing))
    message = str(error.value)
    assert str(missing) in message
    for tried in ("camera index", "/dev/video0", "picamera2", "GStreamer", "RTSP/HTTP URL", "video file", "folder"):
        assert tried in message
    assert "\n" not in message


def test_parse_source_empty():
    with pytest.raises(SourceError, match="empty"):
        parse_source("  ")


def test_registered_scheme_opens_through_factory():
    made = []

    def factory(spec, settings):
        made.append(spec)
        return ImageFolderSource(Path("."), settings)

    register_source("standin", factory)
    try:
        source = make_source("standin://cam1")
    finally:
        unregister_source("standin")
    assert isinstance(source, ImageFolderSource)
    assert made[0].kind == "standin"
    assert made[0].target == "cam1"
    with pytest.raises(SourceError):
        parse_source("standin://cam1")


def test_make_source_types(tmp_path):
    assert isinstance(make_source("0"), OpenCVSource)
    assert make_source("0").live
    assert isinstance(make_source("picamera2:1"), Picamera2Source)
    assert isinstance(make_source(str(tmp_path)), ImageFolderSource)
    video = tmp_path / "v.mp4"
    video.write_bytes(b"x")
    assert not make_source(str(video)).live


def test_missing_device_error_names_device_and_fix():
    source = make_source("/dev/video97")
    with pytest.raises(SourceError) as error:
        source.open()
    message = str(error.value)
    assert "/dev/video97" in message
    assert "ls /dev/video*" in message


def test_gstreamer_without_support_says_why():
    if opencv_has_gstreamer():
        pytest.skip("this OpenCV build has GStreamer")
    with pytest.raises(SourceError, match="GStreamer"):
        make_source("videotestsrc ! appsink")


def test_video_file_that_is_not_video(tmp_path):
    fake = tmp_path / "notes.mp4"
    fake.write_text("not a video")
    source = make_source(str(fake))
    with pytest.raises(SourceError) as error:
        source.open()
    assert str(fake) in str(error.value)


def test_folder_without_images(tmp_path):
    (tmp_path / "readme.txt").write_text("no images")
    with pytest.raises(SourceError, match="no images found"):
        make_source(str(tmp_path)).open()


def test_folder_skips_corrupt_image(tmp_path):
    image = np.full((20, 30, 3), 200, np.uint8)
    cv2.imwrite(str(tmp_path / "a.png"), image)
    (tmp_path / "b.jpg").write_bytes(b"\xff\xd8 truncated")
    cv2.imwrite(str(tmp_path / "c.png"), image // 2)
    source = make_source(str(tmp_path))
    source.open()
    frames = [source.read(), source.read()]
    assert source.read() is None
    assert frames[0][0, 0, 0] == 200
    assert frames[1][0, 0, 0] == 100


def test_picamera2_missing_module_error(monkeypatch):
    import sys
    monkeypatch.setitem(sys.modules, "picamera2", None)
    with pytest.raises(MissingDependencyError, match="python3-picamera2"):
        make_source("picamera2").open()


def test_mistyped_url_scheme_is_named():
    with pytest.raises(SourceError) as error:
        parse_source("rtps://camera.local/stream")
    message = str(error.value)
    assert "unknown URL scheme 'rtps'" in message
    assert "rtsp://" in message
