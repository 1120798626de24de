"""``lince run`` through click's test runner: options, outputs, recording, errors."""

import json
import re
import socket
import subprocess
import sys

import click
import cv2
import numpy as np
import pytest
from click.testing import CliRunner

from camera_standins import ScriptedCamera, Session
from lince.cli import cli
from lince.runtime.sources import register_source, unregister_source
from video_support import read_all_frames


@pytest.fixture(scope="module")
def model_args(models_dir):
    return [str(models_dir / "mobilenet_v2_1.0_224_quant.tflite"), "--labels", str(models_dir / "imagenet_labels.txt")]


@pytest.fixture(scope="module")
def video(fixtures_dir):
    return str(fixtures_dir / "videos" / "slideshow_640x480_30fps.mp4")


def invoke(args):
    return CliRunner().invoke(cli, ["run", *args], catch_exceptions=False)


def test_help_lists_options():
    result = invoke(["--help"])
    assert result.exit_code == 0
    for option in ("--source", "--frames", "--duration", "--no-realtime", "--crop", "--roi", "--smoothing",
                   "--hysteresis", "--threshold", "--record", "--output", "--on-change", "--rate",
                   "--stall-timeout", "--max-reopen", "picamera2"):
        assert option in result.stdout


def test_json_lines_on_piped_stdout(model_args, video):
    result = invoke([*model_args, "--source", video, "--no-realtime", "--frames", "20"])
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["frame_number"] for r in records] == list(range(20))
    assert all(r["label"] == "macaw" for r in records)
    assert records[5]["stable_label"] == "macaw"
    # Human-readable text goes to stderr when stdout carries JSON lines.
    assert "frame 1: macaw" in result.stderr
    assert "Summary: 20 frames" in result.stderr


def test_on_change_sends_only_changes(model_args, video):
    result = invoke([*model_args, "--source", video, "--no-realtime", "--frames", "100", "--output", "stdout",
                     "--on-change", "--print", "none"])
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    # The first result states the initial label; then only the changes follow.
    assert [(r["frame_number"], r["stable_label"]) for r in records] == [
        (0, "unknown"), (1, "macaw"), (62, "unknown"), (76, "Egyptian cat")]
    assert "frame 1:" not in result.stderr


def test_record_writes_annotated_video(model_args, video, tmp_path):
    out = tmp_path / "annotated.mp4"
    result = invoke([*model_args, "--source", video, "--no-realtime", "--frames", "12", "--record", str(out),
                     "--print", "none"])
    assert result.exit_code == 0, result.stderr
    frames = read_all_frames(out)
    source = cv2.VideoCapture(video)
    _ok, first_source = source.read()
    source.release()
    assert len(frames) == 12
    assert frames[0].shape == (480, 640, 3)
    # The overlay band at the top differs from the picture; the bottom is the picture.
    assert np.abs(frames[0][:20].astype(int) - first_source[:20]).mean() > 20
    assert np.abs(frames[0][300:].astype(int) - first_source[300:]).mean() < 10
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".")]  # no temporary file left


def test_record_refuses_existing_file(model_args, video, tmp_path):
    out = tmp_path / "keep.mp4"
    out.write_bytes(b"old")
    result = invoke([*model_args, "--source", video, "--frames", "2", "--record", str(out)])
    assert result.exit_code == 1
    assert "--overwrite" in result.stderr
    assert out.read_bytes() == b"old"


def test_unknown_source_one_line_error(model_args, tmp_path):
    result = invoke([*model_args, "--source", str(tmp_path / "missing.mp4")])
    assert result.exit_code == 1
    assert result.stderr.count("\n") == 1
    assert "missing.mp4" in result.stderr
    assert "Traceback" not in result.stderr


def test_invalid_roi_is_usage_error(model_args, video):
    result = invoke([*model_args, "--source", video, "--roi", "1,2,3"])
    assert result.exit_code == 2
    assert "--roi" in result.stderr


@pytest.mark.parametrize("pacing", ["--realtime", "--no-realtime"])
def test_roi_outside_frame_error(model_args, video, pacing):
    result = invoke([*model_args, "--source", video, "--roi", "600,400,100,100", "--frames", "3", pacing])
    assert result.exit_code == 1
    assert "640x480" in result.stderr


