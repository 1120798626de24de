"""Exceptions that carry a one-line message meant for the user.

Every part of lince raises a subclass of :class:`LinceError` for bad input, and
the command line prints its message on one line, without a traceback.
"""

from gettext import dgettext, dngettext


def _(message: str) -> str:
    """Translate ``message`` through the ``lince`` gettext domain.

    The command line binds the domain to its catalogs; a program that imports
    the runtime alone gets the English text.
    """
    return dgettext("lince", message)


def ngettext(singular: str, plural: str, count: int) -> str:
    """Translate a message whose wording depends on ``count`` ("1 attempt", "2 attempts")."""
    return dngettext("lince", singular, plural, count)


class LinceError(Exception):
    """Base class of the errors whose message is shown to the user as is."""


class ModelLoadError(LinceError):
    """A model file is missing, unreadable or not a usable TFLite classifier."""


class InferenceError(LinceError):
    """The interpreter failed while running a model."""


class ImageDecodeError(LinceError):
    """An image file could not be read or decoded."""


class SourceError(LinceError):
    """A frame source (camera, video file, folder) could not be opened or read."""


class MissingDependencyError(LinceError):
    """An optional package that a feature needs is not installed."""
