"""The Raspberry Pi camera (CSI) through ``picamera2``, the only way to reach it
on current Raspberry Pi OS (libcamera replaced the old V4L2 driver).

The camera is configured for the ``RGB888`` format. Despite its name, libcamera's
``RGB888`` stores each pixel's bytes in B, G, R order, so ``capture_array``
returns exactly the BGR layout that OpenCV uses and no conversion is needed.

``picamera2`` is installed on Raspberry Pi OS with ``apt install
python3-picamera2`` (create the virtual environment with
``--system-site-packages`` to see it); it is not on PyPI for other machines.
lince's tests run this adapter against a stand-in module that follows the
``picamera2`` API, since no camera exists on the test machines.
"""

import importlib
import logging
from typing import Optional

import numpy as np

from lince.runtime.errors import MissingDependencyError, SourceError, _
from lince.runtime.sources.base import FrameSource, SourceSettings

logger = logging.getLogger(__name__)

DEFAULT_SIZE = (640, 480)


class Picamera2Source(FrameSource):
    """A Raspberry Pi camera read with ``picamera2`` in the ``RGB888`` (BGR bytes) format.

    Args:
        camera_num: which camera, 0 for the first.
        settings: frame ``size`` (default 640x480) and ``fps``.
    """

    live = True

    def __init__(self, camera_num: int = 0, settings: SourceSettings = SourceSettings()):
        self.camera_num = camera_num
        self.settings = settings
        self.description = _("Raspberry Pi camera {index}").format(index=camera_num)
        self.hint = _("Check the camera and its ribbon cable (rpicam-hello --list-cameras lists it).")
        self._camera = None

    def open(self) -> None:
        self.close()
        module = _import_picamera2()
        size = tuple(self.settings.size or DEFAULT_SIZE)
        controls = {"FrameRate": float(self.settings.fps)} if self.settings.fps else {}
        camera = None
        try:
            camera = module.Picamera2(self.camera_num)
            config = camera.create_video_configuration(main={"format": "RGB888", "size": size}, controls=controls)
            camera.configure(config)
            camera.start()
        except Exception as error:  # picamera2 raises RuntimeError, IndexError and libcamera errors
            if camera is not None:
                _close_quietly(camera)
            raise SourceError(_("{source}: cannot start it through picamera2 ({reason}). Check the ribbon cable "
                                "and that 'rpicam-hello --list-cameras' lists the camera.")
                              .format(source=self.description, reason=error)) from None
        self._camera = camera
        logger.info("Opened %s at %dx%d", self.description, size[0], size[1])

    def read(self) -> Optional[np.ndarray]:
        if self._camera is None:
            return None
        try:
            frame = self._camera.capture_array("main")
        except Exception as error:  # a camera that went away raises from libcamera
            logger.warning("%s: capture failed: %s", self.description, error)
            return None
        if frame is None or frame.ndim != 3:
            return None
        # RGB888 is already B, G, R; a 4-channel XBGR8888 frame drops its padding byte.
        return frame[:, :, :3] if frame.shape[2] == 4 else frame

    def close(self) -> None:
        if self._camera is not None:
            _close_quietly(self._camera)
            self._camera = None

    @property
    def fps(self) -> Optional[float]:
        return float(self.settings.fps) if self.settings.fps else None


def _import_picamera2():
    try:
        return importlib.import_module("picamera2")
    except ImportError:
        raise MissingDependencyError(_(
            "picamera2 is not installed: on Raspberry Pi OS run 'sudo apt install python3-picamera2' and create "
            "the virtual environment with --system-site-packages")) from None


def _close_quietly(camera) -> None:
    for method in ("stop", "close"):
        try:
            getattr(camera, method)()
        except Exception as error:  # closing a failed camera must not hide the first error
            logger.debug("picamera2 %s failed: %s", method, error)


def picamera2_source(spec, settings: SourceSettings) -> Picamera2Source:
    """Return the source of Raspberry Pi camera ``spec.target``."""
    return Picamera2Source(int(spec.target), settings)
