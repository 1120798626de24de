"""The robot-side examples, run as a user would run them, against real lince outputs."""

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import tty
from pathlib import Path

import cv2
import pytest

from conftest import require_fixture
from lince.runtime.outputs import open_outputs
from outputs_support import Mosquitto, free_port, make_result, wait_until

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


class ExampleProcess:
    """An example started with Python, its stdout read line by line in the background."""

    def __init__(self, script, *args):
        self.lines = []
        self.process = subprocess.Popen([sys.executable, str(EXAMPLES / script), *map(str, args)],
                                        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self):
        for line in self.process.stdout:
            self.lines.append(line.rstrip("\n"))

    def wait_for(self, text, timeout=15):
        assert wait_until(lambda: any(text in line for line in self.lines), timeout), \
            f"{text!r} not in the output: {self.lines}"

    def finish(self, timeout=15):
        try:
            self.process.wait(timeout=timeout)
        finally:
            self.process.kill()
        self._reader.join(timeout=5)
        return self.process.returncode


def test_udp_listener_example():
    port = free_port(socket.SOCK_DGRAM)
    listener = ExampleProcess("udp_listener.py", "--port", port, "--count", 3, "--target", "daisy")
    listener.wait_for("listening on udp://127.0.0.1")
    outputs = open_outputs([f"udp://127.0.0.1:{port}"], on_change=True)
    for number, label in enumerate(["cat", "cat", "daisy", "daisy", "Boston bull, Boston terrier"]):
        outputs.publish(make_result(number, label, 0.75))
    outputs.close()
    assert listener.finish() == 0
    assert listener.lines[1:] == [
        "frame 0: cat (0.75)",
        "frame 2: daisy (0.75)",
        "ACTION: daisy seen (0.75): stop the motors",
        "frame 4: Boston bull, Boston terrier (0.75)",
    ]


def test_mqtt_subscriber_example(tmp_path):
    broker = Mosquitto(free_port(), tmp_path)
    broker.start()
    try:
        subscriber = ExampleProcess("mqtt_subscriber.py", "--port", broker.port, "--topic", "robot/vision",
                                    "--count", 2, "--target", "cat")
        subscriber.wait_for("subscribed to robot/vision")
        outputs = open_outputs([f"mqtt://127.0.0.1:{broker.port}/robot/vision"], on_change=True)
        subscriber.wait_for("lince is online")
        for number, label in enumerate(["cat", "cat", "dog"]):
            outputs.publish(make_result(number, label, 0.5))
        assert subscriber.finish() == 0
        outputs.close()
    finally:
        broker.stop()
    results = [line for line in subscriber.lines if line.startswith(("frame", "ACTION"))]
    assert results == ["frame 0: cat (0.50)", "ACTION: cat seen (0.50): stop the motors", "frame 2: dog (0.50)"]


ARDUINO_STANDIN = r"""
// Just enough of the Arduino core to run the sketch on a PC: Serial reads
// the standard input, the LED prints its changes.
#include <cstdio>
#include <cstring>
#include <unistd.h>
#define LED_BUILTIN 13
#define OUTPUT 1
#define HIGH 1
#define LOW 0
static int led = -1;
static bool input_ended = false;
static int pending = -1;
void pinMode(int, int) {}
void digitalWrite(int, int value) {
  if (value != led) { std::printf("LED %s\n", value ? "on" : "off"); std::fflush(stdout); }
  led = value;
}
struct SerialPort {
  void begin(long) {}
  int available() {
    if (pending < 0 && !input_ended) {
      unsigned char c;
      if (::read(0, &c, 1) == 1) pending = c; else input_ended = true;
    }
    return pending >= 0 ? 1 : 0;
  }
  int read() { int c = pending; pending = -1; return c; }
} Serial;
"""

ARDUINO_MAIN = r"""
int main() {
  setup();
  while (!input_ended) loop();
  return 0;
}
"""


