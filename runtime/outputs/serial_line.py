"""Output ``serial:///dev/ttyUSB0?baud=115200&format=...``: one short text line per result.

The line protocol suits a microcontroller: by default ``stable_label,stable_score``
with two decimals, ending in ``\\n``. ImageNet labels may contain commas
("Boston bull, Boston terrier"), so a reader should split at the LAST comma,
as ``examples/serial_robot/serial_robot.ino`` does, or use ``{stable_index}`` in the
format (-1 while the stable label is ``unknown``).
"""

import logging
from typing import Optional

import numpy as np

from lince.runtime.errors import MissingDependencyError, _
from lince.runtime.outputs.messages import LineFormat
from lince.runtime.outputs.worker import Sink, SinkUnavailable
from lince.runtime.results import FrameResult

logger = logging.getLogger(__name__)

DEFAULT_FORMAT = "{stable_label},{stable_score:.2f}"
LINE_ENDINGS = {"lf": "\n", "crlf": "\r\n"}

# A device that stops reading (flow control, full buffer) fails a write after
# this many seconds instead of stalling the output thread for ever.
WRITE_TIMEOUT_S = 2.0


def _import_serial():
    try:
        import serial
    except ImportError:
        raise MissingDependencyError(
            _("The serial output needs pyserial: install it with: pip install 'pyserial>=3.5,<4'")) from None
    return serial


class SerialSink(Sink):
    """Write one formatted line per result to a serial port, reopening it after unplugging."""

    def __init__(self, device: str, baud: int = 115200, template: str = DEFAULT_FORMAT, end: str = "\n"):
        self._serial_module = _import_serial()
        self.device = device
        self.baud = baud
        self.line_format = LineFormat(template, end)
        self.name = f"serial://{device}"
        self._port = None

    def open(self) -> None:
        try:
            # exclusive: a second lince on the same port fails to open it
            # instead of interleaving its lines with ours.
            self._port = self._serial_module.serial_for_url(
                self.device, baudrate=self.baud, timeout=0, write_timeout=WRITE_TIMEOUT_S, exclusive=True)
        except self._serial_module.SerialException as error:
            raise SinkUnavailable(str(error)) from None
        logger.info("%s: writing lines at %d baud", self.name, self.baud)

    def send(self, result: FrameResult, frame: Optional[np.ndarray]) -> None:
        data = self.line_format.format(result).encode("utf-8")
        try:
            # No flush(): it calls tcdrain(), which has no timeout and waits
            # until the other end has read everything.
            self._port.write(data)
        except self._serial_module.SerialTimeoutException:
            raise SinkUnavailable(f"write timed out after {WRITE_TIMEOUT_S:.0f} s") from None
        except self._serial_module.SerialException as error:
            raise SinkUnavailable(str(error)) from None

    def close(self) -> None:
        if self._port is not None:
            port, self._port = self._port, None
            port.close()
