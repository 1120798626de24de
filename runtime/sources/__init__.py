"""Frame sources: cameras, the Raspberry Pi camera, streams, pipelines, files, folders.

:func:`make_source` turns a ``--source`` string into a :class:`FrameSource`
(not yet opened); :func:`parse_source` decides which kind it names.
"""

from lince.runtime.errors import SourceError, _
from lince.runtime.sources.base import FrameSource, SourceSettings
from lince.runtime.sources.folder import ImageFolderSource
from lince.runtime.sources.opencv import (
    OpenCVSource,
    camera_source,
    gstreamer_source,
    stream_source,
    video_file_source,
)
from lince.runtime.sources.parser import (
    CAMERA,
    DEVICE,
    FOLDER,
    GSTREAMER,
    PICAMERA2,
    STREAM,
    VIDEO,
    SourceSpec,
    parse_source,
    register_source,
    registered_factory,
    unregister_source,
)
from lince.runtime.sources.picamera import Picamera2Source, picamera2_source

_FACTORIES = {
    CAMERA: camera_source,
    DEVICE: camera_source,
    PICAMERA2: picamera2_source,
    GSTREAMER: gstreamer_source,
    STREAM: stream_source,
    VIDEO: video_file_source,
    FOLDER: lambda spec, settings: ImageFolderSource(spec.target, settings),
}


def make_source(source, settings: SourceSettings = SourceSettings()) -> FrameSource:
    """Return the unopened :class:`FrameSource` for ``source``.

    ``source`` is a ``--source`` string, a camera index, a :class:`SourceSpec`
    or already a :class:`FrameSource` (returned as is).
    """
    if isinstance(source, FrameSource):
        return source
    spec = source if isinstance(source, SourceSpec) else parse_source(source)
    factory = registered_factory(spec.kind) or _FACTORIES.get(spec.kind)
    if factory is None:
        raise SourceError(_("--source {source!r}: no reader for sources of kind {kind!r}").format(
            source=spec.text, kind=spec.kind))
    return factory(spec, settings)


__all__ = [
    "FrameSource",
    "ImageFolderSource",
    "OpenCVSource",
    "Picamera2Source",
    "SourceSettings",
    "SourceSpec",
    "make_source",
    "parse_source",
    "register_source",
    "unregister_source",
]
