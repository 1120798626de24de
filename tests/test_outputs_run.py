"""``lince run`` on the fixture video, sending to stdout, UDP, a serial pty and MQTT at once."""

import csv
import json
import os
import select
import socket
import subprocess
import sys
import threading
import tty
import urllib.request

import cv2
import numpy as np
import pytest

from conftest import require_fixture
from outputs_support import Mosquitto, Subscriber, free_port, wait_until

TOPIC = "robot/vision"


class Collector:
    """Read one channel in a background thread into a list of (frame or None, label)."""

    def __init__(self, read_one):
        self.items = []
        self._read_one = read_one
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            self.items.extend(self._read_one())

    def stop(self):
        self._stop.set()
        self._thread.join(timeout=5)


def udp_reader(sock):
    def read_one():
        try:
            record = json.loads(sock.recvfrom(65535)[0])
        except socket.timeout:
            return []
        return [(record["frame_number"], record["stable_label"])]
    return read_one


def serial_reader(master):
    buffer = bytearray()

    def read_one():
        if not select.select([master], [], [], 0.1)[0]:
            return []
        buffer.extend(os.read(master, 4096))
        lines = []
        while b"\n" in buffer:
            line, _, rest = bytes(buffer).partition(b"\n")
            buffer[:] = rest
            # The label may contain commas; the score follows the last one.
            lines.append((None, line.decode("utf-8").rsplit(",", 1)[0]))
        return lines
    return read_one


def mqtt_reader(subscriber):
    def read_one():
        try:
            record = subscriber.messages.get(timeout=0.1)
        except Exception:  # queue.Empty
            return []
        return [(record["frame_number"], record["stable_label"])]
    return read_one


def expected_labels():
    """The distinct labels of the fixture video, in order of appearance."""
    path = require_fixture("videos", "slideshow_640x480_30fps.csv")
    with open(path, newline="") as handle:
        labels = [row["label"] for row in csv.DictReader(handle) if row["label"]]
    return [label for number, label in enumerate(labels) if number == 0 or labels[number - 1] != label]


@pytest.fixture
def channels(tmp_path):
    """A broker, an MQTT subscriber, a UDP socket and a pty, all on this machine."""
    broker = Mosquitto(free_port(), tmp_path)
    broker.start()
    subscriber = Subscriber(broker.port, TOPIC)
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("127.0.0.1", 0))
    udp.settimeout(0.1)
    master, slave = os.openpty()
    tty.setraw(master)
    collectors = {
        "udp": Collector(udp_reader(udp)),
        "serial": Collector(serial_reader(master)),
        "mqtt": Collector(mqtt_reader(subscriber)),
    }
    specs = [
        "stdout",
        f"udp://127.0.0.1:{udp.getsockname()[1]}",
        f"serial://{os.ttyname(slave)}?baud=115200",
        f"mqtt://127.0.0.1:{broker.port}/{TOPIC}",
    ]
    yield broker, collectors, specs
    for collector in collectors.values():
        collector.stop()
    subscriber.close()
    broker.stop()
    udp.close()
    os.close(master)
    os.close(slave)


def start_run(specs, realtime):
    model = require_fixture("models", "mobilenet_v2_1.0_224_quant.tflite")
    labels = require_fixture("models", "imagenet_labels.txt")
    video = require_fixture("videos", "slideshow_640x480_30fps.mp4")
    command = [sys.executable, "-m", "lince", "run", str(model), "--labels", str(labels), "--source", str(video),
               "--realtime" if realtime else "--no-realtime", "--on-change", "--threads", "2"]
    for spec in specs:
        command += ["--output", spec]
    return subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "LINCE_LANG": "en"})


def check_preview(url):
    """Check that the preview server of a running ``lince run`` serves its result and frame."""
    with urllib.request.urlopen(url + "result", timeout=5) as response:
        record = json.load(response)
    assert record["stable_label"] in ["unknown"] + expected_labels()
    with urllib.request.urlopen(url + "frame.jpg", timeout=5) as response:
        frame = cv2.imdecode(np.frombuffer(response.read(), np.uint8), cv2.IMREAD_COLOR)
    assert frame.shape == (480, 640, 3)
    with urllib.request.urlopen(url + "health", timeout=5) as response:
        assert json.load(response)["status"] == "ok"


def stdout_changes(stdout_text):
    records = [json.loads(line) for line in stdout_text.splitlines()]
    return [(record["frame_number"], record["stable_label"]) for record in records]


def test_run_sends_same_changes_everywhere(channels):
    broker, collectors, specs = channels
    process = start_run(specs, realtime=False)
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    from_stdout = stdout_changes(stdout)

    labels = [label for _frame, label in from_stdout]
    assert [label for label in labels if label != "unknown"] == expected_labels()
    assert all(labels[n] != labels[n - 1] for n in range(1, len(labels))), "a result without a label change"

    for name in ("udp", "serial", "mqtt"):
        collector = collectors[name]
        assert wait_until(lambda collector=collector: len(collector.items) >= len(from_stdout), timeout=10), \
            f"{name} got {len(collector.items)} of {len(from_stdout)} changes"
    assert collectors["udp"].items == from_stdout
    assert collectors["mqtt"].items == from_stdout
    assert [label for _none, label in collectors["serial"].items] == labels


@pytest.mark.slow
def test_run_survives_broker_restart(channels):
    """Kill the broker mid-run: UDP and stdout miss nothing, MQTT flows again after the restart."""
    broker, collectors, specs = channels
    preview = f"http://127.0.0.1:{free_port()}/"
    process = start_run(specs + [preview], realtime=True)
    udp = collectors["udp"]
    try:
        # The video plays at 30 fps: Egyptian cat appears after 2.5 s, daisy after 5 s.
        assert wait_until(lambda: any(label == "Egyptian cat" for _f, label in udp.items), timeout=30)
        check_preview(preview)
        broker.stop()
        assert wait_until(lambda: any(label == "daisy" for _f, label in udp.items), timeout=30)
        restarted_at_frame = udp.items[-1][0]
        broker.start()
        stdout, stderr = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 0, stderr
    from_stdout = stdout_changes(stdout)
    assert [label for _f, label in from_stdout if label != "unknown"] == expected_labels()
    assert wait_until(lambda: len(udp.items) >= len(from_stdout), timeout=10)
    assert udp.items == from_stdout

    from_mqtt = collectors["mqtt"].items
    assert from_mqtt, "no MQTT message at all"
    assert all(item in from_stdout for item in from_mqtt)
    assert [frame for frame, _label in from_mqtt] == sorted({frame for frame, _label in from_mqtt})
    after_restart = [item for item in from_stdout if item[0] > restarted_at_frame + 30]
    assert after_restart, "the video ended too soon after the restart to check MQTT"
    assert all(item in from_mqtt for item in after_restart), (after_restart, from_mqtt)
    assert "connection lost" in stderr
    assert "working again" in stderr
