"""Cost of the result outputs to the camera loop: classify + publish, against classify alone.

Each call classifies one frame of the fixture video (held in memory) with the
reference int8 MobileNetV2, then publishes the result to one set of outputs.
The sets are timed in alternating rounds in one process, so the load of a
shared machine affects them alike:

- none: classify only;
- stdout (to /dev/null), UDP to loopback and a serial pseudo-terminal;
- the same plus the preview server (which copies every frame);
- the same plus MQTT to a port where no broker listens, so that the output
  keeps failing and retrying during the measurement.

Goal: every set adds at most 5% to the median time per frame.
Exit code 1 when the goal is missed.

    python bench/outputs_overhead.py [--calls 600] [--rounds 5]
"""

import argparse
import os
import socket
import sys
import time

import cv2
import numpy as np

import common
from lince.runtime import Classifier
from lince.runtime.outputs import Outputs, parse_output
from lince.runtime.outputs.gate import PublishGate
from lince.runtime.outputs.stdout import StdoutSink
from lince.runtime.results import FrameResult

OVERHEAD_GOAL = 1.05
MODEL = common.FIXTURES / "models" / "mobilenet_v2_1.0_224_quant.tflite"
LABELS = common.FIXTURES / "models" / "imagenet_labels.txt"


def read_frames(count: int) -> list:
    capture = cv2.VideoCapture(str(common.VIDEO))
    frames = []
    while len(frames) < count:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    return frames


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def output_sets(devnull, udp_port: int, serial_devices: list) -> dict:
    """Return the output sets to time; each gets its own serial device, which the output locks."""
    devices = iter(serial_devices)

    def base():
        return [StdoutSink(devnull), parse_output(f"udp://127.0.0.1:{udp_port}"),
                parse_output(f"serial://{next(devices)}")]

    return {
        "stdout + UDP + serial": Outputs(base(), PublishGate()),
        "+ preview server": Outputs(base() + [parse_output("http://127.0.0.1:0")], PublishGate()),
        "+ MQTT, broker down": Outputs(base() + [parse_output("http://127.0.0.1:0"),
                                                 parse_output(f"mqtt://127.0.0.1:{free_port()}/bench")],
                                       PublishGate()),
    }


def make_caller(classifier, frames, outputs):
    state = {"number": 0}

    def call():
        number = state["number"]
        state["number"] += 1
        frame = frames[number % len(frames)]
        top = classifier.classify(frame, top_k=3)
        result = FrameResult(frame_number=number, capture_time=time.time(), frame_age_ms=0.0, label=top.label,
                             index=top.index, score=top.score, top_k=top.top_k, stable_label=top.label,
                             stable_score=top.score, inference_ms=top.inference_ms)
        if outputs is not None:
            outputs.publish(result, frame)

    return call


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=600, help="frames per output set (default: 600)")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds (default: 5)")
    args = parser.parse_args()
    common.setup_logging()
    if not MODEL.exists():
        sys.exit(f"bench: fixtures not found at {common.FIXTURES}; set LINCE_FIXTURES to the shared fixtures folder")

    classifier = Classifier(MODEL, labels=LABELS, num_threads=common.threads())
    frames = read_frames(60)
    terminals = [os.openpty() for _ in range(3)]
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind(("127.0.0.1", 0))
    with open(os.devnull, "w") as devnull:
        sets = output_sets(devnull, listener.getsockname()[1], [os.ttyname(slave) for _master, slave in terminals])
        contenders = {"none": (make_caller(classifier, frames, None), args.calls)}
        contenders.update({name: (make_caller(classifier, frames, outputs), args.calls)
                           for name, outputs in sets.items()})
        # The pty is never read: once its buffer is full the serial output
        # times out and retries, as with a device that stopped reading.
        times = common.interleaved_latencies(contenders, rounds=args.rounds)
        for outputs in sets.values():
            outputs.close(timeout=1)
    for master, slave in terminals:
        os.close(master)
        os.close(slave)
    listener.close()

    baseline = float(np.median(times["none"]))
    rows, figures, goal_met = [], {}, True
    for name, values in times.items():
        median = float(np.median(values))
        ratio = median / baseline
        goal_met &= name == "none" or ratio <= OVERHEAD_GOAL
        figures[name] = {"median_ms": median, "p95_ms": float(np.percentile(values, 95)), "ratio": ratio}
        rows.append([name, f"{median:.2f}", f"{np.percentile(values, 95):.2f}", f"{median - baseline:+.2f}",
                     f"{ratio:.3f}"])
    print("## Result outputs: cost per frame\n")
    print(common.markdown_table(["outputs", "median ms/frame", "p95 ms/frame", "added ms/frame", "ratio to none"],
                                rows))
    print(f"\nGoal: every set at most {OVERHEAD_GOAL:.2f}x the frame time without outputs: {common.verdict(goal_met)}")
    added = max(f["median_ms"] for f in figures.values()) - baseline
    # The outputs' cost per frame hardly depends on the model, so the ratio does.
    print(f"The outputs add at most {added:.2f} ms per frame, against {baseline:.2f} ms for the model alone.")
    common.write_result("outputs_overhead", {"figures": figures, "goal_met": goal_met, "calls": args.calls})
    return 0 if goal_met else 1


if __name__ == "__main__":
    sys.exit(main())
