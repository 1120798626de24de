"""Output ``stdout``: one JSON object per line, for pipes (``lince run ... | jq``)."""

import sys
from typing import Optional, TextIO

import numpy as np

from lince.runtime.outputs.messages import result_json
from lince.runtime.outputs.worker import Sink, SinkGone
from lince.runtime.results import FrameResult


class StdoutSink(Sink):
    """Write each result as a JSON line and flush, so a reader sees it at once."""

    name = "stdout"
    # A pipe reader is usually fast; a long queue keeps every result of a
    # video processed faster than real time.
    queue_size = 1024

    def __init__(self, stream: Optional[TextIO] = None):
        self._stream = stream

    def send(self, result: FrameResult, frame: Optional[np.ndarray]) -> None:
        stream = self._stream or sys.stdout
        try:
            stream.write(result_json(result) + "\n")
            stream.flush()
        except BrokenPipeError as error:
            # The reader went away (`| head`): retrying cannot help.
            raise SinkGone(str(error)) from None
