"""stdout, UDP and serial outputs on real sockets and a real pseudo-terminal pair."""

import json
import logging
import os
import select
import socket
import subprocess
import sys
import threading
import time
import tty
from pathlib import Path

import pytest

from lince.runtime.outputs import open_outputs
from outputs_support import free_port, make_result, wait_until

LABELS = ["cat", "cat", "dog", "dog", "daisy", "cat", "Boston bull, Boston terrier"]
CHANGES = ["cat", "dog", "daisy", "cat", "Boston bull, Boston terrier"]


@pytest.fixture
def udp_listener():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    yield sock
    sock.close()


def receive_datagrams(sock, count):
    return [json.loads(sock.recvfrom(65535)[0]) for _ in range(count)]


@pytest.fixture
def pty_pair():
    """A pseudo-terminal: lince writes to the slave device, the test reads the master."""
    master, slave = os.openpty()
    tty.setraw(master)
    yield master, os.ttyname(slave)
    for fd in (master, slave):
        try:
            os.close(fd)
        except OSError:
            pass


def read_lines(master, count, timeout=5.0):
    data = b""
    end = time.monotonic() + timeout
    while data.count(b"\n") < count and time.monotonic() < end:
        ready, _, _ = select.select([master], [], [], 0.1)
        if ready:
            data += os.read(master, 4096)
    return data.decode("utf-8").splitlines()


def test_stdout_writes_json_lines(capsys):
    outputs = open_outputs(["stdout"])
    for number, label in enumerate(LABELS):
        outputs.publish(make_result(number, label))
    outputs.close()
    lines = capsys.readouterr().out.splitlines()
    records = [json.loads(line) for line in lines]
    assert [record["stable_label"] for record in records] == LABELS
    assert [record["frame_number"] for record in records] == list(range(len(LABELS)))
    assert records[0]["top_k"] == [{"index": 7, "label": "cat", "score": 0.9}]


def test_udp_sends_one_datagram_per_change(udp_listener):
    port = udp_listener.getsockname()[1]
    outputs = open_outputs([f"udp://127.0.0.1:{port}"], on_change=True)
    for number, label in enumerate(LABELS):
        outputs.publish(make_result(number, label))
    outputs.close()
    records = receive_datagrams(udp_listener, len(CHANGES))
    assert [record["stable_label"] for record in records] == CHANGES
    assert [record["frame_number"] for record in records] == [0, 2, 4, 5, 6]


def test_udp_to_absent_listener_keeps_going(udp_listener):
    # Nothing listens on the first port: UDP loses those datagrams without an error.
    outputs = open_outputs([f"udp://127.0.0.1:{free_port(socket.SOCK_DGRAM)}",
                            f"udp://127.0.0.1:{udp_listener.getsockname()[1]}"])
    for number in range(20):
        outputs.publish(make_result(number, "cat"))
    outputs.close()
    records = receive_datagrams(udp_listener, 20)
    assert [record["frame_number"] for record in records] == list(range(20))


def test_serial_writes_lines_to_pty(pty_pair):
    master, device = pty_pair
    outputs = open_outputs([f"serial://{device}?baud=115200"], on_change=True)
    for number, label in enumerate(LABELS):
        outputs.publish(make_result(number, label, score=0.875))
    outputs.close()
    lines = read_lines(master, len(CHANGES))
    assert lines == [f"{label},0.88" for label in CHANGES]


def test_serial_custom_format(pty_pair):
    master, device = pty_pair
    outputs = open_outputs([f"serial://{device}?format=%7Bindex%7D:%7Bframe_number%7D&eol=crlf"])
    outputs.publish(make_result(12, "cat"))
    outputs.close()
    data = b""
    wait_until(lambda: select.select([master], [], [], 0)[0], timeout=5)
    data = os.read(master, 100)
    assert data == b"7:12\r\n"


def test_serial_device_appears_later(tmp_path, pty_pair, caplog):
    """A USB adapter plugged in after start: the output retries until the device exists."""
    master, device = pty_pair
    link = tmp_path / "ttyROBOT"
    caplog.set_level(logging.WARNING, logger="lince.runtime.outputs")
    outputs = open_outputs([f"serial://{link}"])
    outputs.publish(make_result(0, "cat"))
    assert wait_until(lambda: "ttyROBOT" in caplog.text, timeout=5)
    link.symlink_to(device)
    lines = read_lines(master, 1, timeout=10)
    outputs.close()
    assert lines == ["cat,0.90"]
    assert "working again" in caplog.text


def test_blocked_serial_does_not_hold_other_outputs(pty_pair, udp_listener, caplog):
    """A device that never reads fills its buffer; publish and UDP must go on regardless."""
    master, device = pty_pair
    caplog.set_level(logging.WARNING, logger="lince.runtime.outputs")
    port = udp_listener.getsockname()[1]
    received = []
    reader = threading.Thread(target=lambda: received.extend(receive_datagrams(udp_listener, 200)))
    reader.start()
    outputs = open_outputs([f"serial://{device}?format={{label}}{'x' * 1000}", f"udp://127.0.0.1:{port}"])
    slowest = 0.0
    for number in range(200):  # 200 kB of lines: far more than a pty buffers
        started = time.perf_counter()
        outputs.publish(make_result(number, "cat"))
        slowest = max(slowest, time.perf_counter() - started)
        time.sleep(0.002)
    reader.join(timeout=10)
    assert [record["frame_number"] for record in received] == list(range(200))
    assert slowest < 0.05
    assert wait_until(lambda: "write timed out" in caplog.text, timeout=10)
    serial_worker = outputs.workers[0]
    assert serial_worker.dropped > 0
    outputs.close(timeout=1)


