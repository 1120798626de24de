"""The capture thread with stand-in cameras: fresh frames, faults, recovery, no hang."""

import threading
import time

import pytest

from conftest import require_fixture
from camera_standins import HangingCamera, ScriptedCamera, Session, VideoCamera
from lince.runtime import Classifier
from lince.runtime.capture import CaptureThread, RecoverySettings
from lince.runtime.errors import SourceError
from lince.runtime.pipeline import LoopSettings, Pipeline
from lince.runtime.smoothing import NO_SMOOTHING, UNKNOWN, SmoothingSettings

FAST_RECOVERY = RecoverySettings(stall_timeout=0.3, max_reopen=3, backoff_initial=0.05, backoff_max=0.2,
                                 hang_timeout=1.0)


@pytest.fixture(scope="module")
def small_model(models_dir):
    return models_dir / "mobilenet_v1_0.25_128_quant.tflite"


class SlowClassifier(Classifier):
    """A real classifier whose ``invoke`` takes 100 ms longer, and that notes
    how many frames the camera had produced when each inference started."""

    camera = None

    def invoke(self):
        self.counter_at_invoke.append(self.camera.frames_made)
        time.sleep(0.1)
        return super().invoke()


def test_slow_model_gets_frames_at_most_2_old(small_model):
    camera = ScriptedCamera(fps=30.0)
    classifier = SlowClassifier(small_model, num_threads=1)
    classifier.camera, classifier.counter_at_invoke = camera, []
    settings = LoopSettings(max_frames=15, recovery=FAST_RECOVERY)
    with Pipeline(classifier, camera, smoothing=NO_SMOOTHING, settings=settings) as pipeline:
        results = list(pipeline)
    assert len(results) == 15
    # Frame numbers start at 0, the camera's counter at 1 for the first frame.
    ages_in_frames = [counter - (r.frame_number + 1) for r, counter in zip(results, classifier.counter_at_invoke)]
    assert max(ages_in_frames) <= 2, ages_in_frames
    # In time, too: the newest frame waits at most about one camera period.
    assert all(0 <= r.frame_age_ms < 200 for r in results), [r.frame_age_ms for r in results]
    # About 3 camera frames pass per 100 ms inference: the stale ones were dropped.
    gaps = [b.frame_number - a.frame_number for a, b in zip(results, results[1:])]
    assert min(gaps) >= 2
    assert pipeline.summary().dropped > 0


def run_capture(camera, recovery=FAST_RECOVERY, limit_s=10.0, want=None):
    """Collect frames until the capture ends, ``want`` new (not repeated) frames came or ``limit_s`` passed."""
    capture = CaptureThread(camera, realtime=True, recovery=recovery)
    camera.open()
    capture.start()
    frames, error = [], None
    deadline = time.monotonic() + limit_s
    try:
        while want is None or sum(not f.repeated for f in frames) < want:
            frame = capture.next_frame(deadline=deadline)
            if frame is None:
                break
            frames.append(frame)
    except SourceError as caught:
        error = caught
    finally:
        capture.stop()
    return capture, frames, error


def test_camera_that_fails_freezes_and_comes_back():
    camera = ScriptedCamera(
        fps=50.0,
        sessions=[Session(good=10, then="fail"), Session(good=10, then="freeze"), Session()],
        open_results=[True, True, False, True],
    )
    capture, frames, error = run_capture(camera, want=40)
    assert error is None
    fresh = [f for f in frames if not f.repeated]
    assert len(fresh) == 40
    # Open 1 fails after 10 frames; reopen works, freezes after 10 more; one
    # reopen attempt fails, the next works for good.
    assert camera.opens == 3
    assert camera.open_attempts == 4
    assert capture.reopen_count == 2
    # The frozen repeats were handed over too, marked as repeats, until the
    # stall timeout (0.3 s, about 15 frames at 50 fps) reopened the camera.
    images = [f.image for f in fresh]
    assert all(not (a == b).all() for a, b in zip(images, images[1:]))
    repeats = [(a, b) for a, b in zip(frames, frames[1:]) if b.repeated]
    assert 5 <= len(repeats) <= 25
    assert all((a.image == b.image).all() for a, b in repeats)
    assert camera.closes == camera.opens  # every open camera was released