@pytest.fixture(scope="module")
def sketch_binary(tmp_path_factory):
    compiler = shutil.which("g++")
    if compiler is None:
        pytest.skip("g++ is not installed: it compiles the Arduino sketch for this PC")
    folder = tmp_path_factory.mktemp("sketch")
    source = folder / "sketch.cpp"
    sketch = (EXAMPLES / "serial_robot" / "serial_robot.ino").read_text()
    source.write_text(ARDUINO_STANDIN + sketch + ARDUINO_MAIN)
    binary = folder / "sketch"
    subprocess.run([compiler, "-Wall", "-Werror", "-I", str(EXAMPLES / "serial_robot"), "-o", str(binary),
                    str(source)], check=True, capture_output=True, timeout=120)
    return binary


def test_arduino_sketch_follows_serial_output(sketch_binary):
    """The sketch, compiled for this PC, reads lince's real serial output from a pseudo-terminal."""
    master, slave = os.openpty()
    tty.setraw(master)
    outputs = open_outputs([f"serial://{os.ttyname(slave)}"], on_change=True)
    labels = ["daisy", "daisy", "Boston bull, Boston terrier", "daisy", "unknown"]
    scores = [0.9, 0.9, 0.8, 0.4, 0.2]  # the third daisy is below the sketch's MIN_SCORE
    for number, (label, score) in enumerate(zip(labels, scores, strict=True)):
        outputs.publish(make_result(number, label, score))
    outputs.close()
    os.close(slave)  # the sketch reads the end of its input
    try:
        run = subprocess.run([str(sketch_binary)], stdin=master, capture_output=True, text=True, timeout=30)
    finally:
        os.close(master)
    assert run.stdout.splitlines() == ["LED off", "LED on", "LED off"]


def test_arduino_parser_rejects_partial_lines(sketch_binary):
    lines = "aisy,0.9\n,\nno score here\ndaisy,\ndaisy,0.95\r\ndaisy,0.9x\n"
    run = subprocess.run([str(sketch_binary)], input=lines, capture_output=True, text=True, timeout=30)
    # Only the complete line (a CRLF ending is accepted) switches the LED on.
    assert run.stdout.splitlines() == ["LED off", "LED on"]


def test_pipeline_example_on_photos(tmp_path, images_dir):
    folder = tmp_path / "frames"
    folder.mkdir()
    for index, name in enumerate(["parrot.jpg"] * 3 + ["bird.bmp"] * 3):
        cv2.imwrite(str(folder / f"{index:02d}.png"), cv2.imread(str(images_dir / name)))
    model = require_fixture("models", "mobilenet_v2_1.0_224_quant.tflite")
    labels = require_fixture("models", "imagenet_labels.txt")
    port = free_port(socket.SOCK_DGRAM)
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", port))
    listener.settimeout(10)
    try:
        example = ExampleProcess("pipeline_robot.py", model, "--labels", labels, "--source", folder,
                                 "--no-realtime", "--target", "chickadee", "--output", f"udp://127.0.0.1:{port}")
        assert example.finish(timeout=120) == 0, example.lines
        datagrams = [listener.recvfrom(65535)[0] for _ in range(3)]
    finally:
        listener.close()
    printed = [line for line in example.lines if line.startswith(("frame", "ACTION"))]
    assert [line.split(" (")[0] for line in printed] == [
        "frame 1: macaw", "frame 5: chickadee", "ACTION: chickadee seen"]
    assert [json.loads(data)["stable_label"] for data in datagrams] == ["unknown", "macaw", "chickadee"]


def test_pipeline_example_missing_model_prints_one_line(tmp_path):
    example = ExampleProcess("pipeline_robot.py", tmp_path / "nope.tflite", "--source", tmp_path)
    assert example.finish(timeout=60) == 1
    assert len(example.lines) == 1, example.lines
    assert example.lines[0].startswith("error: ")
    assert "nope.tflite" in example.lines[0]
