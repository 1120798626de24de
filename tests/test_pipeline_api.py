"""The Python API of the camera loop: Pipeline, its callbacks and StableClassifier."""

import time

import cv2
import numpy as np
import pytest

from camera_standins import ScriptedCamera
from lince.runtime import Classifier, FrameResult, LoopSettings, Pipeline, StableClassifier
from lince.runtime.errors import LinceError, SourceError
from lince.runtime.pipeline import parse_roi
from lince.runtime.stats import StatsReport


@pytest.fixture(scope="module")
def classifier(models_dir):
    return Classifier(models_dir / "mobilenet_v2_1.0_224_quant.tflite", labels=models_dir / "imagenet_labels.txt",
                      num_threads=1)


@pytest.fixture(scope="module")
def photo_folder(tmp_path_factory, images_dir):
    folder = tmp_path_factory.mktemp("photos")
    for index, name in enumerate(["parrot.jpg", "parrot.jpg", "parrot.jpg", "bird.bmp", "bird.bmp", "bird.bmp"]):
        cv2.imwrite(str(folder / f"{index:02d}.png"), cv2.imread(str(images_dir / name)))
    return folder


def test_iteration_yields_typed_results(classifier, photo_folder):
    with Pipeline(classifier, str(photo_folder), settings=LoopSettings(realtime=False)) as pipeline:
        results = list(pipeline)
    assert all(isinstance(r, FrameResult) for r in results)
    assert [r.frame_number for r in results] == list(range(6))
    assert [r.label for r in results] == ["macaw"] * 3 + ["chickadee"] * 3
    # Hysteresis 2 delays each change by a frame. At frame 3 the average is
    # still half macaw, so chickadee leads from frame 4 and is stable at 5.
    assert [r.stable_label for r in results] == ["unknown", "macaw", "macaw", "macaw", "macaw", "chickadee"]
    assert [r.changed for r in results] == [False, True, False, False, False, True]
    assert results[1].stable_index == 89
    assert len(results[0].top_k) == 3
    record = results[1].to_dict()
    assert record["stable_label"] == "macaw"
    assert record["top_k"][0]["label"] == "macaw"


def test_callbacks_get_results_frames_and_stats(classifier, photo_folder):
    settings = LoopSettings(realtime=True, stats_interval=0.05, source=LoopSettings().source)
    pipeline = Pipeline(classifier, str(photo_folder), settings=settings)
    seen, reports = [], []
    pipeline.on_result(lambda result, frame: seen.append((result.frame_number, frame.shape)))
    pipeline.on_stats(reports.append)
    summary = pipeline.run()
    numbers = [number for number, _shape in seen]
    assert numbers == sorted(set(numbers))
    assert set(numbers) <= set(range(6))
    assert all(shape[2] == 3 for _number, shape in seen)
    assert isinstance(summary, StatsReport)
    assert summary.frames == len(seen)
    # The folder plays at 30 fps: 6 frames take about 0.17 s, so reports came.
    assert reports
    assert sum(report.frames for report in reports) <= summary.frames


def test_frame_limit(classifier):
    camera = ScriptedCamera(fps=60.0)
    with Pipeline(classifier, camera, settings=LoopSettings(max_frames=4)) as pipeline:
        assert len(list(pipeline)) == 4


class SlowClassifier(Classifier):
    """A real classifier slower than the camera, so a new frame is always waiting."""

    def invoke(self):
        time.sleep(0.03)
        return super().invoke()


def test_duration_limit_with_slow_model(models_dir):
    camera = ScriptedCamera(fps=60.0)
    slow = SlowClassifier(models_dir / "mobilenet_v1_0.25_128_quant.tflite", num_threads=1)
    start = time.monotonic()
    with Pipeline(slow, camera, settings=LoopSettings(duration=0.5)) as pipeline:
        results = list(pipeline)
    elapsed = time.monotonic() - start
    assert 0.45 <= elapsed < 2.0
    assert results
    assert not camera.is_open


def test_source_that_cannot_open(classifier):
    camera = ScriptedCamera(open_results=[False])
    with pytest.raises(SourceError, match="stand-in camera"):
        Pipeline(classifier, camera).start()


def test_stable_classifier_for_own_frames(classifier, images_dir):
    # A robot with its own camera callback (or a ROS 2 image subscription).
    step = StableClassifier(classifier)
    frame = cv2.imread(str(images_dir / "parrot.jpg"))
    stamp = time.time() - 0.25
    first = step.process(frame, capture_time=stamp)
    second = step.process(frame)
    assert first.frame_number == 0
    assert second.frame_number == 1
    assert first.capture_time == stamp
    assert 250 <= first.frame_age_ms < 1000
    assert second.stable_label == "macaw"
    assert second.changed


def test_roi_classifies_only_the_region(classifier, images_dir):
    parrot = cv2.resize(cv2.imread(str(images_dir / "parrot.jpg")), (320, 480))
    bird = cv2.resize(cv2.imread(str(images_dir / "bird.bmp")), (320, 480))
    frame = np.hstack([parrot, bird])
    left = StableClassifier(classifier, roi=(0, 0, 320, 480)).process(frame)
    right = StableClassifier(classifier, roi=(320, 0, 320, 480)).process(frame)
    assert left.label == "macaw"
    assert right.label == "chickadee"


def test_roi_outside_frame(classifier):
    step = StableClassifier(classifier, roi=(600, 0, 100, 100))
    with pytest.raises(LinceError, match="640x480"):
        step.process(np.zeros((480, 640, 3), np.uint8))


def test_crop_override_center(classifier):
    # Green bands at the sides; a centre crop to the square input removes them.
    frame = np.zeros((480, 640, 3), np.uint8)
    frame[:, :80] = frame[:, 560:] = (0, 255, 0)
    frame[:, 80:560] = (0, 0, 255)
    inputs = []
    original = classifier.set_input
    classifier.set_input = lambda image: (inputs.append(image.copy()), original(image))
    try:
        StableClassifier(classifier, crop="center").process(frame)
        StableClassifier(classifier, crop="none").process(frame)
    finally:
        del classifier.set_input
    centre, whole = inputs
    assert centre[:, :, 1].max() == 0
    assert whole[:, :5, 1].min() == 255


@pytest.mark.parametrize("text", ["1,2,3", "a,b,c,d", "0,0,0,10", "-1,0,5,5"])
def test_parse_roi_invalid(text):
    with pytest.raises(LinceError, match="--roi"):
        parse_roi(text)


def test_parse_roi_valid():
    assert parse_roi(" 10, 20,30,40 ") == (10, 20, 30, 40)
