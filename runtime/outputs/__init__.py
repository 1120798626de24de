"""Send classification results to where a robot can use them.

``open_outputs(["stdout", "udp://192.168.1.20:5005", "mqtt://127.0.0.1/robot/vision"])``
returns an :class:`Outputs`; the camera loop calls ``publish(result, frame)``
once per frame and ``close()`` at the end. Each channel runs in its own thread
with a small queue, so ``publish`` never waits for the network or a serial
line, and a channel that fails is retried with a growing delay while the
others go on.

Channels: ``stdout`` (JSON lines), ``udp://HOST:PORT`` (JSON datagrams),
``serial://DEVICE?baud=115200&format=...`` (short text lines),
``mqtt://[USER:PASSWORD@]HOST[:PORT]/TOPIC?qos=1&retain=1`` (JSON messages)
and ``http://HOST:PORT`` (live preview page).
"""

import logging
import time
from typing import List, Optional, Sequence

import numpy as np

from lince.runtime.errors import _
from lince.runtime.outputs.gate import PublishGate
from lince.runtime.outputs.messages import LineFormat, OutputError, result_json, result_record
from lince.runtime.outputs.spec import parse_output
from lince.runtime.outputs.worker import Sink, SinkWorker
from lince.runtime.results import FrameResult

logger = logging.getLogger(__name__)

# close() waits this long in total for the outputs to send what is queued.
CLOSE_TIMEOUT_S = 5.0

__all__ = [
    "LineFormat",
    "OutputError",
    "Outputs",
    "Sink",
    "open_outputs",
    "parse_output",
    "result_json",
    "result_record",
]


class Outputs:
    """The open outputs of one camera loop; usable as a context manager.

    ``--on-change`` and ``--rate`` apply to the message channels (stdout,
    UDP, serial, MQTT). The preview server gets every result, because it shows
    the current state rather than a stream of messages, and frames at up to
    twice the rate its stream shows.
    """

    def __init__(self, sinks: Sequence[Sink], gate: PublishGate):
        self.gate = gate
        self.workers = [SinkWorker(sink) for sink in sinks]
        self._closed = False

    @property
    def sinks(self) -> List[Sink]:
        return [worker.sink for worker in self.workers]

    def publish(self, result: FrameResult, frame_bgr: Optional[np.ndarray] = None) -> None:
        """Hand ``result`` (and the frame, for the preview) to every output, without waiting."""
        if self._closed:
            return
        admitted = self.gate.select(result)
        frame_copy = None
        now = time.monotonic()
        for worker in self.workers:
            if worker.sink.gated and admitted is None:
                continue
            frame = None
            if worker.sink.wants_frames and frame_bgr is not None and worker.frame_due(now):
                # The camera may reuse its buffer for the next frame.
                if frame_copy is None:
                    frame_copy = frame_bgr.copy()
                frame = frame_copy
            worker.put((admitted if worker.sink.gated else result, frame))

    def close(self, timeout: float = CLOSE_TIMEOUT_S) -> None:
        """Send what is queued, within ``timeout`` seconds in total, and stop every output."""
        if self._closed:
            return
        self._closed = True
        deadline = time.monotonic() + timeout
        for worker in self.workers:
            worker.close(deadline)
        for worker in self.workers:
            if not worker.join(deadline + 1.0):
                logger.warning("%s: still busy after %.0f s; results still queued are lost",
                               worker.sink.name, timeout)

    def __enter__(self) -> "Outputs":
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()


def open_outputs(specs: Sequence[str], on_change: bool = False, rate_hz: Optional[float] = None) -> Outputs:
    """Open one output per specification; raise OutputError on an invalid one.

    Channels that are unreachable now (a broker not started yet, a serial
    adapter not plugged in) do not raise: they are retried in the background.
    """
    if not specs:
        raise OutputError(_("No output given: use --output stdout, udp://HOST:PORT, serial://DEVICE, "
                            "mqtt://HOST:PORT/TOPIC or http://127.0.0.1:8080."))
    gate = PublishGate(on_change=on_change, rate_hz=rate_hz)
    sinks = [parse_output(spec) for spec in specs]
    names = [sink.name for sink in sinks]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise OutputError(_("Output {name} is given twice: give each output once.").format(name=duplicates[0]))
    return Outputs(sinks, gate)
