#!/usr/bin/env python3
"""Follow lince results through an MQTT broker and act on label changes.

Run lince with, for example:

    lince run model.tflite --source 0 --output mqtt://BROKER_IP:1883/robot/vision --on-change

and this program anywhere that reaches the broker:

    python3 mqtt_subscriber.py --host BROKER_IP --topic robot/vision --target "Egyptian cat"

lince publishes with the retain flag, so this program gets the current
result as soon as it subscribes. ``TOPIC/status`` is ``online`` while lince
runs and ``offline`` once it stops or its connection drops.
Needs paho-mqtt 2.x (pip install 'paho-mqtt>=2.1,<3').
"""

import argparse
import json

import paho.mqtt.client as mqtt


def act(label: str, score: float, target: str) -> None:
    """Replace with what your robot does; here it only prints a decision."""
    if target and label == target:
        print(f"ACTION: {target} seen ({score:.2f}): stop the motors", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1", help="broker address (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=1883, help="broker port (default: 1883)")
    parser.add_argument("--topic", default="lince/result", help="topic lince publishes on (default: lince/result)")
    parser.add_argument("--target", default="", help="label that triggers the action")
    parser.add_argument("--count", type=int, default=0, help="stop after this many results (default: never)")
    args = parser.parse_args()
    received = 0

    def on_connect(client, userdata, flags, reason_code, properties):
        # Subscribing here subscribes again after every reconnection.
        client.subscribe([(args.topic, 1), (args.topic + "/status", 1)])
        print(f"subscribed to {args.topic} on {args.host}:{args.port}", flush=True)

    def on_message(client, userdata, message):
        nonlocal received
        if message.topic.endswith("/status"):
            print(f"lince is {message.payload.decode()}", flush=True)
            return
        result = json.loads(message.payload)
        label = result["stable_label"] or result["label"]
        score = result["stable_score"] if result["stable_label"] else result["score"]
        print(f"frame {result['frame_number']}: {label} ({score:.2f})", flush=True)
        act(label, score, args.target)
        received += 1
        if args.count and received >= args.count:
            client.disconnect()

    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2)
    client.on_connect = on_connect
    client.on_message = on_message
    # connect_async and retry_first_connection: wait for a broker that starts later.
    client.connect_async(args.host, args.port)
    client.loop_forever(retry_first_connection=True)


if __name__ == "__main__":
    main()
