"""MQTT output against a real Mosquitto broker on loopback, including a broker that dies."""

import json
import logging
import socket
import threading
import time

import pytest

from lince.runtime.outputs import open_outputs
from outputs_support import Mosquitto, Subscriber, free_port, make_result, wait_until

TOPIC = "robot/vision"


@pytest.fixture
def broker(tmp_path):
    server = Mosquitto(free_port(), tmp_path)
    server.start()
    yield server
    server.stop()


@pytest.fixture
def subscriber(broker):
    client = Subscriber(broker.port, TOPIC)
    yield client
    client.close()


def test_mqtt_publishes_changes_in_order(broker, subscriber):
    outputs = open_outputs([f"mqtt://127.0.0.1:{broker.port}/{TOPIC}"], on_change=True)
    labels = ["cat", "cat", "dog", "daisy", "daisy", "cat"]
    for number, label in enumerate(labels):
        outputs.publish(make_result(number, label))
    outputs.close()
    records = subscriber.take(4)
    assert [record["stable_label"] for record in records] == ["cat", "dog", "daisy", "cat"]
    assert [record["frame_number"] for record in records] == [0, 2, 3, 5]


def test_mqtt_retains_last_result(broker):
    outputs = open_outputs([f"mqtt://127.0.0.1:{broker.port}/{TOPIC}?qos=1&retain=1"])
    for number, label in enumerate(["cat", "dog", "daisy"]):
        outputs.publish(make_result(number, label))
    outputs.close()
    late = Subscriber(broker.port, TOPIC)  # subscribes after lince has stopped
    try:
        records = late.take(1)
        assert records[0]["stable_label"] == "daisy"
        assert late.retained == [True]
    finally:
        late.close()


def test_mqtt_without_retain_leaves_nothing(broker):
    outputs = open_outputs([f"mqtt://127.0.0.1:{broker.port}/{TOPIC}?qos=0&retain=0"])
    outputs.publish(make_result(0, "cat"))
    outputs.close()
    late = Subscriber(broker.port, TOPIC)
    try:
        time.sleep(0.5)
        assert late.messages.empty()
    finally:
        late.close()


def test_mqtt_status_topic_follows_lince(broker):
    status = Subscriber(broker.port, f"{TOPIC}/status")
    status.messages.get = _raw_get(status)
    try:
        outputs = open_outputs([f"mqtt://127.0.0.1:{broker.port}/{TOPIC}"])
        assert wait_until(lambda: status.raw == [b"online"], timeout=10)
        outputs.close()
        assert wait_until(lambda: status.raw == [b"online", b"offline"], timeout=10)
    finally:
        status.close()


def _raw_get(subscriber):
    """Make a Subscriber keep raw payloads (the status topic is not JSON)."""
    subscriber.raw = []
    subscriber.client.on_message = lambda client, userdata, message: subscriber.raw.append(message.payload)
    return subscriber.messages.get


def test_mqtt_broker_started_after_lince(tmp_path, caplog):
    caplog.set_level(logging.WARNING, logger="lince.runtime.outputs")
    broker = Mosquitto(free_port(), tmp_path)
    outputs = open_outputs([f"mqtt://127.0.0.1:{broker.port}/{TOPIC}"])
    try:
        outputs.publish(make_result(0, "cat"))
        assert wait_until(lambda: "no connection to the broker" in caplog.text, timeout=5)
        broker.start()
        subscriber = Subscriber(broker.port, TOPIC)
        outputs.publish(make_result(1, "dog"))
        records = subscriber.take(2, timeout=15)
        assert [record["stable_label"] for record in records] == ["cat", "dog"]
        subscriber.close()
    finally:
        outputs.close(timeout=2)
        broker.stop()


def test_mqtt_broker_restart_others_go_on(broker, caplog):
    """Kill the broker while results flow: UDP keeps receiving, MQTT resumes after the restart."""
    caplog.set_level(logging.WARNING, logger="lince.runtime.outputs")
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    listener.settimeout(0.2)
    datagrams = []
    stop = threading.Event()

    def receive():
        while not stop.is_set():
            try:
                datagrams.append(json.loads(listener.recvfrom(65535)[0]))
            except socket.timeout:
                pass

    reader = threading.Thread(target=receive)
    reader.start()
    subscriber = Subscriber(broker.port, TOPIC)
    outputs = open_outputs([f"mqtt://127.0.0.1:{broker.port}/{TOPIC}",
                            f"udp://127.0.0.1:{listener.getsockname()[1]}"])
    frame_number = 0

    def run_for(seconds, label):
        nonlocal frame_number
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            started = time.perf_counter()
            outputs.publish(make_result(frame_number, label))
            assert time.perf_counter() - started < 0.05, "publish blocked the camera loop"
            frame_number += 1
            time.sleep(1 / 30)

    try:
        run_for(0.5, "before")
        assert subscriber.take(1)[0]["stable_label"] == "before"
        subscriber.close()

        broker.stop()
        udp_before_outage = len(datagrams)
        run_for(1.5, "during")
        assert len(datagrams) - udp_before_outage >= 20, "UDP stopped while the broker was down"
        assert "connection lost" in caplog.text

        broker.start()
        after_restart = Subscriber(broker.port, TOPIC)
        labels = []
        end = time.monotonic() + 20
        while "after" not in labels and time.monotonic() < end:
            run_for(0.2, "after")
            while not after_restart.messages.empty():
                labels.append(after_restart.messages.get()["stable_label"])
        after_restart.close()
        assert "after" in labels, "no MQTT message after the broker came back"
        # Results queued during the outage come first, in order, then the new ones.
        first_after = labels.index("after")
        assert set(labels[:first_after]) <= {"during"}
        assert set(labels[first_after:]) == {"after"}
        assert "working again" in caplog.text
    finally:
        outputs.close(timeout=2)
        stop.set()
        reader.join()
        listener.close()
    numbers = [record["frame_number"] for record in datagrams]
    assert numbers == list(range(frame_number))


def test_mqtt_password_login(tmp_path, caplog, monkeypatch):
    caplog.set_level(logging.WARNING, logger="lince.runtime.outputs")
    broker = Mosquitto(free_port(), tmp_path, users={"robot": "s3cret", "viewer": "look"})
    broker.start()
    subscriber = Subscriber(broker.port, TOPIC, "viewer", "look")
    monkeypatch.setenv("LINCE_MQTT_PASSWORD", "s3cret")
    good = open_outputs([f"mqtt://robot@127.0.0.1:{broker.port}/{TOPIC}"])
    wrong = open_outputs([f"mqtt://robot:guess@127.0.0.1:{broker.port}/{TOPIC}"])
    try:
        good.publish(make_result(0, "cat"))
        wrong.publish(make_result(0, "dog"))
        assert subscriber.take(1)[0]["stable_label"] == "cat"
        assert wait_until(lambda: "the broker refused the connection" in caplog.text, timeout=10)
        assert caplog.text.count("refused the connection") == 1
        assert "guess" not in caplog.text
        time.sleep(0.5)
        assert subscriber.messages.empty(), "a result got through with a wrong password"
    finally:
        good.close(timeout=1)
        wrong.close(timeout=1)
        subscriber.close()
        broker.stop()
