"""``lince calibration``: collect representative images for quantization."""

import logging
from pathlib import Path

import click

from lince.i18n import _

logger = logging.getLogger(__name__)


@click.group(help=_("Collect calibration images for int8 export."))
def calibration():
    pass


@calibration.command(help=_("Save COUNT frames from a camera or video (--source) into OUT_DIR, to calibrate "
                            "int8 export on what the robot really sees."))
@click.argument("out_dir", type=click.Path(file_okay=False, path_type=Path))
@click.option("--source", required=True,
              help=_("Camera index (0), /dev/videoN, video file, stream URL or picamera2."))
@click.option("--count", type=click.IntRange(1, 1000), default=300, show_default=True,
              help=_("Number of frames to save."))
@click.option("--every", type=click.IntRange(1, 10000), default=1, show_default=True,
              help=_("Keep one frame in this many, so the saved frames span more time."))
@click.option("--overwrite", is_flag=True, help=_("Write into OUT_DIR even if it already holds images."))
def capture(out_dir, source, count, every, overwrite):
    from lince.calibration.capture import capture_frames

    written = capture_frames(source, out_dir, count, every=every, overwrite=overwrite)
    click.echo(_("Saved {count} frames to {path}").format(count=written, path=out_dir))
    if written < count:
        click.echo(_("The source ended after {written} of {count} frames").format(written=written, count=count),
                   err=True)