def test_window_without_display(model_args, video, monkeypatch):
    monkeypatch.delenv("DISPLAY", raising=False)
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    result = invoke([*model_args, "--source", video, "--frames", "2", "--window"])
    assert result.exit_code == 1
    assert "no display" in result.stderr


def test_print_all_on_folder(model_args, images_dir, tmp_path):
    for name in ("parrot.jpg", "bird.bmp"):
        cv2.imwrite(str(tmp_path / f"{name}.png"), cv2.imread(str(images_dir / name)))
    result = invoke([*model_args, "--source", str(tmp_path), "--no-realtime", "--no-smoothing", "--print", "all",
                     "--output", "stdout"])
    assert result.exit_code == 0, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.startswith("frame ")]
    assert len(lines) == 2
    assert lines[0].startswith("frame 0: chickadee")
    assert "this frame: chickadee" in lines[0]
    assert lines[1].startswith("frame 1: macaw")


@pytest.fixture
def lost_camera_scheme():
    cameras = []

    def factory(spec, settings):
        camera = ScriptedCamera(fps=50.0, sessions=[Session(good=8, then="fail")], open_results=[True, False])
        cameras.append(camera)
        return camera

    register_source("lostcam", factory)
    yield cameras
    unregister_source("lostcam")


def test_camera_never_back_exits_nonzero(model_args, lost_camera_scheme):
    result = invoke([*model_args, "--source", "lostcam://0", "--stall-timeout", "0.3", "--max-reopen", "2"])
    assert result.exit_code == 1
    classified = int(re.search(r"Summary: (\d+) frames", result.stderr).group(1))
    assert 1 <= classified <= 8  # the camera gave 8 frames; a slow first inference may skip some
    assert "the source was lost" in result.stderr
    assert "2 attempts to reopen it failed" in result.stderr
    assert "Traceback" not in result.stderr
    assert not lost_camera_scheme[0].is_open


def test_on_change_without_output_on_terminal():
    from lince.cli.run_loop import RunOptions, open_result_outputs

    with pytest.raises(click.UsageError, match="--output"):
        open_result_outputs(RunOptions(on_change=True), stdout_is_terminal=True)
    assert open_result_outputs(RunOptions(), stdout_is_terminal=True) is None


def test_periodic_stats_and_summary(model_args, video):
    result = invoke([*model_args, "--source", video, "--duration", "1.2", "--stats-interval", "0.3",
                     "--print", "none", "--output", "stdout"])
    assert result.exit_code == 0, result.stderr
    stats_lines = [line for line in result.stderr.splitlines() if " fps | " in line]
    assert len(stats_lines) >= 2
    for step in ("capture p50", "preprocess p50", "inference p50", "age p50", "dropped", "reopened"):
        assert step in stats_lines[0]
    summary = re.search(r"Summary: (\d+) frames in ([\d.]+) s", result.stderr)
    assert summary
    # The video plays in real time: about 30 frames per second at most.
    assert int(summary.group(1)) <= 1.3 * 30 + 2
    assert float(summary.group(2)) == pytest.approx(1.2, abs=0.3)
    assert int(summary.group(1)) == len(result.stdout.splitlines())


@pytest.mark.parametrize("value", ["640", "640x", "0x480", "axb"])
def test_invalid_camera_size(model_args, value):
    result = invoke([*model_args, "--source", "0", "--camera-size", value])
    assert result.exit_code == 2
    assert "WIDTHxHEIGHT" in result.stderr


def test_closed_stdout_keeps_loop_and_udp_going(model_args, video):
    """`lince run ... --output udp://... | head -2`: the text stops, the run and UDP go on, exit 0."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.settimeout(10)
    command = [sys.executable, "-m", "lince", "run", *model_args, "--source", video, "--no-realtime",
               "--frames", "60", "--print", "all", "--output", f"udp://127.0.0.1:{listener.getsockname()[1]}"]
    try:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        process.stdout.readline()
        process.stdout.readline()
        process.stdout.close()  # the reader goes away, as `head -2` does
        stderr = process.communicate(timeout=120)[1].decode()
        frames = [json.loads(listener.recvfrom(65535)[0])["frame_number"] for _ in range(60)]
    finally:
        listener.close()
    assert process.returncode == 0, stderr
    assert "stdout was closed by its reader" in stderr
    assert "Summary: 60 frames" in stderr
    assert "Traceback" not in stderr
    assert "Exception ignored" not in stderr
    assert frames == list(range(60))