def test_camera_that_never_comes_back_ends_with_error():
    camera = ScriptedCamera(fps=50.0, sessions=[Session(good=5, then="fail")], open_results=[True, False])
    start = time.monotonic()
    capture, frames, error = run_capture(camera)
    elapsed = time.monotonic() - start
    assert len(frames) == 5
    assert isinstance(error, SourceError)
    assert "stand-in camera" in str(error)
    assert "3 attempts" in str(error)
    assert camera.open_attempts == 1 + FAST_RECOVERY.max_reopen
    assert elapsed < 5.0
    assert not camera.is_open


@pytest.mark.parametrize("fault", ["fail", "freeze"])
def test_faulty_reads_do_not_spin(fault):
    # Reads return at once; without a pause between them this would be a busy loop.
    camera = ScriptedCamera(fps=1e6, sessions=[Session(good=1, then=fault)], open_results=[True, False])
    recovery = RecoverySettings(stall_timeout=1.0, max_reopen=1, backoff_initial=0.05)
    _capture, _frames, error = run_capture(camera, recovery=recovery)
    assert isinstance(error, SourceError)
    # One second of failed reads with a 20 ms pause is about 50 reads.
    assert camera.reads < 120


def test_camera_that_comes_back_frozen_gives_up(caplog):
    # After each reopen the stand-in replays its last image: it never recovers.
    camera = ScriptedCamera(fps=50.0, sessions=[Session(good=3, then="freeze"), Session(good=0, then="freeze")])
    _capture, frames, error = run_capture(camera)
    assert len([f for f in frames if not f.repeated]) == 3
    assert isinstance(error, SourceError)
    assert "3 attempts" in str(error)
    assert "frozen" in caplog.text
    assert camera.opens == 1 + FAST_RECOVERY.max_reopen


def test_read_that_blocks_raises_instead_of_hanging():
    camera = HangingCamera(good=3, hang_seconds=3.0, fps=50.0)
    start = time.monotonic()
    _capture, frames, error = run_capture(camera, recovery=FAST_RECOVERY)
    assert len(frames) == 3
    assert isinstance(error, SourceError)
    assert "blocked" in str(error)
    assert time.monotonic() - start < FAST_RECOVERY.hang_timeout + 2.0


def test_stop_from_another_thread_ends_iteration(small_model):
    camera = ScriptedCamera(fps=30.0)
    pipeline = Pipeline(small_model, camera, settings=LoopSettings(recovery=FAST_RECOVERY))
    timer = threading.Timer(0.5, pipeline.stop)
    timer.start()
    start = time.monotonic()
    results = list(pipeline)
    assert time.monotonic() - start < 3.0
    assert results
    assert not camera.is_open


def test_repeated_images_are_classified(small_model):
    # A dark gap or a camera that re-sends the same JPEG: shorter than the
    # stall timeout, so no reopen, and every repeat is a frame to classify.
    camera = ScriptedCamera(fps=50.0, sessions=[Session(good=3, then="freeze")])
    recovery = RecoverySettings(stall_timeout=5.0, max_reopen=1)
    settings = LoopSettings(max_frames=30, recovery=recovery)
    with Pipeline(small_model, camera, smoothing=NO_SMOOTHING, settings=settings) as pipeline:
        results = list(pipeline)
    assert len(results) == 30
    assert camera.opens == 1
    numbers = [r.frame_number for r in results]
    assert numbers == sorted(set(numbers))
    assert numbers[-1] >= 29
    # Every repeat shows the same image, so it gets the same class and score.
    repeats = [r for r in results if r.frame_number >= 3]
    assert len(repeats) >= 20
    assert len({(r.label, r.score) for r in repeats}) == 1



