"""The live preview server: its routes over real HTTP, and its page in headless Chromium."""

import json
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pytest

from lince.runtime.outputs import open_outputs
from lince.runtime.outputs.preview_page import render_page
from outputs_support import make_result, wait_until

CHROMIUM = Path("/usr/bin/chromium")
WINDOW = (800, 700)
BANNER_HEIGHT = 96  # fixed by the page's stylesheet


def get(url, timeout=5):
    """Return (status, content type, body) of a GET, including error statuses."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status, response.headers["Content-Type"], response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers["Content-Type"], error.read()


@pytest.fixture
def preview():
    outputs = open_outputs(["http://127.0.0.1:0"])
    sink = outputs.sinks[0]
    assert wait_until(lambda: sink._server is not None, timeout=5)
    yield outputs, sink.url
    outputs.close()


def blue_frame():
    frame = np.zeros((480, 640, 3), np.uint8)
    frame[:] = (255, 0, 0)  # BGR: pure blue
    frame[200:280, 280:360] = (0, 255, 0)  # a green square, to check orientation
    return frame


def test_http_binds_loopback(preview):
    outputs, url = preview
    assert url.startswith("http://127.0.0.1:")
    assert outputs.sinks[0]._server.server_address[0] == "127.0.0.1"


def test_http_before_first_result(preview):
    _outputs, url = preview
    status, _type, body = get(url + "health")
    assert status == 503
    assert json.loads(body)["status"] == "waiting"
    assert get(url + "result")[0] == 503
    assert get(url + "frame.jpg")[0] == 503
    status, content_type, body = get(url)
    assert status == 200
    assert b"waiting for the first frame" in body


def test_http_serves_result_health_and_frame(preview):
    outputs, url = preview
    outputs.publish(make_result(41, "military uniform", 0.93), blue_frame())
    assert wait_until(lambda: get(url + "result")[0] == 200, timeout=5)
    status, content_type, body = get(url + "result")
    assert content_type == "application/json"
    record = json.loads(body)
    assert (record["frame_number"], record["stable_label"]) == (41, "military uniform")
    status, _type, body = get(url + "health")
    assert status == 200
    assert json.loads(body)["status"] == "ok"
    status, content_type, body = get(url + "frame.jpg")
    assert (status, content_type) == (200, "image/jpeg")
    decoded = cv2.imdecode(np.frombuffer(body, np.uint8), cv2.IMREAD_COLOR)
    assert decoded.shape == (480, 640, 3)
    assert np.abs(decoded.astype(int) - blue_frame()).mean() < 4
    assert get(url + "nothing-here")[0] == 404


def test_http_head_request(preview):
    outputs, url = preview
    outputs.publish(make_result(0, "cat"), None)
    assert wait_until(lambda: get(url + "health")[0] == 200, timeout=5)
    request = urllib.request.Request(url + "health", method="HEAD")
    with urllib.request.urlopen(request, timeout=5) as response:
        assert response.status == 200
        assert int(response.headers["Content-Length"]) > 0
        assert response.read() == b""


def test_http_page_escapes_label(preview):
    outputs, url = preview
    outputs.publish(make_result(0, "<b>cat</b>"), None)
    assert wait_until(lambda: get(url + "result")[0] == 200, timeout=5)
    body = get(url)[2].decode("utf-8")
    assert "&lt;b&gt;cat&lt;/b&gt;" in body
    assert "<b>cat</b>" not in body


def test_http_stream_sends_jpeg_parts(preview):
    outputs, url = preview
    outputs.publish(make_result(0, "cat"), blue_frame())
    with urllib.request.urlopen(url + "stream.mjpg", timeout=5) as response:
        assert response.headers["Content-Type"] == "multipart/x-mixed-replace; boundary=frame"
        assert response.readline() == b"--frame\r\n"
        assert response.readline() == b"Content-Type: image/jpeg\r\n"
        length = int(response.readline().split(b":")[1])
        assert response.readline() == b"\r\n"
        decoded = cv2.imdecode(np.frombuffer(response.read(length), np.uint8), cv2.IMREAD_COLOR)
    assert decoded[240, 320].tolist() == pytest.approx([0, 255, 0], abs=12)
    assert decoded[20, 20].tolist() == pytest.approx([255, 0, 0], abs=12)


def test_http_stale_health_after_close(preview):
    outputs, url = preview
    outputs.publish(make_result(0, "cat"), None)
    assert wait_until(lambda: get(url + "health")[0] == 200, timeout=5)
    outputs.close()
    with pytest.raises(urllib.error.URLError):
        urllib.request.urlopen(url + "health", timeout=2)


def screenshot(url, folder: Path, name: str) -> np.ndarray:
    """Return a headless Chromium screenshot of ``url``, taken at its load event, as a BGR image.

    At that moment the page shows the last frame (``frame.jpg``); the MJPEG
    stream starts after the load event, so it is checked over HTTP instead.
    """
    if not CHROMIUM.exists():
        pytest.skip("chromium is not installed (apt-get install chromium; see scripts/test-services.txt)")
    path = folder / f"{name}.png"
    command = [
        str(CHROMIUM), "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={folder / 'chromium-profile'}", f"--window-size={WINDOW[0]},{WINDOW[1]}",
        f"--screenshot={path}", url,
    ]
    subprocess.run(command, check=True, timeout=30, capture_output=True)
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    assert image is not None, f"Chromium wrote no screenshot to {path}"
    return image


def test_http_page_in_chromium_shows_label(preview, tmp_path):
    outputs, url = preview
    result = make_result(62, "military uniform", 0.93)
    outputs.publish(result, blue_frame())
    live = screenshot(url, tmp_path, "live")

    # The same page rendered from a file, for the expected label and for another one.
    expected_page = tmp_path / "expected.html"
    expected_page.write_text(render_page(result), encoding="utf-8")
    other_page = tmp_path / "other.html"
    other_page.write_text(render_page(make_result(62, "daisy", 0.93)), encoding="utf-8")
    expected = screenshot(expected_page.as_uri(), tmp_path, "expected")
    other = screenshot(other_page.as_uri(), tmp_path, "other")

    banner = (slice(0, BANNER_HEIGHT), slice(0, WINDOW[0]))
    live_banner = live[banner].astype(int)
    assert np.abs(live_banner - expected[banner]).mean() < 1.0
    assert np.abs(live_banner - other[banner]).mean() > 5.0
    dark_text = (live_banner.sum(axis=2) < 150).mean()
    assert dark_text > 0.05, "no black label text on the banner"
    # The frame is drawn below the banner: the middle of the page is blue.
    assert live[300, 200].tolist() == pytest.approx([255, 0, 0], abs=20)
    assert live[343, 400].tolist() == pytest.approx([0, 255, 0], abs=20)
