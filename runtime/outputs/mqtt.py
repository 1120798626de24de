"""Output ``mqtt://HOST:PORT/TOPIC?qos=1&retain=1``: JSON results published through paho-mqtt.

By default each result is published with QoS 1 and the retain flag, so a
client that subscribes later gets the last result at once. The client also
sets the retained ``TOPIC/status`` to ``online`` when it connects. It becomes
``offline`` when lince stops, or through the MQTT last will when the
connection drops.
"""

import logging
import threading
import time
from typing import Optional

import numpy as np

from lince.runtime.errors import MissingDependencyError, _
from lince.runtime.outputs.messages import result_json
from lince.runtime.outputs.worker import Sink, SinkUnavailable
from lince.runtime.results import FrameResult

logger = logging.getLogger(__name__)

DEFAULT_TOPIC = "lince/result"
# How long one open waits for the first connection before the worker backs off.
CONNECT_WAIT_S = 2.0
# paho reconnects by itself after a drop, waiting 1 s, then 2, 4 and 8 s.
RECONNECT_MIN_S = 1
RECONNECT_MAX_S = 8
CLOSE_WAIT_S = 2.0


def _import_paho():
    try:
        import paho.mqtt.client as mqtt
    except ImportError:
        raise MissingDependencyError(
            _("The MQTT output needs paho-mqtt: install it with: pip install 'paho-mqtt>=2.1,<3'")) from None
    return mqtt


class MqttSink(Sink):
    """Publish each result as JSON on one topic; paho's network thread reconnects after a drop."""

    reopen_on_failure = False
    # A retry only checks whether paho has reconnected, which costs nothing,
    # so the queued results go out within a second of the reconnection.
    max_retry_delay = 1.0

    def __init__(self, host: str, port: int, topic: str = DEFAULT_TOPIC, qos: int = 1, retain: bool = True,
                 client_id: str = "", keepalive: int = 30, username: Optional[str] = None,
                 password: Optional[str] = None):
        self._mqtt = _import_paho()
        self.host, self.port, self.topic = host, port, topic
        self.qos, self.retain = qos, retain
        self.status_topic = f"{topic}/status"
        self.name = f"mqtt://{host}:{port}/{topic}"
        self._client_id = client_id
        self._keepalive = keepalive
        self._credentials = (username, password)
        self._client = None
        self._connected = threading.Event()
        self._cancelled = threading.Event()
        self._last_info = None
        self._last_refusal = None

    def open(self) -> None:
        if self._client is None:
            self._client = self._new_client()
            self._client.connect_async(self.host, self.port, self._keepalive)
            self._client.loop_start()
        end = time.monotonic() + CONNECT_WAIT_S
        while not self._connected.wait(0.05):
            if self._cancelled.is_set() or time.monotonic() > end:
                raise SinkUnavailable(f"no connection to the broker at {self.host}:{self.port} yet")

    def cancel(self) -> None:
        self._cancelled.set()

    def send(self, result: FrameResult, frame: Optional[np.ndarray]) -> None:
        if not self._connected.is_set():
            raise SinkUnavailable(f"not connected to the broker at {self.host}:{self.port}")
        info = self._client.publish(self.topic, result_json(result), qos=self.qos, retain=self.retain)
        if info.rc != self._mqtt.MQTT_ERR_SUCCESS:
            raise SinkUnavailable(self._mqtt.error_string(info.rc))
        self._last_info = info

    def close(self) -> None:
        client, self._client = self._client, None
        if client is None:
            return
        if self._connected.is_set():
            self._wait_last_publish()
            client.publish(self.status_topic, "offline", qos=1, retain=True).wait_for_publish(CLOSE_WAIT_S)
            client.disconnect()
        client.loop_stop()
        self._connected.clear()

    def _wait_last_publish(self) -> None:
        if self._last_info is None:
            return
        try:
            self._last_info.wait_for_publish(CLOSE_WAIT_S)
        except (RuntimeError, ValueError) as error:
            logger.warning("%s: the last result may not have reached the broker: %s", self.name, error)

    def _new_client(self):
        mqtt = self._mqtt
        client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=self._client_id,
                             protocol=mqtt.MQTTv311)
        username, password = self._credentials
        if username is not None:
            client.username_pw_set(username, password)
        client.reconnect_delay_set(RECONNECT_MIN_S, RECONNECT_MAX_S)
        client.will_set(self.status_topic, "offline", qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        return client

    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            # A wrong password is refused on every retry, so log it once per reason code.
            if str(reason_code) != self._last_refusal:
                self._last_refusal = str(reason_code)
                logger.warning("%s: the broker refused the connection: %s", self.name, reason_code)
            return
        self._last_refusal = None
        client.publish(self.status_topic, "online", qos=1, retain=True)
        logger.info("%s: connected", self.name)
        self._connected.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        was_connected = self._connected.is_set()
        self._connected.clear()
        if was_connected and self._client is not None:
            logger.warning("%s: connection lost (%s); reconnecting", self.name, reason_code)
