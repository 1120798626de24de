"""Output ``udp://HOST:PORT``: one JSON datagram per result."""

import errno
import logging
import socket
from typing import Optional

import numpy as np

from lince.runtime.outputs.messages import result_json
from lince.runtime.outputs.worker import MessageRejected, Sink
from lince.runtime.results import FrameResult

logger = logging.getLogger(__name__)


class UdpSink(Sink):
    """Send each result as a UTF-8 JSON datagram to ``host:port``.

    UDP does not report a listener that is absent, so results sent while no
    program listens are lost without an error. A robot reads the next one.
    A socket error (no route, network down) makes the worker retry.
    """

    def __init__(self, host: str, port: int):
        self.host = host
        self.port = port
        self.name = f"udp://{host}:{port}"
        self._socket: Optional[socket.socket] = None
        self._address = None

    def open(self) -> None:
        # Resolved on each open, so a name that did not resolve at boot is
        # looked up again on the next retry.
        family, kind, proto, _canonical, address = socket.getaddrinfo(
            self.host, self.port, type=socket.SOCK_DGRAM)[0]
        sock = socket.socket(family, kind, proto)
        if family == socket.AF_INET:
            # Lets the user send to a broadcast address such as 192.168.1.255.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
        self._socket = sock
        self._address = address
        logger.info("%s: sending JSON datagrams to %s", self.name, address)

    def send(self, result: FrameResult, frame: Optional[np.ndarray]) -> None:
        payload = result_json(result).encode("utf-8")
        try:
            self._socket.sendto(payload, self._address)
        except OSError as error:
            if error.errno == errno.EMSGSIZE:
                raise MessageRejected(f"{len(payload)} bytes do not fit in one datagram") from None
            raise

    def close(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
