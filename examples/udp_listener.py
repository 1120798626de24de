#!/usr/bin/env python3
"""Receive lince results over UDP on the robot's controller and act on label changes.

Run lince on the camera board with, for example:

    lince run model.tflite --source 0 --output udp://CONTROLLER_IP:5005 --on-change

and this program on the controller:

    python3 udp_listener.py --host 0.0.0.0 --port 5005 --target "Egyptian cat"

Each datagram is one JSON object (FrameResult.to_dict()). UDP may lose or
reorder datagrams on a busy network; compare ``frame_number`` to notice.
Needs only the Python standard library.
"""

import argparse
import json
import socket


def act(label: str, score: float, target: str) -> None:
    """Replace with what your robot does; here it only prints a decision."""
    if target and label == target:
        print(f"ACTION: {target} seen ({score:.2f}): stop the motors", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1",
                        help="address to listen on; 0.0.0.0 receives from other machines (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=5005, help="UDP port (default: 5005)")
    parser.add_argument("--target", default="", help="label that triggers the action")
    parser.add_argument("--count", type=int, default=0, help="stop after this many results (default: never)")
    args = parser.parse_args()

    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((args.host, args.port))
    print(f"listening on udp://{args.host}:{sock.getsockname()[1]}", flush=True)
    received = 0
    last_frame = -1
    while args.count == 0 or received < args.count:
        payload, sender = sock.recvfrom(65535)
        result = json.loads(payload)
        received += 1
        if result["frame_number"] <= last_frame:
            continue  # an older datagram that arrived late
        last_frame = result["frame_number"]
        label = result["stable_label"] or result["label"]
        score = result["stable_score"] if result["stable_label"] else result["score"]
        print(f"frame {result['frame_number']}: {label} ({score:.2f})", flush=True)
        act(label, score, args.target)


if __name__ == "__main__":
    main()
