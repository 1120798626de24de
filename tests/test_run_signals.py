"""``lince run`` in a subprocess: signals, the TensorFlow-free import and the HTTP preview."""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request

import cv2
import numpy as np
import pytest


def start_run(models_dir, video, record):
    command = [sys.executable, "-m", "lince", "run", str(models_dir / "mobilenet_v2_1.0_224_quant.tflite"),
               "--labels", str(models_dir / "imagenet_labels.txt"), "--source", str(video), "--record", str(record)]
    environment = {**os.environ, "LINCE_LANG": "en", "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment)


def first_line(stream, timeout: float):
    """Return the first line of ``stream``, or None if none came within ``timeout`` seconds."""
    lines = []
    reader = threading.Thread(target=lambda: lines.append(stream.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return lines[0] if lines else None


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=lambda s: s.name)
def test_signal_prints_summary_and_exits_0(models_dir, fixtures_dir, signum, tmp_path):
    record = tmp_path / "run.mp4"
    process = start_run(models_dir, fixtures_dir / "videos" / "slideshow_640x480_30fps.mp4", record)
    try:
        # stdout is a pipe, so results come as JSON lines: wait for the first.
        line = first_line(process.stdout, timeout=30)
        assert line, process.stderr.read() if process.poll() is not None else "no result within 30 s"
        assert "frame_number" in json.loads(line)
        sent = time.monotonic()
        process.send_signal(signum)
        rest_of_stdout, stderr = process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(5)
    assert process.returncode == 0, stderr
    # The 12.5 s video was cut short.
    assert time.monotonic() - sent < 8.0
    assert "Summary:" in stderr
    assert f"stopped by {signal.Signals(signum).name}" in stderr
    # Every line that reached stdout is a whole JSON record: the outputs were flushed.
    for line in rest_of_stdout.splitlines():
        json.loads(line)
    assert "Traceback" not in stderr
    # The recording was finished and moved into place.
    capture = cv2.VideoCapture(str(record))
    frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    capture.release()
    assert frames >= 1
    assert [p.name for p in tmp_path.iterdir()] == ["run.mp4"]


def test_run_never_imports_tensorflow(models_dir, fixtures_dir):
    # A None entry in sys.modules makes "import tensorflow" raise ImportError.
    code = ("import sys; sys.modules['tensorflow'] = None; sys.argv = ['lince'] + sys.argv[1:]; "
            "from lince.cli import main; main()")
    command = [sys.executable, "-c", code, "run", str(models_dir / "mobilenet_v1_0.25_128_quant.tflite"),
               "--source", str(fixtures_dir / "videos" / "slideshow_640x480_30fps.mp4"), "--no-realtime",
               "--frames", "5"]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=60)
    assert completed.returncode == 0, completed.stderr
    assert len(completed.stdout.splitlines()) == 5


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_http_preview_gets_annotated_frames(models_dir, fixtures_dir):
    port = free_port()
    command = [sys.executable, "-m", "lince", "run", str(models_dir / "mobilenet_v1_0.25_128_quant.tflite"),
               "--source", str(fixtures_dir / "videos" / "slideshow_640x480_30fps.mp4"), "--duration", "8",
               "--output", f"http://127.0.0.1:{port}"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    image = None
    try:
        deadline = time.monotonic() + 6.0
        while image is None and time.monotonic() < deadline and process.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/frame.jpg", timeout=2) as response:
                    image = cv2.imdecode(np.frombuffer(response.read(), np.uint8), cv2.IMREAD_COLOR)
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.2)
        process.send_signal(signal.SIGTERM)
        process.communicate(timeout=20)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait(5)
    assert image is not None, "no frame from the preview within 6 s"
    assert image.shape == (480, 640, 3)
    # The overlay darkens a band at the top of the picture (the first seconds show a bright macaw).
    assert image[:40].mean() < 0.7 * image[100:300].mean()
    assert process.returncode == 0
