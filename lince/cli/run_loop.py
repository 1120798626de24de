"""The body of ``lince run``, from parsed options to exit.

Builds the pipeline, opens the outputs, window and recording, runs the loop
with SIGINT and SIGTERM turned into a clean stop, and prints results and
statistics for a person (on stderr when stdout carries JSON lines).
"""

import logging
import math
import os
import signal
import sys
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Tuple

import click

from lince.i18n import _
from lince.runtime.capture import RecoverySettings
from lince.runtime.errors import LinceError, SourceError
from lince.runtime.overlay import VideoRecorder, Window, draw_overlay
from lince.runtime.pipeline import LoopSettings, Pipeline
from lince.runtime.smoothing import NO_SMOOTHING, SmoothingSettings
from lince.runtime.sources import SourceSettings

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunOptions:
    """The options of ``lince run``, as click parsed them (see its --help)."""

    labels: Optional[Path] = None
    threads: Optional[int] = None
    max_frames: Optional[int] = None
    duration: Optional[float] = None
    realtime: bool = True
    crop: Optional[str] = None
    roi: Optional[Tuple[int, int, int, int]] = None
    top_k: int = 3
    smoothing: float = 0.5
    hysteresis: int = 2
    threshold: float = 0.3
    no_smoothing: bool = False
    window: Optional[bool] = None
    record: Optional[Path] = None
    overwrite: bool = False
    print_mode: str = "changes"
    stats_interval: float = 5.0
    outputs: Tuple[str, ...] = ()
    on_change: bool = False
    rate: Optional[float] = None
    camera_size: Optional[Tuple[int, int]] = None
    camera_fps: Optional[float] = None
    stall_timeout: float = 2.0
    max_reopen: int = 5


def build_pipeline(model: Path, source: str, options: RunOptions) -> Pipeline:
    """Return the pipeline that ``options`` describe (model loaded, source not yet opened)."""
    smoothing = NO_SMOOTHING if options.no_smoothing else SmoothingSettings(
        options.smoothing, options.hysteresis, options.threshold)
    settings = LoopSettings(
        realtime=options.realtime,
        max_frames=options.max_frames,
        duration=options.duration,
        stats_interval=options.stats_interval,
        top_k=options.top_k,
        source=SourceSettings(size=options.camera_size, fps=options.camera_fps),
        recovery=RecoverySettings(stall_timeout=options.stall_timeout, max_reopen=options.max_reopen),
    )
    return Pipeline(model, source, labels=options.labels, num_threads=options.threads, smoothing=smoothing,
                    crop=options.crop, roi=options.roi, settings=settings)


def open_result_outputs(options: RunOptions, stdout_is_terminal: bool):
    """Open the ``--output`` channels, or ``stdout`` when stdout is a pipe; return None when there are none."""
    specs = list(options.outputs)
    if not specs and not stdout_is_terminal:
        specs = ["stdout"]
    if not specs:
        if options.on_change or options.rate is not None:
            raise click.UsageError(_("--on-change and --rate apply to outputs: add --output SPEC"))
        return None
    # Imported here: the outputs pull in their own libraries (MQTT, serial).
    from lince.runtime.outputs import open_outputs
    return open_outputs(specs, on_change=options.on_change, rate_hz=options.rate)


class Reporter:
    """Prints results and statistics for a person reading the terminal.

    When the reader of stdout closes it (``lince run ... | head``), results
    are no longer printed; statistics and the summary go to stderr, and the
    loop and the other outputs go on.
    """

    def __init__(self, print_mode: str, err: bool):
        self.print_mode = print_mode
        self.err = err
        self.stdout_closed = False

    def echo(self, text: str, essential: bool = True) -> None:
        """Print ``text``; after stdout closed, only ``essential`` text is printed (on stderr)."""
        if self.err or self.stdout_closed:
            if essential or self.err:
                click.echo(text, err=True)
            return
        try:
            click.echo(text)
        except BrokenPipeError:
            self._stdout_gone()
            if essential:
                click.echo(text, err=True)

    def _stdout_gone(self) -> None:
        self.stdout_closed = True
        _discard_stdout()
        click.echo(_("stdout was closed by its reader: results are no longer printed; "
                     "the loop and the other outputs go on."), err=True)

    def started(self, pipeline: Pipeline) -> None:
        classifier = pipeline.classifier
        self.echo(_("Classifying {source} with {model} ({threads} threads, {mode}); Ctrl+C stops.").format(
            source=pipeline.source.description, model=classifier.model_path.name, threads=classifier.num_threads,
            mode=_("real time") if pipeline.settings.realtime or pipeline.source.live else _("every frame")))

    def result(self, result) -> None:
        if self.print_mode == "none" or (self.print_mode == "changes" and not result.changed):
            return
        line = _("frame {number}: {label} ({score:.2f})").format(
            number=result.frame_number, label=result.stable_label, score=result.stable_score)
        if self.print_mode == "all":
            line += "  " + _("[this frame: {label} ({score:.2f}), {inference:.1f} ms, age {age:.0f} ms]").format(
                label=result.label, score=result.score, inference=result.inference_ms, age=result.frame_age_ms)
        self.echo(line, essential=False)

    def stats(self, report) -> None:
        self.echo(_("{fps:.1f} fps | {steps} | dropped {dropped} | reopened {reopened}").format(
            fps=report.fps, steps=_format_steps(report), dropped=report.dropped, reopened=report.reopened))

    def summary(self, report, reason: str) -> None:
        self.echo(_("Summary: {frames} frames in {seconds:.1f} s ({fps:.1f} fps), {reason}.").format(
            frames=report.frames, seconds=report.seconds, fps=report.fps, reason=reason))
        self.echo("  " + _format_steps(report))
        self.echo("  " + _("dropped {dropped} stale camera frames, reopened the source {reopened} times").format(
            dropped=report.dropped, reopened=report.reopened))


