"""Output specifications, the publish gate and the message formats, without any network."""

import json
import time

import numpy as np
import pytest

from lince.runtime.classifier import Prediction
from lince.runtime.outputs import LineFormat, OutputError, open_outputs, parse_output, result_json
from lince.runtime.outputs.gate import PublishGate
from lince.runtime.outputs.http_preview import HttpPreviewSink
from lince.runtime.outputs.mqtt import MqttSink
from lince.runtime.outputs.serial_line import SerialSink
from lince.runtime.outputs.stdout import StdoutSink
from lince.runtime.outputs.udp import UdpSink
from lince.runtime.results import FrameResult
from outputs_support import make_result


def test_parse_stdout_and_udp():
    assert isinstance(parse_output("stdout"), StdoutSink)
    udp = parse_output("udp://192.168.1.20:5005")
    assert isinstance(udp, UdpSink)
    assert (udp.host, udp.port) == ("192.168.1.20", 5005)


def test_parse_mqtt_defaults_and_options():
    sink = parse_output("mqtt://10.0.0.2/robot/vision")
    assert isinstance(sink, MqttSink)
    assert (sink.host, sink.port, sink.topic) == ("10.0.0.2", 1883, "robot/vision")
    assert (sink.qos, sink.retain) == (1, True)
    tuned = parse_output("mqtt://user:s%40cret@10.0.0.2:1884/t?qos=0&retain=0")
    assert (tuned.port, tuned.qos, tuned.retain) == (1884, 0, False)
    assert tuned._credentials == ("user", "s@cret")
    assert "cret" not in tuned.name


def test_parse_mqtt_default_topic():
    assert parse_output("mqtt://10.0.0.2").topic == "lince/result"


def test_parse_serial_options():
    sink = parse_output("serial:///dev/ttyUSB0?baud=9600&format={index};{score:.3f}&eol=crlf")
    assert isinstance(sink, SerialSink)
    assert (sink.device, sink.baud) == ("/dev/ttyUSB0", 9600)
    assert sink.line_format.format(make_result(3, "daisy", 0.5)) == "7;0.500\r\n"


def test_parse_http_binds_loopback_by_default():
    sink = parse_output("http://:8081")
    assert isinstance(sink, HttpPreviewSink)
    assert (sink.host, sink.port) == ("127.0.0.1", 8081)
    assert parse_output("http://0.0.0.0:8080").host == "0.0.0.0"


@pytest.mark.parametrize("spec, fragment", [
    ("ftp://host:21", "Unknown output"),
    ("udp://host", "give a host and a port"),
    ("udp://host:70000", "from 1 to 65535"),
    ("udp://host:0", "from 1 to 65535"),
    ("udp://host:5005?ttl=3", "unknown option 'ttl'"),
    ("serial://", "give the serial device"),
    ("serial:///dev/ttyS0?baud=fast", "baud must be a whole number"),
    ("serial:///dev/ttyS0?eol=cr", "eol must be one of"),
    ("serial:///dev/ttyS0?format={colour}", "unknown field 'colour'"),
    ("serial:///dev/ttyS0?format=hello", "uses no field"),
    ("serial:///dev/ttyS0?baud=9600&baud=115200", "baud is given twice"),
    ("mqtt://host/robot/+/vision", "wildcards"),
    ("mqtt://host/robot/#", "'#' is not allowed"),
    ("mqtt://host/t?qos=3", "qos must be a whole number from 0 to 2"),
    ("mqtt://host/t?retain=yes", "retain must be a whole number from 0 to 1"),
    ("http://127.0.0.1:8080/preview", "takes no path"),
])
def test_parse_rejects_invalid_spec(spec, fragment):
    with pytest.raises(OutputError) as raised:
        parse_output(spec)
    assert fragment in str(raised.value)
    assert "\n" not in str(raised.value)


def test_open_outputs_rejects_empty_and_duplicates():
    with pytest.raises(OutputError, match="No output given"):
        open_outputs([])
    with pytest.raises(OutputError, match="given twice"):
        open_outputs(["udp://127.0.0.1:5005", "udp://127.0.0.1:5005"])


def test_open_outputs_rejects_bad_rate():
    with pytest.raises(OutputError, match="Invalid rate 0"):
        open_outputs(["stdout"], rate_hz=0)


def test_gate_on_change_publishes_first_and_changes():
    gate = PublishGate(on_change=True)
    labels = ["cat", "cat", "dog", "dog", "dog", "cat", "unknown", "unknown"]
    admitted = [label for number, label in enumerate(labels) if gate.admit(make_result(number, label))]
    assert admitted == ["cat", "dog", "cat", "unknown"]


def test_gate_rate_caps_results_per_second():
    now = [0.0]
    gate = PublishGate(rate_hz=2, clock=lambda: now[0])
    admitted = []
    for number in range(40):  # 4 s at 10 results per second
        now[0] = number * 0.1
        if gate.admit(make_result(number, "cat")):
            admitted.append(number)
    assert admitted == [0, 5, 10, 15, 20, 25, 30, 35]


def test_gate_change_held_by_rate_goes_out_later():
    now = [0.0]
    gate = PublishGate(on_change=True, rate_hz=1, clock=lambda: now[0])
    assert gate.admit(make_result(0, "cat"))
    now[0] = 0.3
    assert not gate.admit(make_result(1, "dog"))
    now[0] = 1.1
    assert gate.admit(make_result(2, "dog"))
    now[0] = 2.5
    assert not gate.admit(make_result(3, "dog"))


