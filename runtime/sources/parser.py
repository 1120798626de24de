"""Decide what a ``--source`` string names: one parser for every kind of source.

The rules, in order:

1. a scheme registered with :func:`register_source` (``name://...``);
2. ``picamera2`` or ``picamera2:N``: the Raspberry Pi camera number N;
3. an integer: an OpenCV camera index (V4L2 on Linux);
4. a path under ``/dev/``: a V4L2 device such as ``/dev/video0``;
5. ``gst:PIPELINE``, or text containing `` ! ``: a GStreamer pipeline;
6. ``rtsp://``, ``rtsps://``, ``rtmp://``, ``http://``, ``https://``: a network stream;
7. an existing folder: the images in it, in name order;
8. an existing file: a video file.
"""

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict

from lince.runtime.errors import SourceError, _

CAMERA = "camera"
DEVICE = "device"
PICAMERA2 = "picamera2"
GSTREAMER = "gstreamer"
STREAM = "stream"
VIDEO = "video"
FOLDER = "folder"

STREAM_SCHEMES = ("rtsp://", "rtsps://", "rtmp://", "http://", "https://")
_PICAMERA2 = re.compile(r"^picamera2(?::(\d+))?$", re.IGNORECASE)
_SCHEME = re.compile(r"^([a-z][a-z0-9+.-]*)://", re.IGNORECASE)

# Scheme -> factory(spec, settings) returning a FrameSource. Lets a program
# plug in its own camera driver (or a stand-in camera) under its own name.
_REGISTERED: Dict[str, Callable] = {}


@dataclass(frozen=True)
class SourceSpec:
    """A parsed ``--source``: its kind and the value to open.

    Attributes:
        kind: one of ``camera``, ``device``, ``picamera2``, ``gstreamer``,
            ``stream``, ``video``, ``folder`` or a registered scheme.
        target: the camera number, path, pipeline or URL.
        text: the string the user gave.
    """

    kind: str
    target: object
    text: str


def register_source(scheme: str, factory: Callable) -> None:
    """Make ``scheme://...`` sources open through ``factory(spec, settings)``."""
    _REGISTERED[scheme.lower()] = factory


def unregister_source(scheme: str) -> None:
    """Remove a scheme added with :func:`register_source`."""
    _REGISTERED.pop(scheme.lower(), None)


def registered_factory(kind: str):
    """Return the factory registered for ``kind``, or ``None``."""
    return _REGISTERED.get(kind)


def parse_source(text) -> SourceSpec:
    """Return the :class:`SourceSpec` that ``text`` names.

    Raises:
        SourceError: ``text`` matches no known kind. The message lists
            every kind that was tried.
    """
    if isinstance(text, int):
        return SourceSpec(CAMERA, text, str(text))
    text = str(text).strip()
    if not text:
        raise SourceError(_("--source is empty: give a camera index (0), a video file, a folder or a stream URL"))

    scheme = _SCHEME.match(text)
    if scheme and scheme.group(1).lower() in _REGISTERED:
        return SourceSpec(scheme.group(1).lower(), text[scheme.end():], text)
    picamera = _PICAMERA2.match(text)
    if picamera:
        return SourceSpec(PICAMERA2, int(picamera.group(1) or 0), text)
    if re.fullmatch(r"\d+", text):
        return SourceSpec(CAMERA, int(text), text)
    if text.startswith("/dev/"):
        return SourceSpec(DEVICE, text, text)
    if text.lower().startswith("gst:"):
        return SourceSpec(GSTREAMER, text[4:].strip(), text)
    if " ! " in text:
        return SourceSpec(GSTREAMER, text, text)
    if text.lower().startswith(STREAM_SCHEMES):
        return SourceSpec(STREAM, text, text)

    path = Path(text).expanduser()
    if path.is_dir():
        return SourceSpec(FOLDER, path, text)
    if path.is_file():
        return SourceSpec(VIDEO, path, text)
    if scheme:
        # "rtps://..." is a mistyped URL far more often than a file name.
        known = [s[:-3] for s in STREAM_SCHEMES] + sorted(_REGISTERED)
        raise SourceError(_("--source {source!r}: unknown URL scheme {scheme!r}; use one of {known}").format(
            source=text, scheme=scheme.group(1), known=", ".join(f"{name}://" for name in known)))
    raise SourceError(_(
        "--source {source!r}: not a camera index (0, 1, ...), a device (/dev/video0), 'picamera2', "
        "a GStreamer pipeline ('... ! appsink'), an RTSP/HTTP URL, a video file or a folder of images "
        "(no file or folder of that name exists)").format(source=text))
