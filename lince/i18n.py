"""Messages of the command line in the user's language (English or Spanish).

lince's catalogs live in ``lince/locale`` under the gettext domain ``lince``.
:func:`setup_language` makes it the process's default domain, so click's own
texts ("Usage:", "Show this message and exit.") are looked up in the same
catalog. The language is ``LINCE_LANG`` if set, else gettext's usual order:
``LANGUAGE``, ``LC_ALL``, ``LC_MESSAGES``, ``LANG``.
"""

import gettext
import os
from pathlib import Path

DOMAIN = "lince"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"


def setup_language() -> None:
    """Bind the ``lince`` domain to its catalogs and make it the default one."""
    chosen = os.environ.get("LINCE_LANG")
    if chosen:
        # gettext's module-level functions, which click calls, take the
        # language from the environment only; LANGUAGE is read first.
        os.environ["LANGUAGE"] = chosen
    gettext.bindtextdomain(DOMAIN, str(LOCALE_DIR))
    gettext.textdomain(DOMAIN)


def _(message: str) -> str:
    """Translate ``message`` into the user's language."""
    return gettext.dgettext(DOMAIN, message)


def ngettext(singular: str, plural: str, count: int) -> str:
    """Translate a message that depends on ``count``."""
    return gettext.dngettext(DOMAIN, singular, plural, count)
