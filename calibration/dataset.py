"""Representative data for full-integer quantization, from a folder of images.

The converter measures the range of every activation on these images, so
they must look like what the camera will see and go through the runtime's
own preprocessing (:func:`lince.runtime.preprocess.prepare_image`).
"""

import logging
import random
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, List

import numpy as np

from lince.runtime.errors import ImageDecodeError, LinceError, _
from lince.runtime.image_io import is_image_path, read_image
from lince.runtime.preprocess import Preprocessing, prepare_image

logger = logging.getLogger(__name__)

DEFAULT_COUNT = 200
MAX_COUNT = 1000
# Below this many images activation ranges are noticeably less reliable.
MIN_RECOMMENDED = 50


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
        groups[path.parent.relative_to(root)].append(path)
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


def load_calibration_images(folder, preprocessing: Preprocessing, count: int = DEFAULT_COUNT,
                            seed: int = 0) -> CalibrationSet:
    """Read up to ``count`` images below ``folder`` and prepare them for the model.

    Raises:
        LinceError: the folder is missing or holds no decodable image.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise LinceError(_("calibration folder {path} not found").format(path=folder))
    count = min(count, MAX_COUNT)
    candidates = list_images(folder)
    chosen = sample_balanced(candidates, folder, count, seed)
    images, files, skipped = [], [], {}
    for path in chosen:
        try:
            frame = read_image(path)
        except ImageDecodeError as error:
            logger.warning("Skipping %s", error)
            skipped[path] = str(error)
            continue
        images.append(prepare_image(frame, preprocessing))
        files.append(path)

    if not images:
        others = sum(1 for path in folder.rglob("*") if path.is_file()) - len(candidates)
        raise LinceError(
            _("calibration folder {path} holds no readable images ({found} image files, {skipped} unreadable, "
              "{others} other files); give a folder of JPEG or PNG photos from your camera").format(
                path=folder, found=len(candidates), skipped=len(skipped), others=others))
    if len(images) < MIN_RECOMMENDED:
        logger.warning("Calibrating on %d images; %d or more give more reliable int8 ranges",
                       len(images), MIN_RECOMMENDED)
    return CalibrationSet(np.stack(images), files, skipped)
