"""The read-ahead of files with --no-realtime: every frame in order, refilled in bursts."""

import threading
import time

import numpy as np
import pytest

from lince.runtime.capture import PrefetchReader
from lince.runtime.sources.base import FrameSource
from outputs_support import wait_until


class CountingFile(FrameSource):
    """A file-like source of ``count`` frames whose pixels hold their own number."""

    live = False
    description = "counting file"

    def __init__(self, count: int, fail_at=None):
        self.count = count
        self.fail_at = fail_at
        self.reads = 0
        self.closed = threading.Event()

    def open(self):
        pass

    def read(self):
        if self.reads == self.fail_at:
            raise OSError("damaged frame")
        if self.reads >= self.count:
            return None
        frame = np.full((4, 4, 3), self.reads % 256, np.uint8)
        self.reads += 1
        return frame

    def close(self):
        self.closed.set()


def test_frames_arrive_in_order_prepared():
    source = CountingFile(50)
    reader = PrefetchReader(source, prepare=lambda image: image[:2, :2] + 1).start()
    frames = []
    while (frame := reader.next_frame()) is not None:
        frames.append(frame)
    assert [f.number for f in frames] == list(range(50))
    assert [int(f.image[0, 0, 0]) for f in frames] == list(range(50))
    assert [int(f.prepared[0, 0, 0]) for f in frames] == [f.number + 1 for f in frames]
    assert all(f.prepared.shape == (2, 2, 3) for f in frames)
    assert source.closed.wait(2.0)


def test_reader_refills_at_low_water():
    source = CountingFile(100)
    reader = PrefetchReader(source, depth=6, low_water=2).start()
    try:
        # Six frames in the buffer and the seventh in the reader's hand.
        assert wait_until(lambda: source.reads == 7, timeout=5.0, interval=0.005)
        time.sleep(0.1)
        assert source.reads == 7
        for _ in range(3):
            reader.next_frame()
        time.sleep(0.1)
        # Three frames left, more than low water: the reader has not woken.
        assert source.reads == 7
        reader.next_frame()
        # Down to two: the reader refills up to the depth again in one burst.
        assert wait_until(lambda: source.reads == 11, timeout=5.0, interval=0.005)
        time.sleep(0.1)
        assert source.reads == 11
    finally:
        reader.stop()


def test_read_error_follows_good_frames():
    reader = PrefetchReader(CountingFile(100, fail_at=3)).start()
    numbers = [reader.next_frame().number for _ in range(3)]
    with pytest.raises(OSError, match="damaged frame"):
        reader.next_frame()
    assert numbers == [0, 1, 2]


def test_stop_closes_full_reader():
    source = CountingFile(10 ** 6)
    reader = PrefetchReader(source).start()
    assert wait_until(lambda: source.reads == 9, timeout=5.0, interval=0.005)
    reader.stop(timeout=2.0)
    assert source.closed.wait(2.0)
    assert source.reads == 9


def test_next_frame_none_on_stop():
    reader = PrefetchReader(CountingFile(0)).start()
    # An empty source ends at once.
    assert reader.next_frame() is None
    stop = threading.Event()
    stop.set()
    assert PrefetchReader(CountingFile(5)).next_frame(stop) is None
    assert PrefetchReader(CountingFile(5)).next_frame(deadline=time.monotonic() - 1) is None


def test_low_water_must_be_below_depth():
    with pytest.raises(ValueError):
        PrefetchReader(CountingFile(1), depth=4, low_water=4)
