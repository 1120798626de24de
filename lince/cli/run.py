"""``lince run``: the live camera loop on a robot, from the command line."""

from pathlib import Path

import click

from lince.i18n import _
from lince.runtime.errors import LinceError

# The help of --source lists every kind the parser accepts.
SOURCE_HELP = _("Where frames come from: a camera index (0), a device (/dev/video0), picamera2[:N] for the "
                "Raspberry Pi camera, a GStreamer pipeline ending in appsink, an RTSP/HTTP URL, a video file "
                "or a folder of images.")


def _parse_roi(ctx, param, value):
    if value is None:
        return None
    from lince.runtime.pipeline import parse_roi
    try:
        return parse_roi(value)
    except LinceError as error:
        raise click.BadParameter(str(error)) from None


def _parse_size(ctx, param, value):
    if value is None:
        return None
    parts = value.lower().split("x")
    if len(parts) != 2 or not all(p.isdigit() and int(p) > 0 for p in parts):
        raise click.BadParameter(_("{value!r}: give WIDTHxHEIGHT in pixels, e.g. 640x480").format(value=value))
    return int(parts[0]), int(parts[1])


@click.command(help=_("Classify live frames from a camera, stream, video file or folder with a TFLite MODEL. "
                      "Stops at the end of a file, after --frames or --duration, or on Ctrl+C."))
@click.argument("model", type=click.Path(path_type=Path))
@click.option("-s", "--source", required=True, help=SOURCE_HELP)
@click.option("--labels", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help=_("Label file, one class name per line (default: the labels inside the model)."))
@click.option("--threads", type=click.IntRange(1, 64), help=_("Interpreter threads (default: the CPU count)."))
@click.option("--frames", "max_frames", type=click.IntRange(1), help=_("Stop after classifying N frames."))
@click.option("--duration", type=click.FloatRange(0, min_open=True), help=_("Stop after S seconds."))
@click.option("--realtime/--no-realtime", default=True, show_default=True,
              help=_("Play video files and folders at their frame rate, like a camera; --no-realtime "
                     "classifies every frame as fast as possible."))
@click.option("--crop", type=click.Choice(["center", "none"]),
              help=_("Override the model's crop: centre crop to the model's aspect ratio, or resize the whole "
                     "frame (default: the crop in the model's metadata)."))
@click.option("--roi", callback=_parse_roi, metavar="X,Y,W,H",
              help=_("Classify only this region of the frame, in pixels."))
@click.option("-k", "--top-k", default=3, show_default=True, type=click.IntRange(1, 100),
              help=_("Number of classes in each result."))
@click.option("--smoothing", default=0.5, show_default=True, type=click.FloatRange(0, 1, min_open=True),
              help=_("Weight of the newest frame in the moving average of probabilities (1: no averaging)."))
@click.option("--hysteresis", default=2, show_default=True, type=click.IntRange(1),
              help=_("Frames in a row a new label must lead before the stable label changes."))
@click.option("--threshold", default=0.3, show_default=True, type=click.FloatRange(0, 1),
              help=_("Averaged probability below which the stable label is 'unknown'."))
@click.option("--no-smoothing", is_flag=True,
              help=_("Report each frame's own top class: same as --smoothing 1 --hysteresis 1 --threshold 0."))
@click.option("--window/--no-window", default=None,
              help=_("Show the frames with their label in a window (default: when a display exists)."))
@click.option("--record", type=click.Path(dir_okay=False, path_type=Path),
              help=_("Write the annotated frames to this .mp4, .avi or .mkv file."))
@click.option("--overwrite", is_flag=True, help=_("Replace the --record file if it exists."))
@click.option("--print", "print_mode", type=click.Choice(["changes", "all", "none"]), default="changes",
              show_default=True, help=_("Which results to print: changes of the stable label, all, or none."))
@click.option("--stats-interval", default=5.0, show_default=True, type=click.FloatRange(0),
              help=_("Seconds between statistics lines (0: only the summary)."))
@click.option("--output", "outputs", multiple=True, metavar="SPEC",
              help=_("Send results to stdout, udp://HOST:PORT, serial:///dev/ttyUSB0?baud=115200, "
                     "mqtt://HOST:PORT/TOPIC or http://127.0.0.1:8080 (preview page); repeatable. "
                     "When stdout is not a terminal the default is stdout (JSON lines)."))
@click.option("--on-change", is_flag=True, help=_("Send a result to the outputs only when the stable label changes."))
@click.option("--rate", type=click.FloatRange(0, min_open=True),
              help=_("Send at most this many results per second to the outputs."))
@click.option("--camera-size", callback=_parse_size, metavar="WxH",
              help=_("Frame size to request from a camera, e.g. 640x480."))
@click.option("--camera-fps", type=click.FloatRange(0, min_open=True), help=_("Frame rate to request from a camera."))
@click.option("--stall-timeout", default=2.0, show_default=True, type=click.FloatRange(0),
              help=_("Seconds without a new image (no frame, or the same one again) before a camera is "
                     "reopened; 0 turns the frozen-image check off."))
@click.option("--max-reopen", default=5, show_default=True, type=click.IntRange(0),
              help=_("Failed attempts in a row to reopen a lost camera before the run ends with an error."))
def run(model, source, **options):
    from lince.cli.run_loop import RunOptions, run_loop

    run_loop(model, source, RunOptions(**options))
