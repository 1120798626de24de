"""Camera loop throughput and memory over 10,000 frames, against invoke() alone.

Both are measured in one process, in short alternating rounds, so that the
load of a shared machine affects them alike:

- ``invoke()`` alone on a fixed input, the ceiling of any loop;
- the full loop (read-ahead thread, preprocessing, inference, smoothing,
  statistics) on frames of the fixture video held in memory, as fast as
  possible, so that video decoding is not measured.

The loop runs 10,000 frames: 500 to warm up, then 40 rounds, each right
after an invoke() round. Each pair gives one ratio of loop throughput to
invoke() throughput; the script prints their median and quartiles (a burst
of load from another process spoils one pair, not the whole figure), the
ratio of the totals, and the growth of resident memory from frame 500 to the
last frame. Goals: median ratio >= 0.90, growth < 5 MB. Exit code 1 when a
goal is missed.

    python bench/loop_throughput.py [--model M.tflite] [--frames 10000]
"""

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import List

import cv2
import numpy as np

import common
from lince.runtime import Classifier, LoopSettings, Pipeline
from lince.runtime.sources import FrameSource

RATIO_GOAL = 0.90
GROWTH_GOAL_MB = 5.0
WARM_UP_FRAMES = 500


class MemoryFrames(FrameSource):
    """The first frames of a video, decoded once and replayed ``count`` times in total."""

    live = False
    description = "video frames in memory"

    def __init__(self, video: Path, count: int, keep: int = 60):
        capture = cv2.VideoCapture(str(video))
        self.frames = []
        while len(self.frames) < keep:
            ok, frame = capture.read()
            if not ok:
                break
            self.frames.append(frame)
        capture.release()
        if not self.frames:
            sys.exit(f"cannot read frames from {video}")
        self.count = count
        self.delivered = 0

    def open(self):
        self.delivered = 0

    def read(self):
        if self.delivered >= self.count:
            return None
        frame = self.frames[self.delivered % len(self.frames)]
        self.delivered += 1
        return frame


def time_invokes(classifier: Classifier, frame, count: int) -> float:
    """Return the seconds that ``count`` calls of invoke() alone take on one prepared frame."""
    classifier.set_input(classifier.prepare(frame))
    start = time.perf_counter()
    for _ in range(count):
        classifier.invoke()
    return time.perf_counter() - start


def time_loop_frames(results, count: int) -> float:
    """Return the seconds that the loop takes to deliver the next ``count`` results."""
    start = time.perf_counter()
    for _ in range(count):
        next(results)
    return time.perf_counter() - start


@dataclass
class Measurement:
    loop_fps: List[float]
    invoke_fps: List[float]
    warm_rss: float
    end_rss: float

    @property
    def ratios(self) -> np.ndarray:
        return np.array(self.loop_fps) / np.array(self.invoke_fps)

    @property
    def total_ratio(self) -> float:
        # Equal frame counts per round: the ratio of the mean rates is the ratio of the totals.
        return len(self.loop_fps) / sum(1 / f for f in self.loop_fps) / (
            len(self.invoke_fps) / sum(1 / f for f in self.invoke_fps))


def measure(classifier: Classifier, source: MemoryFrames, frames: int, rounds: int) -> Measurement:
    """Alternate invoke() and loop rounds; return the rate of each round and resident memory."""
    per_round = (frames - WARM_UP_FRAMES) // rounds
    loop_fps, invoke_fps = [], []
    settings = LoopSettings(realtime=False, stats_interval=0)
    with Pipeline(classifier, source, settings=settings) as pipeline:
        results = iter(pipeline)
        time_loop_frames(results, WARM_UP_FRAMES)
        time_invokes(classifier, source.frames[0], 20)
        warm_rss = common.resident_mb()
        for _round in range(rounds):
            # The loop is paused between rounds, so invoke() has the interpreter to itself.
            invoke_fps.append(per_round / time_invokes(classifier, source.frames[0], per_round))
            loop_fps.append(per_round / time_loop_frames(results, per_round))
        end_rss = common.resident_mb()
    return Measurement(loop_fps, invoke_fps, warm_rss, end_rss)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=common.FIXTURES / "models" / "mobilenet_v2_1.0_224_quant.tflite")
    parser.add_argument("--labels", type=Path)
    parser.add_argument("--frames", type=int, default=10000)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--rounds", type=int, default=40)
    parser.add_argument("--video", type=Path, default=common.VIDEO)
    args = parser.parse_args()
    for path in (args.model, args.video):
        if not path.exists():
            sys.exit(f"bench: {path} not found; set LINCE_FIXTURES to the shared fixtures folder or pass "
                     f"--model and --video")

    classifier = Classifier(args.model, labels=args.labels, num_threads=args.threads)
    source = MemoryFrames(args.video, args.frames)
    result = measure(classifier, source, args.frames, args.rounds)
    ratios = result.ratios
    ratio = float(np.median(ratios))
    low, high = (float(q) for q in np.percentile(ratios, [25, 75]))
    growth = result.end_rss - result.warm_rss

    print(f"model: {args.model.name}, {classifier.num_threads} interpreter threads, "
          f"{args.frames} loop frames in {args.rounds} rounds after {WARM_UP_FRAMES} to warm up")
    print(f"invoke() alone: {np.median(result.invoke_fps):.1f} /s (median of rounds)")
    print(f"loop:           {np.median(result.loop_fps):.1f} frames/s (median of rounds)")
    print(f"throughput ratio loop / invoke(): median {ratio:.3f} of {len(ratios)} paired rounds "
          f"(quartiles {low:.3f}-{high:.3f}; ratio of totals {result.total_ratio:.3f})  "
          f"(goal >= {RATIO_GOAL:.2f}) {'OK' if ratio >= RATIO_GOAL else 'MISSED'}")
    print(f"resident memory: {result.warm_rss:.1f} MB at frame {WARM_UP_FRAMES}, {result.end_rss:.1f} MB at the end, "
          f"growth {growth:+.2f} MB  (goal < {GROWTH_GOAL_MB:.0f} MB) {'OK' if growth < GROWTH_GOAL_MB else 'MISSED'}")
    return 0 if ratio >= RATIO_GOAL and growth < GROWTH_GOAL_MB else 1


if __name__ == "__main__":
    sys.exit(main())
