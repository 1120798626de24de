"""Helpers for the output tests: a real Mosquitto broker, an MQTT subscriber, free ports."""

import getpass
import json
import queue
import shutil
import socket
import subprocess
import time
from pathlib import Path
from typing import List, Optional

import pytest

from lince.runtime.classifier import Prediction
from lince.runtime.results import FrameResult


def free_port(kind: int = socket.SOCK_STREAM) -> int:
    """Return a loopback port that is free now."""
    with socket.socket(socket.AF_INET, kind) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def make_result(frame_number: int, stable_label: str, score: float = 0.9, changed: bool = False) -> FrameResult:
    """Return a FrameResult whose raw and stable labels are ``stable_label``."""
    return FrameResult(
        frame_number=frame_number, capture_time=1_700_000_000.0 + frame_number / 30, frame_age_ms=1.5,
        label=stable_label, index=7, score=score, top_k=[Prediction(7, stable_label, score)],
        stable_label=stable_label, stable_score=score, changed=changed, inference_ms=3.25,
    )


def wait_until(condition, timeout: float, interval: float = 0.02) -> bool:
    """Poll ``condition`` until it returns true or ``timeout`` seconds pass; return its last value."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if condition():
            return True
        time.sleep(interval)
    return bool(condition())


class Mosquitto:
    """A Mosquitto broker on 127.0.0.1:``port``, started and killed by the test."""

    def __init__(self, port: int, folder: Path, users: Optional[dict] = None):
        binary = shutil.which("mosquitto") or shutil.which("mosquitto", path="/usr/sbin:/usr/local/sbin")
        if binary is None:
            pytest.skip("mosquitto is not installed (apt-get install mosquitto; see scripts/test-services.txt)")
        self.binary = binary
        self.port = port
        self.config = folder / "mosquitto.conf"
        # Run as the test's user: as root, Mosquitto would switch to its own
        # user, which cannot read the test's temporary folder.
        settings = f"listener {port} 127.0.0.1\npersistence false\nuser {getpass.getuser()}\n"
        if users:
            settings += f"allow_anonymous false\npassword_file {self._password_file(folder, users)}\n"
        else:
            settings += "allow_anonymous true\n"
        self.config.write_text(settings)
        self.log = folder / "mosquitto.log"
        self.process: Optional[subprocess.Popen] = None

    @staticmethod
    def _password_file(folder: Path, users: dict) -> Path:
        tool = shutil.which("mosquitto_passwd")
        if tool is None:
            pytest.skip("mosquitto_passwd is not installed (it comes with the mosquitto package)")
        path = folder / "passwords"
        path.write_text("")
        for user, password in users.items():
            subprocess.run([tool, "-b", str(path), user, password], check=True, capture_output=True, timeout=30)
        return path

    def start(self) -> None:
        with open(self.log, "ab") as log:
            self.process = subprocess.Popen([self.binary, "-c", str(self.config)], stdout=log, stderr=log)
        if not wait_until(self._accepts, timeout=10):
            self.stop()
            raise RuntimeError(f"mosquitto did not start on port {self.port}: {self.log.read_text()}")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)
        self.process = None

    def _accepts(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                return True
        except OSError:
            return False


class Subscriber:
    """A paho-mqtt client that collects the JSON messages of one topic."""

    def __init__(self, port: int, topic: str, username: Optional[str] = None, password: Optional[str] = None):
        import paho.mqtt.client as mqtt

        self.messages: "queue.Queue" = queue.Queue()
        self.retained: List[bool] = []
        self._subscribed = False
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
        if username is not None:
            self.client.username_pw_set(username, password)
        self.client.on_connect = lambda client, *_: client.subscribe(topic, qos=1)
        self.client.on_subscribe = self._on_subscribe
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(0.2, 1)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        if not wait_until(lambda: self._subscribed, timeout=10):
            raise RuntimeError("the test subscriber did not subscribe")

    def _on_subscribe(self, *args):
        self._subscribed = True

    def _on_message(self, client, userdata, message):
        self.retained.append(bool(message.retain))
        self.messages.put(json.loads(message.payload))

    def take(self, count: int, timeout: float = 10.0) -> list:
        """Return the next ``count`` messages, failing the test if they do not come in time."""
        received = []
        end = time.monotonic() + timeout
        while len(received) < count:
            try:
                received.append(self.messages.get(timeout=max(0.01, end - time.monotonic())))
            except queue.Empty:
                pytest.fail(f"got {len(received)} of {count} MQTT messages in {timeout} s: {received}")
        return received

    def close(self) -> None:
        self.client.disconnect()
        self.client.loop_stop()