def test_gate_falls_back_to_raw_label_without_smoothing():
    gate = PublishGate(on_change=True)
    raw = [FrameResult(frame_number=n, capture_time=0.0, frame_age_ms=0.0, label=label, index=0, score=0.5)
           for n, label in enumerate(["cat", "cat", "dog"])]
    assert [gate.admit(result) for result in raw] == [True, False, True]


def test_result_json_converts_numpy_and_nan():
    result = FrameResult(frame_number=np.int64(4), capture_time=1.0, frame_age_ms=float("nan"), label="daisy",
                         index=np.int32(985), score=np.float32(0.75),
                         top_k=[Prediction(np.int32(985), "daisy", np.float32(0.75))], stable_label="daisy")
    record = json.loads(result_json(result))
    assert record["frame_number"] == 4
    assert record["index"] == 985
    assert record["score"] == 0.75
    assert record["frame_age_ms"] is None
    assert record["top_k"] == [{"index": 985, "label": "daisy", "score": 0.75}]


def test_line_format_keeps_one_line_per_result():
    line_format = LineFormat("{stable_label},{stable_score:.2f}")
    assert line_format.format(make_result(0, "Boston bull, Boston terrier", 0.625)) == \
        "Boston bull, Boston terrier,0.62\n"
    assert line_format.format(make_result(0, "two\nlines", 0.5)) == "two lines,0.50\n"


def test_line_format_falls_back_without_smoothing():
    raw = FrameResult(frame_number=0, capture_time=0.0, frame_age_ms=0.0, label="daisy", index=985, score=0.25)
    assert LineFormat("{stable_label},{stable_score:.2f}").format(raw) == "daisy,0.25\n"


def test_error_message_hides_password():
    with pytest.raises(OutputError) as raised:
        parse_output("mqtt://robot:s3cret@10.0.0.2/t?qos=7")
    assert "s3cret" not in str(raised.value)
    assert "mqtt://robot:***@10.0.0.2/t?qos=7" in str(raised.value)


def test_mqtt_password_from_environment(monkeypatch):
    monkeypatch.setenv("LINCE_MQTT_PASSWORD", "from-env")
    assert parse_output("mqtt://robot@10.0.0.2/t")._credentials == ("robot", "from-env")
    assert parse_output("mqtt://robot:inline@10.0.0.2/t")._credentials == ("robot", "inline")
    assert parse_output("mqtt://10.0.0.2/t")._credentials == (None, None)


def test_gate_late_change_is_changed():
    now = [0.0]
    gate = PublishGate(on_change=True, rate_hz=1, clock=lambda: now[0])
    first = gate.select(make_result(0, "cat", changed=True))
    assert first.changed
    now[0] = 0.3
    assert gate.select(make_result(1, "dog", changed=True)) is None
    now[0] = 1.1
    # The frame where the label changed was held back, so this message reports the change.
    late = gate.select(make_result(2, "dog", changed=False))
    assert (late.frame_number, late.stable_label, late.changed) == (2, "dog", True)


def test_line_format_unknown_stable_index():
    line_format = LineFormat("{stable_index},{stable_score:.2f}")
    unknown = FrameResult(frame_number=0, capture_time=0.0, frame_age_ms=0.0, label="daisy", index=985,
                          score=0.2, stable_label="unknown", stable_score=0.2, stable_index=None)
    daisy = FrameResult(frame_number=1, capture_time=0.0, frame_age_ms=0.0, label="bee", index=309,
                        score=0.4, stable_label="daisy", stable_score=0.75, stable_index=985)
    raw = FrameResult(frame_number=2, capture_time=0.0, frame_age_ms=0.0, label="daisy", index=985, score=0.25)
    assert line_format.format(unknown) == "-1,0.20\n"
    assert line_format.format(daisy) == "985,0.75\n"
    assert line_format.format(raw) == "985,0.25\n"


def test_to_dict_matches_dataclass_asdict():
    import dataclasses

    result = make_result(4, "daisy")
    result = dataclasses.replace(result, top_k=[Prediction(7, "daisy", 0.9), Prediction(2, "rose", 0.05)],
                                 stable_index=7)
    assert result.to_dict() == dataclasses.asdict(result)


def test_result_json_encodes_each_result_once():
    first, second = make_result(1, "daisy"), make_result(2, "rose")
    text = result_json(first)
    assert result_json(first) is text
    assert json.loads(result_json(second))["stable_label"] == "rose"
    assert json.loads(result_json(first))["stable_label"] == "daisy"


def test_preview_takes_frames_at_its_own_rate():
    from lince.runtime.outputs import Outputs
    from lince.runtime.outputs.worker import Sink

    class Recorder(Sink):
        name = "recorder"
        gated = False
        wants_frames = True
        max_frame_rate = 10.0

        def __init__(self):
            self.items = []

        def send(self, result, frame):
            self.items.append((result.frame_number, frame is not None))

    sink = Recorder()
    outputs = Outputs([sink], PublishGate())
    frame = np.zeros((4, 4, 3), np.uint8)
    start = time.monotonic()
    for number in range(50):
        outputs.publish(make_result(number, "daisy"), frame)
        time.sleep(0.01)
    elapsed = time.monotonic() - start
    outputs.close(timeout=2)
    # Every result arrives; frames come at most 10 per second, the first at once.
    assert [number for number, _has in sink.items] == list(range(50))
    framed = sum(has for _number, has in sink.items)
    assert sink.items[0][1]
    assert 3 <= framed <= 10 * elapsed + 2
