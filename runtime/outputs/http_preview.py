"""Output ``http://127.0.0.1:8080``: a small web server to watch a headless robot's camera.

Routes: ``/`` the live page (label banner and MJPEG stream), ``/stream.mjpg``,
``/frame.jpg`` the last frame, ``/result`` the last result as JSON and
``/health``. It binds the address of the specification, 127.0.0.1 when it
gives none, so the camera is not visible on the network by accident.
"""

import json
import logging
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional, Tuple

import cv2
import numpy as np

from lince.runtime.outputs.messages import result_record
from lince.runtime.outputs.preview_page import render_page
from lince.runtime.outputs.worker import Sink
from lince.runtime.results import FrameResult

logger = logging.getLogger(__name__)

# The stream sends at most this many frames per second to each viewer.
# A preview needs no more, and JPEG encoding costs CPU on a Raspberry Pi.
STREAM_MAX_FPS = 15
# /health returns 503 when no result arrived for this many seconds.
STALE_AFTER_S = 5.0


class PreviewState:
    """The last result and frame, shared between the output thread and the request threads."""

    def __init__(self, jpeg_quality: int):
        self.jpeg_quality = jpeg_quality
        self.result: Optional[FrameResult] = None
        self.results = 0
        self.updated_at: Optional[float] = None
        self._frame: Optional[np.ndarray] = None
        self._frame_id = 0
        self._jpeg: Tuple[int, Optional[bytes]] = (0, None)
        self._condition = threading.Condition()

    def update(self, result: FrameResult, frame: Optional[np.ndarray]) -> None:
        with self._condition:
            self.result = result
            self.results += 1
            self.updated_at = time.monotonic()
            if frame is not None:
                self._frame = frame
                self._frame_id += 1
                self._condition.notify_all()

    def wait_frame(self, after_id: int, timeout: float) -> int:
        """Return the id of the newest frame once it is past ``after_id``, or after ``timeout``."""
        with self._condition:
            self._condition.wait_for(lambda: self._frame_id > after_id, timeout)
            return self._frame_id

    def jpeg(self) -> Optional[bytes]:
        """Return the newest frame as JPEG, encoded on demand and cached until the next frame."""
        with self._condition:
            frame_id, frame = self._frame_id, self._frame
            if frame is None:
                return None
            if self._jpeg[0] == frame_id:
                return self._jpeg[1]
        ok, encoded = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, self.jpeg_quality])
        data = encoded.tobytes() if ok else None
        with self._condition:
            self._jpeg = (frame_id, data)
        return data

    def wake_all(self) -> None:
        with self._condition:
            self._condition.notify_all()


class PreviewServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address, state: PreviewState):
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.state = state
        self.closing = threading.Event()
        super().__init__(address, PreviewHandler)


class PreviewHandler(BaseHTTPRequestHandler):
    server: PreviewServer
    # HEAD gets the headers of GET without the body (monitoring tools use it on /health).
    head_only = False

    def do_HEAD(self):  # noqa: N802 - name fixed by http.server
        self.head_only = True
        self.do_GET()

    def do_GET(self):  # noqa: N802 - name fixed by http.server
        route = self.path.split("?", 1)[0]
        handlers = {
            "/": self._page, "/index.html": self._page, "/result": self._result,
            "/health": self._health, "/frame.jpg": self._frame, "/stream.mjpg": self._stream,
        }
        handler = handlers.get(route)
        if handler is None:
            self._send(404, "application/json", b'{"error":"not found"}')
            return
        try:
            handler()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the viewer closed the page

    def log_message(self, format, *args):  # noqa: A002 - signature fixed by http.server
        logger.debug("%s: " + format, self.address_string(), *args)

    def _send(self, status: int, content_type: str, body: bytes) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if not self.head_only:
            self.wfile.write(body)

    def _json(self, status: int, value) -> None:
        self._send(status, "application/json", json.dumps(value, ensure_ascii=False).encode("utf-8"))

    def _page(self) -> None:
        self._send(200, "text/html; charset=utf-8", render_page(self.server.state.result).encode("utf-8"))

    def _result(self) -> None:
        result = self.server.state.result
        if result is None:
            self._json(503, {"error": "no result yet"})
            return
        self._json(200, result_record(result))

    def _health(self) -> None:
        state = self.server.state
        age = None if state.updated_at is None else time.monotonic() - state.updated_at
        if age is None:
            status = "waiting"
        else:
            status = "ok" if age <= STALE_AFTER_S else "stale"
        body = {"status": status, "results": state.results,
                "last_result_age_s": None if age is None else round(age, 3)}
        self._json(200 if status == "ok" else 503, body)

    def _frame(self) -> None:
        data = self.server.state.jpeg()
        if data is None:
            self._json(503, {"error": "no frame yet"})
            return
        self._send(200, "image/jpeg", data)

    def _stream(self) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "multipart/x-mixed-replace; boundary=frame")
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.head_only:
            return
        state, last_id = self.server.state, 0
        while not self.server.closing.is_set():
            started = time.monotonic()
            frame_id = state.wait_frame(last_id, timeout=1.0)
            data = state.jpeg() if frame_id > last_id else None
            if data is None:
                continue
            last_id = frame_id
            header = f"--frame\r\nContent-Type: image/jpeg\r\nContent-Length: {len(data)}\r\n\r\n"
            self.wfile.write(header.encode("ascii") + data + b"\r\n")
            self.wfile.flush()
            self.server.closing.wait(max(0.0, 1.0 / STREAM_MAX_FPS - (time.monotonic() - started)))


class HttpPreviewSink(Sink):
    """Serve the preview page and keep it up to date with every frame."""

    gated = False
    wants_frames = True
    # The stream shows at most STREAM_MAX_FPS; copying every frame of a fast
    # loop for it would cost the loop a 640x480 copy per frame.
    max_frame_rate = 2 * STREAM_MAX_FPS
    # Only the newest frame matters to a viewer.
    queue_size = 2

    def __init__(self, host: str = "127.0.0.1", port: int = 8080, jpeg_quality: int = 80):
        self.host = host
        self.port = port
        self.name = f"http://{host}:{port}"
        self.state = PreviewState(jpeg_quality)
        self._server: Optional[PreviewServer] = None

    @property
    def url(self) -> str:
        """Address of the page once the server is listening (with the real port if 0 was given)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}/"

    def open(self) -> None:
        self._server = PreviewServer((self.host, self.port), self.state)
        self.port = self._server.server_address[1]
        threading.Thread(target=self._server.serve_forever, name="lince-preview-server", daemon=True).start()
        logger.info("Live preview at %s", self.url)

    def send(self, result: FrameResult, frame: Optional[np.ndarray]) -> None:
        self.state.update(result, frame)

    def close(self) -> None:
        server, self._server = self._server, None
        if server is None:
            return
        server.closing.set()
        self.state.wake_all()
        server.shutdown()
        server.server_close()
