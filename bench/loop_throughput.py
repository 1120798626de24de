"""Camera loop throughput and memory over 10,000 frames, against invoke() alone.

Runs, in one process and one run:

1. ``invoke()`` alone on a fixed input, the ceiling of any loop;
2. the full loop (capture thread, preprocessing, inference, smoothing,
   statistics) on 10,000 frames as fast as possible, from frames of the
   fixture video held in memory, so that video decoding is not measured;
3. ``invoke()`` alone again, to average out drift of a shared machine.

It prints the loop's throughput as a ratio of invoke()'s and the growth of
resident memory between frame 500 (after warm-up) and the last frame.
Goals: ratio >= 0.90, growth < 5 MB. Exit code 1 when a goal is missed.

    python bench/loop_throughput.py [--model M.tflite] [--frames 10000]
"""

import argparse
import os
import sys
import time
from pathlib import Path

import cv2

from lince.runtime import Classifier, LoopSettings, Pipeline
from lince.runtime.sources import FrameSource

FIXTURES = Path(os.environ.get("LINCE_FIXTURES", Path(__file__).resolve().parents[2] / "shared" / "fixtures"))
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


def resident_mb() -> float:
    with open("/proc/self/statm") as file:
        pages = int(file.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def invoke_rate(classifier: Classifier, frame, count: int) -> float:
    """Return invocations per second of invoke() alone on one prepared frame."""
    classifier.set_input(classifier.prepare(frame))
    for _ in range(20):
        classifier.invoke()
    start = time.perf_counter()
    for _ in range(count):
        classifier.invoke()
    return count / (time.perf_counter() - start)


def loop_rate(classifier: Classifier, source: MemoryFrames, frames: int):
    """Run the loop over ``frames`` frames; return (frames per second, RSS at warm-up, RSS at the end)."""
    settings = LoopSettings(realtime=False, stats_interval=0)
    warm_rss = None
    count = 0
    with Pipeline(classifier, source, settings=settings) as pipeline:
        for _result in pipeline:
            count += 1
            if count == WARM_UP_FRAMES:
                warm_rss = resident_mb()
                start = time.perf_counter()
        elapsed = time.perf_counter() - start
    end_rss = resident_mb()
    return (count - WARM_UP_FRAMES) / elapsed, warm_rss, end_rss, count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=FIXTURES / "models" / "mobilenet_v2_1.0_224_quant.tflite")
    parser.add_argument("--labels", type=Path)
    parser.add_argument("--frames", type=int, default=10000)
    parser.add_argument("--threads", type=int)
    parser.add_argument("--video", type=Path, default=FIXTURES / "videos" / "slideshow_640x480_30fps.mp4")
    args = parser.parse_args()

    classifier = Classifier(args.model, labels=args.labels, num_threads=args.threads)
    source = MemoryFrames(args.video, args.frames)
    invoke_count = max(200, args.frames // 5)

    before = invoke_rate(classifier, source.frames[0], invoke_count)
    loop, warm_rss, end_rss, count = loop_rate(classifier, source, args.frames)
    after = invoke_rate(classifier, source.frames[0], invoke_count)
    invoke = (before + after) / 2
    ratio = loop / invoke
    growth = end_rss - warm_rss

    print(f"model: {args.model.name}, {classifier.num_threads} interpreter threads, {count} loop frames")
    print(f"invoke() alone: {before:.1f} /s before, {after:.1f} /s after the loop (mean {invoke:.1f} /s)")
    print(f"loop:           {loop:.1f} frames/s over frames {WARM_UP_FRAMES}-{count}")
    print(f"throughput ratio loop / invoke(): {ratio:.3f}  (goal >= {RATIO_GOAL:.2f}) "
          f"{'OK' if ratio >= RATIO_GOAL else 'MISSED'}")
    print(f"resident memory: {warm_rss:.1f} MB at frame {WARM_UP_FRAMES}, {end_rss:.1f} MB at the end, "
          f"growth {growth:+.2f} MB  (goal < {GROWTH_GOAL_MB:.0f} MB) {'OK' if growth < GROWTH_GOAL_MB else 'MISSED'}")
    return 0 if ratio >= RATIO_GOAL and growth < GROWTH_GOAL_MB else 1


if __name__ == "__main__":
    sys.exit(main())
