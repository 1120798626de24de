"""Write output files atomically: a reader sees the old file or the new one.

A half-written ``.tflite`` or report must never exist, even when the process
is killed mid-write: the data goes to a temporary file in the same folder,
is flushed to disk, then renamed over the destination in one step.
"""

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path

from lince.runtime.errors import LinceError, _


def check_writable(path, overwrite: bool) -> Path:
    """Reject ``path`` if it exists and ``overwrite`` is false; return it as a Path."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise LinceError(_("{path} already exists; pass --overwrite to replace it").format(path=path))
    if path.is_dir():
        raise LinceError(_("{path} is a folder; give a file name").format(path=path))
    return path


@contextmanager
def atomic_path(path):
    """Yield a temporary path next to ``path``; on success rename it to ``path``.

    On an exception the temporary file is removed and ``path`` is untouched.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent)
    os.close(handle)
    temporary = Path(temporary)
    # mkstemp creates the file private (0600); give it the mode of an ordinary new file.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(temporary, 0o666 & ~umask)
    try:
        yield temporary
        with open(temporary, "rb+") as file:
            os.fsync(file.fileno())
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


def write_bytes_atomic(path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically."""
    with atomic_path(path) as temporary:
        temporary.write_bytes(data)


def write_text_atomic(path, text: str) -> None:
    """Write UTF-8 ``text`` to ``path`` atomically."""
    write_bytes_atomic(path, text.encode("utf-8"))