def _discard_stdout() -> None:
    """Point stdout at the null device, so that text still buffered for it is dropped at exit.

    Without this, Python's final flush of the closed pipe fails, and the
    process ends with an error although the run went well.
    """
    try:
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, sys.stdout.fileno())
        os.close(null)
    except (OSError, ValueError, AttributeError):
        # Not a real file (a test runner's buffer): nothing is flushed at exit.
        pass


def _format_steps(report) -> str:
    names = {"capture": _("capture"), "preprocess": _("preprocess"), "inference": _("inference"), "age": _("age")}
    parts = []
    for step, (p50, p95) in report.percentiles.items():
        if math.isnan(p50):
            continue
        parts.append(_("{step} p50 {p50:.2f} p95 {p95:.2f} ms").format(step=names[step], p50=p50, p95=p95))
    return ", ".join(parts) or _("no frames")


@contextmanager
def stop_on_signals(pipeline: Pipeline):
    """Turn SIGINT and SIGTERM into a clean stop of ``pipeline``; a second SIGINT interrupts at once."""
    received = []

    def handle(signum, frame):
        if received and signum == signal.SIGINT:
            raise KeyboardInterrupt
        received.append(signum)
        pipeline.stop()

    previous = {}
    for signum in (signal.SIGINT, signal.SIGTERM):
        previous[signum] = signal.signal(signum, handle)
    try:
        yield received
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def run_loop(model: Path, source: str, options: RunOptions) -> None:
    """Run ``lince run``; raise LinceError (exit 1) when the source is lost for good."""
    stdout_is_terminal = sys.stdout.isatty()
    pipeline = build_pipeline(model, source, options)
    with ExitStack() as stack:
        outputs = open_result_outputs(options, stdout_is_terminal)
        if outputs is not None:
            stack.callback(outputs.close)
        json_on_stdout = outputs is not None and any(sink.name == "stdout" for sink in outputs.sinks)
        reporter = Reporter(options.print_mode, err=json_on_stdout)

        # The recording file is checked before the camera opens.
        recorder = VideoRecorder(options.record, 30.0, options.overwrite) if options.record else None
        pipeline.start()
        stack.callback(pipeline.close)
        if recorder is not None:
            # Limitation: the file plays at the source's nominal rate, so a run
            # that drops frames (a model slower than the camera) plays back faster.
            recorder.fps = pipeline.source_fps or 30.0
            stack.callback(recorder.close)
        window = _open_window(options.window)
        if window is not None:
            stack.callback(window.close)

        pipeline.on_stats(reporter.stats)
        reporter.started(pipeline)
        reason, failure = _drive(pipeline, reporter, outputs, recorder, window, options.roi)
        pipeline.close()
        reporter.summary(pipeline.summary(), reason)
    if failure is not None:
        raise failure


def _open_window(requested: Optional[bool]) -> Optional[Window]:
    if requested is False:
        return None
    if Window.display_available():
        return Window("lince")
    if requested:
        raise LinceError(_("--window: no display available (DISPLAY is not set, or OpenCV has no GUI "
                           "support, as in opencv-python-headless); use --record OUT.mp4 instead"))
    return None


def _drive(pipeline, reporter, outputs, recorder, window, roi):
    """Run the frame loop; return (why it ended, the SourceError that ended it or None)."""
    preview_needed = outputs is not None and any(getattr(s, "wants_frames", False) for s in outputs.sinks)
    meter = FpsMeter()
    window_closed = False
    with stop_on_signals(pipeline) as signals:
        try:
            for result, frame in pipeline.frames():
                reporter.result(result)
                annotated = None
                if window is not None or recorder is not None or preview_needed:
                    annotated = draw_overlay(frame, result, meter.update(result.capture_time), roi)
                if outputs is not None:
                    outputs.publish(result, annotated if annotated is not None else frame)
                if recorder is not None:
                    recorder.write(annotated)
                if window is not None and not window.show(annotated):
                    window_closed = True
                    pipeline.stop()
        except SourceError as error:
            return _("the source was lost"), error
    if signals:
        return _("stopped by {signal}").format(signal=signal.Signals(signals[0]).name), None
    if window_closed:
        return _("window closed"), None
    return _("finished"), None


class FpsMeter:
    """A steady frame rate for the overlay: a moving average of the rate between frames."""

    def __init__(self):
        self.fps = 0.0
        self._last: Optional[float] = None

    def update(self, timestamp: float) -> float:
        last, self._last = self._last, timestamp
        if last is not None and timestamp > last:
            current = 1.0 / (timestamp - last)
            self.fps = current if self.fps == 0.0 else 0.9 * self.fps + 0.1 * current
        return self.fps
