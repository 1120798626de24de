"""Save frames from the deployment camera (or a recording of it) as calibration images."""

import logging
from pathlib import Path

import cv2
from tqdm import tqdm

from lince.runtime.atomic import write_bytes_atomic
from lince.runtime.errors import LinceError, SourceError, _
from lince.runtime.image_io import is_image_path

logger = logging.getLogger(__name__)

# A live camera may drop a few frames; give up after this many failed reads in a row.
MAX_FAILED_READS = 30
JPEG_QUALITY = 95


def capture_frames(source, out_dir, count: int, every: int = 1, overwrite: bool = False) -> int:
    """Save ``count`` frames of ``source`` (a ``--source`` string) as JPEG files; return how many were saved.

    Stops after ``count`` frames, or earlier when a video file ends.
    """
    from lince.runtime.sources import make_source

    out_dir = Path(out_dir)
    if out_dir.exists() and any(is_image_path(path) for path in out_dir.iterdir()) and not overwrite:
        raise LinceError(_("{path} already holds images; choose an empty folder or pass --overwrite").format(
            path=out_dir))
    frames = make_source(source)
    frames.open()
    # Created only once the source is open, so a bad --source leaves no empty folder behind.
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError:
        frames.close()
        raise
    saved, seen, failures = 0, 0, 0
    try:
        with tqdm(total=count, desc="frames", unit="frame", disable=None, leave=False) as progress:
            while saved < count:
                frame = frames.read()
                if frame is None:
                    if not frames.live:
                        break
                    failures += 1
                    if failures >= MAX_FAILED_READS:
                        raise SourceError(_("{source}: {count} reads in a row failed").format(
                            source=source, count=failures))
                    continue
                failures = 0
                seen += 1
                if (seen - 1) % every:
                    continue
                _save(frame, out_dir / f"frame_{saved:05d}.jpg")
                saved += 1
                progress.update(1)
    finally:
        frames.close()
    logger.info("Saved %d frames from %s to %s", saved, source, out_dir)
    return saved


def _save(frame, path: Path) -> None:
    ok, encoded = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        raise LinceError(_("{path}: cannot encode the frame as JPEG").format(path=path))
    write_bytes_atomic(path, encoded.tobytes())
