"""Colour order end to end: a red object stays red from each source to the model input.

OpenCV sources deliver BGR; picamera2's RGB888 format delivers bytes in
B, G, R order (checked here against a stand-in picamera2 module, since no
camera exists on the test machines). The classifier's input must be RGB.
"""

import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import cv2
import numpy as np
import pytest

from camera_standins import fake_picamera2_module
from lince.runtime import Classifier
from lince.runtime.pipeline import LoopSettings, Pipeline
from lince.runtime.sources import SourceSettings

WIDTH, HEIGHT = 320, 240
RED_BGR = (0, 0, 255)


def red_square_frame() -> np.ndarray:
    """A grey BGR frame with a pure red square in its centre."""
    frame = np.full((HEIGHT, WIDTH, 3), 128, np.uint8)
    frame[60:180, 100:220] = RED_BGR
    return frame


class InputSpy(Classifier):
    """A real classifier that keeps a copy of each image written to its input tensor."""

    def set_input(self, image_rgb):
        self.inputs.append(image_rgb.copy())
        super().set_input(image_rgb)


@pytest.fixture(scope="module")
def spy(models_dir):
    classifier = InputSpy(models_dir / "mobilenet_v1_0.25_128_quant.tflite", num_threads=1)
    classifier.inputs = []
    return classifier


def model_inputs_from(spy, source, frames=3, settings=LoopSettings(realtime=False)):
    spy.inputs.clear()
    settings = LoopSettings(realtime=settings.realtime, max_frames=frames, source=settings.source)
    with Pipeline(spy, source, settings=settings) as pipeline:
        captured = [frame.copy() for _result, frame in pipeline.frames()]
    assert len(spy.inputs) == frames
    return captured, spy.inputs


def assert_red_centre(image, red_channel: int, tolerance: int = 60):
    """The centre pixel is red: the ``red_channel`` near 255, the other two near 0."""
    height, width = image.shape[:2]
    pixel = image[height // 2, width // 2].astype(int)
    others = [c for c in range(3) if c != red_channel]
    assert pixel[red_channel] > 255 - tolerance, pixel
    assert pixel[others[0]] < tolerance, pixel
    assert pixel[others[1]] < tolerance, pixel


def test_video_file_red_stays_red(tmp_path, spy):
    path = tmp_path / "red.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (WIDTH, HEIGHT))
    for _ in range(5):
        writer.write(red_square_frame())
    writer.release()
    frames, inputs = model_inputs_from(spy, str(path))
    assert_red_centre(frames[0], red_channel=2)
    assert_red_centre(inputs[0], red_channel=0)


def test_image_folder_red_stays_red(tmp_path, spy):
    for index in range(3):
        cv2.imwrite(str(tmp_path / f"{index}.png"), red_square_frame())
    frames, inputs = model_inputs_from(spy, str(tmp_path))
    assert_red_centre(frames[0], red_channel=2, tolerance=1)
    assert_red_centre(inputs[0], red_channel=0, tolerance=1)


def test_picamera2_rgb888_red_stays_red(monkeypatch, spy):
    # RGB888 from picamera2 is laid out B, G, R: the red byte comes last.
    module = fake_picamera2_module(red_square_frame())
    monkeypatch.setitem(sys.modules, "picamera2", module)
    settings = LoopSettings(realtime=True, source=SourceSettings(size=(WIDTH, HEIGHT), fps=30.0))
    frames, inputs = model_inputs_from(spy, "picamera2", settings=settings)
    assert_red_centre(frames[0], red_channel=2, tolerance=1)
    assert_red_centre(inputs[0], red_channel=0, tolerance=1)
    configured = [call for call in module.calls if call[0] == "create_video_configuration"][0]
    assert configured[1] == {"format": "RGB888", "size": (WIDTH, HEIGHT)}
    assert configured[2] == {"FrameRate": 30.0}
    assert ("stop",) in module.calls
    assert ("close",) in module.calls


class MjpegHandler(BaseHTTPRequestHandler):
    """Serves a red-square MJPEG stream, as many IP cameras do, at 30 fps."""

    # Two frames that differ in a corner, so the stream does not look frozen.
    jpegs = [cv2.imencode(".jpg", red_square_frame())[1].tobytes(),
             cv2.imencode(".jpg", cv2.rectangle(red_square_frame(), (0, 0), (31, 31), (255, 255, 255), -1))[1].tobytes()]

    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
        self.end_headers()
        try:
            for index in range(300):
                jpeg = self.jpegs[index % 2]
                self.wfile.write(b"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: %d\r\n\r\n" % len(jpeg))
                self.wfile.write(jpeg + b"\r\n")
                time.sleep(1 / 30)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def log_message(self, *args):
        pass


def test_http_mjpeg_stream_red_stays_red(spy):
    server = ThreadingHTTPServer(("127.0.0.1", 0), MjpegHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/video.mjpg"
        settings = LoopSettings(realtime=True, source=SourceSettings(open_timeout=5.0))
        frames, inputs = model_inputs_from(spy, url, settings=settings)
    finally:
        server.shutdown()
        server.server_close()
    assert_red_centre(frames[0], red_channel=2)
    assert_red_centre(inputs[0], red_channel=0)
