#!/usr/bin/env python3
"""Classify camera frames inside your own robot program and act when the label changes.

    python3 pipeline_robot.py model.tflite --source 0 --target "Egyptian cat"

The same loop as ``lince run``, as a Python iterator: each result carries the
frame's top class, the smoothed ``stable_label`` a robot should act on, and
``changed`` when that label changes. ``--output`` also sends the results on,
as ``lince run --output`` does (UDP, serial, MQTT or the preview page).
A ROS 2 node would do the same inside its timer or image callback.
"""

import argparse
import sys
from typing import List

from lince.runtime import LoopSettings, Pipeline
from lince.runtime.errors import LinceError
from lince.runtime.outputs import open_outputs


def act(label: str, score: float, target: str) -> None:
    """Replace with what your robot does; here it only prints a decision."""
    if target and label == target:
        print(f"ACTION: {target} seen ({score:.2f}): stop the motors", flush=True)


def main(argv: List[str] = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", help=".tflite model file")
    parser.add_argument("--source", default="0", help="camera index, device, video file or folder (default: 0)")
    parser.add_argument("--labels", help="label file, one class name per line (default: the model's own)")
    parser.add_argument("--target", default="", help="label that triggers the action")
    parser.add_argument("--output", action="append", default=[], help="also send changes here, e.g. udp://IP:PORT")
    parser.add_argument("--no-realtime", action="store_true", help="classify every frame of a video file")
    args = parser.parse_args(argv)

    try:
        run(args)
    except LinceError as error:
        # A missing model, a wrong --source, a lost camera: one line, no traceback.
        print(f"error: {error}", file=sys.stderr)
        sys.exit(1)


def run(args: argparse.Namespace) -> None:
    """Classify frames until the source ends, acting on each change of the stable label."""
    settings = LoopSettings(realtime=not args.no_realtime)
    outputs = open_outputs(args.output, on_change=True) if args.output else None
    try:
        with Pipeline(args.model, args.source, labels=args.labels, settings=settings) as pipeline:
            for result, frame in pipeline.frames():
                if outputs is not None:
                    outputs.publish(result, frame)
                if result.changed:
                    print(f"frame {result.frame_number}: {result.stable_label} ({result.stable_score:.2f})",
                          flush=True)
                    act(result.stable_label, result.stable_score, args.target)
    finally:
        if outputs is not None:
            outputs.close()

if __name__ == "__main__":
    main()
