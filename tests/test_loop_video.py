"""The camera loop on the fixture slideshow video, the stand-in for a live camera.

The real-time run (12.5 s, the video's length) happens once per session with
the int8 EfficientNet-Lite0 export; several tests check that one run.
"""

import csv
import time

import pytest

from conftest import require_fixture
from lince.runtime import Classifier
from lince.runtime.pipeline import LoopSettings, Pipeline
from lince.runtime.smoothing import UNKNOWN, SmoothingSettings

VIDEO_FRAMES = 375
VIDEO_FPS = 30.0


def expected_labels():
    """Return ``{frame number: label}`` for the labelled frames of the slideshow."""
    path = require_fixture("videos", "slideshow_640x480_30fps.csv")
    with open(path, newline="") as file:
        return {int(row["frame"]): row["label"] for row in csv.DictReader(file) if row["label"]}


def cut_frames(labels):
    """Return ``[(first frame, label)]`` of each photo after a cut."""
    cuts, previous = [], None
    for number in range(VIDEO_FRAMES):
        label = labels.get(number)
        if label and label != previous:
            cuts.append((number, label))
        previous = label
    return cuts


def run_video(model, realtime, labels_file=None):
    video = require_fixture("videos", "slideshow_640x480_30fps.mp4")
    settings = LoopSettings(realtime=realtime, stats_interval=0)
    classifier = model if isinstance(model, Classifier) else Classifier(model, labels=labels_file)
    start = time.monotonic()
    with Pipeline(classifier, str(video), smoothing=SmoothingSettings(), settings=settings) as pipeline:
        results = list(pipeline)
    return {"results": results, "seconds": time.monotonic() - start, "summary": pipeline.summary()}


def share_right(results, labels):
    scored = [r for r in results if r.frame_number in labels]
    right = sum(r.stable_label == labels[r.frame_number] for r in scored)
    return right / len(scored), len(scored)


def frames_to_change(results, labels):
    """For each cut, frames from the first frame of the photo until the stable label shows it."""
    delays = {}
    for first, label in cut_frames(labels):
        shown = [r.frame_number for r in results if r.frame_number >= first and r.stable_label == label]
        delays[label] = shown[0] - first if shown else None
    return delays


@pytest.fixture(scope="module")
def realtime_lite0_run(lite0_int8_tflite):
    return run_video(lite0_int8_tflite, realtime=True)


@pytest.mark.tensorflow
@pytest.mark.slow
def test_realtime_lite0_int8_accuracy(realtime_lite0_run):
    share, scored = share_right(realtime_lite0_run["results"], expected_labels())
    assert scored >= 250  # most labelled frames were classified in real time
    assert share >= 0.95


@pytest.mark.tensorflow
@pytest.mark.slow
def test_realtime_lite0_int8_changes_within_10_frames(realtime_lite0_run):
    delays = frames_to_change(realtime_lite0_run["results"], expected_labels())
    assert len(delays) == 5
    for label, delay in delays.items():
        assert delay is not None, label
        assert delay <= 10, (label, delay)


@pytest.mark.tensorflow
@pytest.mark.slow
def test_realtime_plays_at_video_rate(realtime_lite0_run):
    results = realtime_lite0_run["results"]
    # 375 frames at 30 fps last 12.5 s; reading as fast as possible takes a few seconds.
    assert realtime_lite0_run["seconds"] >= (VIDEO_FRAMES - 1) / VIDEO_FPS - 0.2
    spans = results[-1].capture_time - results[0].capture_time
    assert spans == pytest.approx((results[-1].frame_number - results[0].frame_number) / VIDEO_FPS, abs=0.5)


@pytest.mark.tensorflow
@pytest.mark.slow
def test_realtime_results_are_fresh_and_ordered(realtime_lite0_run):
    results = realtime_lite0_run["results"]
    numbers = [r.frame_number for r in results]
    assert numbers == sorted(set(numbers))
    times = [r.capture_time for r in results]
    assert times == sorted(times)
    # A frame waits for the inference in progress, not for a queue of older frames.
    slowest_step = max(r.preprocess_ms + r.inference_ms for r in results)
    assert max(r.frame_age_ms for r in results) < 3 * 1000 / VIDEO_FPS + slowest_step
    summary = realtime_lite0_run["summary"]
    assert summary.frames == len(results)
    assert summary.dropped == VIDEO_FRAMES - len(results)
    for step in ("capture", "preprocess", "inference", "age"):
        p50, p95 = summary.percentiles[step]
        assert 0 < p50 <= p95


def test_no_realtime_reference_model_every_frame(models_dir):
    run = run_video(models_dir / "mobilenet_v2_1.0_224_quant.tflite", realtime=False,
                    labels_file=models_dir / "imagenet_labels.txt")
    results = run["results"]
    assert [r.frame_number for r in results] == list(range(VIDEO_FRAMES))
    assert run["summary"].dropped == 0
    labels = expected_labels()
    share, scored = share_right(results, labels)
    assert scored == 300
    assert share >= 0.95
    delays = frames_to_change(results, labels)
    assert all(delay is not None and delay <= 10 for delay in delays.values()), delays
    # The dark gaps between photos fall below the threshold: from the 5th dark
    # frame on, once the moving average and hysteresis have caught up.
    settled_dark = {number for number in range(5, VIDEO_FRAMES)
                    if all(n not in labels for n in range(number - 4, number + 1))}
    assert len(settled_dark) == 5 * 11
    for result in results:
        if result.frame_number in settled_dark:
            assert result.stable_label == UNKNOWN, result.frame_number
