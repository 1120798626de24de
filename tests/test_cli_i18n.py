"""The command line speaks English and Spanish, chosen from the locale."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
LOCALE = REPO / "lince" / "locale"
# Folders whose user-facing strings go through the lince gettext domain.
SOURCE_FOLDERS = ("lince", "runtime", "export", "calibration", "models")


def _cli(*args, **env_vars):
    env = {**os.environ, "LANG": "C", "LANGUAGE": "", "LC_ALL": "", "LC_MESSAGES": "", "LINCE_LANG": ""}
    env.update(env_vars)
    return subprocess.run([sys.executable, "-m", "lince", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=120)


def test_help_in_english():
    result = _cli("--help")
    assert result.returncode == 0
    assert "Usage:" in result.stdout
    assert "Show this message and exit." in result.stdout


@pytest.mark.parametrize("variable, value", [
    ("LANG", "es_ES.UTF-8"),
    ("LC_ALL", "es_AR.UTF-8"),
    ("LC_MESSAGES", "es_MX.UTF-8"),
    ("LINCE_LANG", "es"),
])
def test_help_in_spanish(variable, value):
    result = _cli("--help", **{variable: value})
    assert result.returncode == 0
    assert "Uso:" in result.stdout
    assert "Muestra este mensaje y sale." in result.stdout
    assert "Show this message" not in result.stdout


def test_lince_lang_overrides_locale():
    result = _cli("--help", LANG="es_ES.UTF-8", LINCE_LANG="en")
    assert "Usage:" in result.stdout


@pytest.mark.parametrize("language, expected", [
    ("en", "model file not found"),
    ("es", "archivo de modelo no encontrado"),
])
def test_error_message_language(tmp_path, language, expected):
    result = _cli("classify", tmp_path / "nope.tflite", tmp_path / "x.jpg", LINCE_LANG=language)
    assert result.returncode == 1
    assert expected in result.stderr


def test_missing_argument_in_spanish():
    result = _cli("classify", LINCE_LANG="es")
    assert result.returncode == 2
    assert "Falta el argumento 'MODEL'" in result.stderr


def _catalog():
    from babel.messages.pofile import read_po

    with open(LOCALE / "es" / "LC_MESSAGES" / "lince.po", "rb") as file:
        return read_po(file, locale="es")


def test_every_message_has_spanish():
    from babel.messages.extract import extract_from_dir

    catalog = _catalog()
    missing = []
    for folder in SOURCE_FOLDERS:
        for filename, _line, message, _comments, _context in extract_from_dir(
                REPO / folder, keywords={"_": None, "ngettext": (1, 2)}, comment_tags=()):
            msgid = message if isinstance(message, str) else message[0]
            entry = catalog.get(msgid)
            if entry is None or not entry.string or entry.fuzzy:
                missing.append(f"{folder}/{filename}: {msgid!r}")
    assert missing == []


def test_placeholders_match():
    import string

    formatter = string.Formatter()
    mismatched = []
    for message in _catalog():
        if not message.id or not message.string:
            continue
        ids = message.id if isinstance(message.id, tuple) else (message.id,)
        strings = message.string if isinstance(message.string, tuple) else (message.string,)
        for index, text in enumerate(strings):
            source = ids[min(index, len(ids) - 1)]
            expected = {field for _t, field, _s, _c in formatter.parse(source) if field}
            found = {field for _t, field, _s, _c in formatter.parse(text) if field}
            if found - expected:
                mismatched.append((source, text))
    assert mismatched == []


def test_compiled_catalog_is_current():
    """The committed .mo holds exactly the .po's translations (run `make i18n` after editing)."""
    import gettext

    with open(LOCALE / "es" / "LC_MESSAGES" / "lince.mo", "rb") as file:
        compiled = gettext.GNUTranslations(file)
    stale = []
    for message in _catalog():
        if not message.id or isinstance(message.id, tuple) or not message.string or message.fuzzy:
            continue
        if compiled.gettext(message.id) != message.string:
            stale.append(message.id)
    assert stale == []
