"""A folder of images read in name order, as if each were a camera frame."""

import logging
from pathlib import Path
from typing import List, Optional

import numpy as np

from lince.runtime.errors import ImageDecodeError, SourceError, _
from lince.runtime.image_io import is_image_path, read_image
from lince.runtime.sources.base import FrameSource, SourceSettings

logger = logging.getLogger(__name__)

DEFAULT_FOLDER_FPS = 30.0


class ImageFolderSource(FrameSource):
    """The images of a folder (not its subfolders), sorted by name.

    An image that cannot be decoded is skipped with a warning, so one bad
    file does not end a long run.
    """

    live = False

    def __init__(self, folder: Path, settings: SourceSettings = SourceSettings()):
        self.folder = Path(folder)
        self.settings = settings
        self.description = str(folder)
        self._paths: List[Path] = []
        self._next = 0

    def open(self) -> None:
        try:
            paths = sorted(p for p in self.folder.iterdir() if p.is_file() and is_image_path(p))
        except OSError as error:
            raise SourceError(_("{folder}: cannot list the folder ({reason})").format(
                folder=self.folder, reason=error.strerror)) from None
        if not paths:
            raise SourceError(_("{folder}: no images found in the folder (.jpg, .png, .bmp, ...)").format(
                folder=self.folder))
        self._paths = paths
        self._next = 0

    def read(self) -> Optional[np.ndarray]:
        while self._next < len(self._paths):
            path = self._paths[self._next]
            self._next += 1
            try:
                return read_image(path)
            except ImageDecodeError as error:
                logger.warning("Skipped %s", error)
        return None

    @property
    def fps(self) -> Optional[float]:
        return float(self.settings.fps or DEFAULT_FOLDER_FPS)
