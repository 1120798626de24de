"""`lince train` rejects bad input with one clear line and writes nothing."""

import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from lince.cli import cli
from lince.synthetic import make_dataset


def _train(data: Path, out: Path, *extra):
    return CliRunner().invoke(cli, ["train", str(data), "-o", str(out), "--backbone", "tiny-cnn", "--weights",
                                    "none", "--size", "32", "--epochs", "1", *extra])


def _assert_clean_failure(result, out: Path, *fragments):
    assert result.exit_code != 0
    assert "Traceback" not in result.output
    for fragment in fragments:
        assert fragment in result.output
    assert not out.exists()
    assert not list(out.parent.glob(f".{out.name}.*"))


@pytest.fixture
def two_classes(tmp_path) -> Path:
    data = tmp_path / "data"
    make_dataset(data, classes=["stop", "circle"], per_class=3, size=(48, 48), seed=5)
    return data


def test_empty_class_folder(two_classes, tmp_path):
    (two_classes / "triangle").mkdir()
    out = tmp_path / "out"
    _assert_clean_failure(_train(two_classes, out), out, "triangle", "class folder is empty")


def test_single_class(tmp_path):
    data = tmp_path / "data"
    make_dataset(data, classes=["stop"], per_class=3, size=(48, 48))
    out = tmp_path / "out"
    _assert_clean_failure(_train(data, out), out, "found 1 class folder(s) (stop)", "at least 2")


def test_missing_folder(tmp_path):
    out = tmp_path / "out"
    _assert_clean_failure(_train(tmp_path / "nowhere", out), out, "folder not found")


def test_unreadable_image(two_classes, tmp_path):
    (two_classes / "stop" / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    out = tmp_path / "out"
    _assert_clean_failure(_train(two_classes, out), out, "broken.jpg", "--skip-unreadable")


def test_unknown_backbone(two_classes, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["train", str(two_classes), "-o", str(out), "--backbone", "mobilenetv2-0.3"])
    _assert_clean_failure(result, out, "unknown backbone 'mobilenetv2-0.3'", "did you mean", "mobilenetv2-0.35")


def test_existing_output_kept(two_classes, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "model.keras").write_bytes(b"previous")
    result = _train(two_classes, out)
    assert result.exit_code != 0
    assert "--overwrite" in result.output
    assert (out / "model.keras").read_bytes() == b"previous"


@pytest.mark.tensorflow
def test_no_imagenet_weights_for_tiny_cnn(two_classes, tmp_path):
    out = tmp_path / "out"
    result = CliRunner().invoke(cli, ["train", str(two_classes), "-o", str(out), "--backbone", "tiny-cnn",
                                      "--size", "32", "--epochs", "1"])
    _assert_clean_failure(result, out, "--weights none")


@pytest.mark.tensorflow
def test_missing_weights_file(two_classes, tmp_path):
    out = tmp_path / "out"
    result = _train(two_classes, out, "--weights", str(tmp_path / "absent.keras"))
    # ``--weights`` given twice: click keeps the last one.
    _assert_clean_failure(result, out, "absent.keras", "not found")


def test_unreadable_images_one_error_naming_each_once(two_classes, tmp_path, caplog):
    (two_classes / "stop" / "broken.jpg").write_bytes(b"\xff\xd8 not a jpeg")
    (two_classes / "circle" / "empty.png").write_bytes(b"")
    out = tmp_path / "out"
    result = _train(two_classes, out)
    _assert_clean_failure(result, out, "2 image(s) could not be read", "--skip-unreadable")
    for name in ("broken.jpg", "empty.png"):
        assert result.output.count(name) == 1, result.output
    # Not skipping, so no "Skipped" warning before the error.
    assert "Skipped" not in caplog.text


@pytest.mark.tensorflow
def test_output_folder_has_ordinary_mode(two_classes, tmp_path):
    out = tmp_path / "out"
    previous = os.umask(0o022)
    try:
        result = _train(two_classes, out)
    finally:
        os.umask(previous)
    assert result.exit_code == 0, result.output
    assert out.stat().st_mode & 0o777 == 0o755