def test_serial_unplugged_is_retried(pty_pair, caplog):
    master, device = pty_pair
    caplog.set_level(logging.WARNING, logger="lince.runtime.outputs")
    outputs = open_outputs([f"serial://{device}"])
    outputs.publish(make_result(0, "cat"))
    assert read_lines(master, 1) == ["cat,0.90"]
    os.close(master)  # the far end hangs up, as when a USB adapter is pulled out
    for number in range(1, 5):
        outputs.publish(make_result(number, "dog"))
        time.sleep(0.05)
    assert wait_until(lambda: "attempt 1" in caplog.text, timeout=5)
    started = time.monotonic()
    outputs.close(timeout=1)
    assert time.monotonic() - started < 3


def test_rate_caps_udp_results(udp_listener):
    outputs = open_outputs([f"udp://127.0.0.1:{udp_listener.getsockname()[1]}"], rate_hz=10)
    started = time.monotonic()
    published = 0
    while time.monotonic() - started < 0.5:
        outputs.publish(make_result(published, "cat"))
        published += 1
        time.sleep(0.005)
    elapsed = time.monotonic() - started
    outputs.close()
    udp_listener.settimeout(0.5)
    received = []
    try:
        while True:
            received.append(json.loads(udp_listener.recvfrom(65535)[0]))
    except socket.timeout:
        pass
    assert published > 40
    assert 1 <= len(received) <= int(elapsed * 10) + 1
    assert received[0]["frame_number"] == 0


STDOUT_READER_GONE = """
import sys, time
sys.path.insert(0, {tests!r})
from outputs_support import make_result
from lince.runtime.outputs import open_outputs
outputs = open_outputs(["stdout", "udp://127.0.0.1:{port}"])
for number in range(50):
    outputs.publish(make_result(number, "cat"))
    time.sleep(0.01)
outputs.close()
print("loop finished", file=sys.stderr)
"""


def test_stdout_closed_by_reader(udp_listener):
    """`lince run ... | head -1`: stdout stops, the loop and the other outputs go on."""
    tests = str(Path(__file__).parent)
    script = STDOUT_READER_GONE.format(tests=tests, port=udp_listener.getsockname()[1])
    process = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    process.stdout.readline()
    process.stdout.close()  # the reader goes away after one line
    stderr = process.communicate(timeout=60)[1].decode()
    assert process.returncode == 0, stderr
    assert "stdout: stopped this output" in stderr
    assert "loop finished" in stderr
    records = receive_datagrams(udp_listener, 50)
    assert [record["frame_number"] for record in records] == list(range(50))


def test_serial_port_taken_by_another_lince(pty_pair, caplog):
    master, device = pty_pair
    caplog.set_level(logging.WARNING, logger="lince.runtime.outputs")
    first = open_outputs([f"serial://{device}"])
    first.publish(make_result(0, "cat"))
    assert read_lines(master, 1) == ["cat,0.90"]
    second = open_outputs([f"serial://{device}"])
    second.publish(make_result(0, "dog"))
    assert wait_until(lambda: "attempt 1" in caplog.text, timeout=5)
    second.close(timeout=0.5)
    first.publish(make_result(1, "cat"))
    assert read_lines(master, 1) == ["cat,0.90"]
    first.close()


def test_udp_too_large_result_is_dropped(udp_listener, caplog):
    caplog.set_level(logging.WARNING, logger="lince.runtime.outputs")
    outputs = open_outputs([f"udp://127.0.0.1:{udp_listener.getsockname()[1]}"])
    outputs.publish(make_result(0, "x" * 70_000))  # more than a UDP datagram can carry
    outputs.publish(make_result(1, "cat"))
    outputs.close()
    records = receive_datagrams(udp_listener, 1)
    assert records[0]["frame_number"] == 1
    assert "do not fit in one datagram" in caplog.text


def test_udp_late_change_is_changed(udp_listener):
    outputs = open_outputs([f"udp://127.0.0.1:{udp_listener.getsockname()[1]}"], on_change=True, rate_hz=2)
    outputs.publish(make_result(0, "cat", changed=True))
    outputs.publish(make_result(1, "dog", changed=True))  # within 0.5 s: held back
    time.sleep(0.6)
    outputs.publish(make_result(2, "dog", changed=False))
    outputs.close()
    udp_listener.settimeout(2)
    records = [json.loads(udp_listener.recvfrom(65535)[0]) for _ in range(2)]
    assert [(r["frame_number"], r["stable_label"], r["changed"]) for r in records] == \
        [(0, "cat", True), (2, "dog", True)]
