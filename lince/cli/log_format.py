"""Log records of lince's library code, shown in the user's language.

Library modules log plain English %-style templates. The command line looks
each template up in the ``lince`` gettext catalog before the arguments are
merged, so a Spanish user reads "Aviso: …" where the library wrote
"No label file given …".
"""

import logging

from lince.i18n import _

# Only records of lince's own loggers have their templates in the catalog.
OWN_LOGGER = "lince"


def _is_own(record: logging.LogRecord) -> bool:
    return record.name == OWN_LOGGER or record.name.startswith(OWN_LOGGER + ".")


def translated_message(record: logging.LogRecord) -> str:
    """Return ``record``'s message with its template translated, args merged."""
    if not (_is_own(record) and isinstance(record.msg, str) and record.msg):
        return record.getMessage()
    translated = _(record.msg)
    if translated == record.msg:
        return record.getMessage()
    try:
        return translated % record.args if record.args else translated
    except (TypeError, ValueError, KeyError):
        # A translation whose placeholders do not fit the arguments must not
        # hide the warning: show the English one instead.
        return record.getMessage()


class UserFormatter(logging.Formatter):
    """Formats records for a person at a terminal.

    WARNING and above read "Warning: <message>" (translated); INFO reads as
    the bare message. With ``show_names`` every record keeps its level and
    logger name, which is what a developer wants with -vv.
    """

    def __init__(self, show_names: bool = False):
        super().__init__()
        self.show_names = show_names

    def format(self, record: logging.LogRecord) -> str:
        message = translated_message(record)
        if self.show_names:
            text = "{} {}: {}".format(record.levelname, record.name, message)
        elif record.levelno >= logging.ERROR:
            text = _("Error: {message}").format(message=message)
        elif record.levelno >= logging.WARNING:
            text = _("Warning: {message}").format(message=message)
        else:
            text = message
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            text = text + "\n" + record.exc_text
        if record.stack_info:
            text = text + "\n" + self.formatStack(record.stack_info)
        return text