def test_lost_source_message_singular_attempt():
    camera = ScriptedCamera(fps=50.0, sessions=[Session(good=2, then="fail")], open_results=[True, False])
    recovery = RecoverySettings(stall_timeout=0.2, max_reopen=1, backoff_initial=0.01)
    _capture, _frames, error = run_capture(camera, recovery=recovery)
    assert "1 attempt to reopen it failed" in str(error)
    # A stand-in camera has no hint of its own: the advice is general, not a cable.
    assert "Check the source and its connection. Then start again." in str(error)


def test_lost_stream_message_without_cable():
    from lince.runtime.sources import make_source

    stream = make_source("http://127.0.0.1:9/video.mjpg")
    camera = ScriptedCamera(fps=50.0, sessions=[Session(good=2, then="fail")], open_results=[True, False])
    camera.hint = stream.hint
    _capture, _frames, error = run_capture(camera)
    assert "3 attempts to reopen it failed" in str(error)
    assert "Check the URL" in str(error)
    assert "cable" not in str(error)


class _StreamCamera(ScriptedCamera):
    """A stand-in whose failed open raises the error an OpenCV stream raises: its name, reason and hint."""

    def open(self):
        try:
            super().open()
        except SourceError:
            raise SourceError(f"{self.description}: cannot open it through OpenCV (FFMPEG). {self.hint}") from None


def test_lost_stream_message_says_each_part_once():
    from lince.runtime.sources import make_source

    camera = _StreamCamera(fps=50.0, sessions=[Session(good=2, then="fail")], open_results=[True, False])
    camera.hint = make_source("http://127.0.0.1:9/video.mjpg").hint
    _capture, _frames, error = run_capture(camera)
    message = str(error)
    assert message.count(camera.description) == 1
    assert message.count("Check the URL") == 1
    assert "(cannot open it through OpenCV (FFMPEG))." in message


def test_hung_capture_warns_once_when_stopped_twice(caplog):
    camera = HangingCamera(good=2, hang_seconds=2.0, fps=50.0)
    recovery = RecoverySettings(hang_timeout=0.3)
    capture = CaptureThread(camera, realtime=True, recovery=recovery)
    camera.open()
    capture.start()
    while capture.next_frame(deadline=time.monotonic() + 5) is not None and camera.frames_made < 2:
        pass
    time.sleep(0.5)  # the third read is now blocked longer than hang_timeout
    with caplog.at_level("WARNING"):
        capture.stop()
        capture.stop()
    warnings = [record.getMessage() for record in caplog.records if "capture thread" in record.getMessage()]
    assert len(warnings) == 1, warnings
    assert "blocked in its driver" in warnings[0]
    assert "within 0 s" not in warnings[0]


def test_dark_gap_of_live_video_becomes_unknown(models_dir):
    # The slideshow's first photo (frames 0-59) is followed by 15 identical
    # near-black frames (60-74). Served live, those repeats are classified
    # and the stable label leaves the photo's class.
    video = require_fixture("videos", "slideshow_640x480_30fps.mp4")
    camera = VideoCamera(video, max_frames=80)
    classifier = Classifier(models_dir / "mobilenet_v2_1.0_224_quant.tflite",
                            labels=models_dir / "imagenet_labels.txt", num_threads=2)
    settings = LoopSettings(stats_interval=0, recovery=RecoverySettings(stall_timeout=2.0, max_reopen=0))
    with Pipeline(classifier, camera, smoothing=SmoothingSettings(), settings=settings) as pipeline:
        results = []
        for result in pipeline:
            results.append(result)
            if camera.delivered >= 80 and result.frame_number >= 75:
                break
    in_gap = [r for r in results if 62 <= r.frame_number <= 74]
    assert len(in_gap) >= 6, [r.frame_number for r in results]
    assert any(r.stable_label == "macaw" for r in results if r.frame_number < 60)
    assert in_gap[-1].stable_label == UNKNOWN

