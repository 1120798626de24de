"""Representative data for full-integer quantization, from a folder of images or a video.

The converter measures the range of every activation on these images, so
they must look like what the camera will see and go through the runtime's
own preprocessing (:func:`lince.runtime.preprocess.prepare_image`).
"""

import logging
import random
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterable, Iterator, List, Optional

import numpy as np
from tqdm import tqdm

from lince.runtime.errors import ImageDecodeError, LinceError, _
from lince.runtime.image_io import is_image_path, read_image
from lince.runtime.preprocess import Preprocessing, prepare_image
from lince.calibration.video import VIDEO_SUFFIXES, read_video_frames

logger = logging.getLogger(__name__)

DEFAULT_COUNT = 200
MAX_COUNT = 1000
# Below this many images activation ranges are noticeably less reliable.
MIN_RECOMMENDED = 50
# Reading fewer files than this is quick enough to need no progress bar.
PROGRESS_MIN = 50


@dataclass
class CalibrationSet:
    """Images chosen for calibration, already prepared for the model.

    Attributes:
        images: ``(N, H, W, 3)`` uint8 RGB arrays, as the runtime feeds them.
        files: the file of each image, in the same order.
        skipped: ``{path: reason}`` of the files that could not be decoded.
    """

    images: np.ndarray
    files: List[Path]
    skipped: dict = field(default_factory=dict)

    def batches(self) -> Iterator[List[np.ndarray]]:
        """Yield one float32 ``(1, H, W, 3)`` batch per image, the converter's format."""
        for image in self.images:
            yield [image[np.newaxis].astype(np.float32)]


def list_images(folder: Path) -> List[Path]:
    """Return the image files below ``folder`` (recursive), sorted."""
    return sorted(path for path in folder.rglob("*") if path.is_file() and is_image_path(path))


def sample_balanced(files: List[Path], root: Path, count: int, seed: int = 0) -> List[Path]:
    """Pick up to ``count`` files, taking from each subfolder in turn.

    Class folders of different sizes then weigh the same in calibration.
    """
    groups = defaultdict(list)
    for path in files:
        groups[path.parent].append(path)
    rng = random.Random(seed)
    for group in groups.values():
        rng.shuffle(group)
    chosen = []
    queues = [groups[key] for key in sorted(groups)]
    while len(chosen) < count and any(queues):
        for queue in queues:
            if queue and len(chosen) < count:
                chosen.append(queue.pop())
    return sorted(chosen)


def load_calibration_images(source, preprocessing: Preprocessing, count: int = DEFAULT_COUNT,
                            seed: int = 0, exclude: Iterable[Path] = ()) -> CalibrationSet:
    """Read up to ``count`` images from a folder (recursive) or a video file and prepare them.

    Files in ``exclude`` are not chosen (used to hold out evaluation images).
    Unreadable files are skipped with one warning each and listed in
    ``CalibrationSet.skipped``.

    Raises:
        LinceError: the source is missing, or holds no decodable image.
    """
    source = Path(source)
    count = max(1, min(count, MAX_COUNT))
    if source.is_file() and source.suffix.lower() in VIDEO_SUFFIXES:
        return _from_video(source, preprocessing, count)
    if not source.is_dir():
        raise LinceError(_("calibration source {path} not found: give a folder of images or a video file")
                         .format(path=source))
    excluded = {Path(path) for path in exclude}
    all_images = list_images(source)
    candidates = [path for path in all_images if path not in excluded]
    chosen = sample_balanced(candidates, source, count, seed)
    images, files, skipped = read_prepared_images(chosen, preprocessing)
    if not images:
        # Excluded images are neither candidates nor "other files".
        others = sum(1 for path in source.rglob("*") if path.is_file()) - len(all_images)
        raise LinceError(
            _("calibration folder {path} holds no readable images ({found} image files, {skipped} unreadable, "
              "{others} other files); give a folder of JPEG or PNG photos from your camera").format(
                path=source, found=len(candidates), skipped=len(skipped), others=others))
    _warn_if_few(len(images))
    return CalibrationSet(np.stack(images), files, skipped)


def read_prepared_images(paths: List[Path], preprocessing: Preprocessing):
    """Decode and prepare ``paths``; return ``(images, files, skipped)``, skipping unreadable files."""
    images, files, skipped = [], [], {}
    progress = tqdm(paths, desc="calibration images", unit="img", disable=len(paths) < PROGRESS_MIN or None,
                    leave=False)
    for path in progress:
        try:
            frame = read_image(path)
        except ImageDecodeError as error:
            logger.warning("Skipping %s", error)
            skipped[path] = str(error)
            continue
        images.append(prepare_image(frame, preprocessing))
        files.append(path)
    return images, files, skipped


def _from_video(path: Path, preprocessing: Preprocessing, count: int) -> CalibrationSet:
    frames = read_video_frames(path, count)
    images = [prepare_image(frame, preprocessing) for _index, frame in frames]
    files = [Path(f"{path}#frame={index}") for index, _frame in frames]
    _warn_if_few(len(images))
    return CalibrationSet(np.stack(images), files, {})


def _warn_if_few(count: int, minimum: Optional[int] = None) -> None:
    minimum = minimum or MIN_RECOMMENDED
    if count < minimum:
        logger.warning("Calibrating on %d images; %d or more give more reliable int8 ranges", count, minimum)
