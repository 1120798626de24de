"""With a Spanish locale, no English help text or error message leaks through.

Each language runs in its own process, because lince picks the language when
``lince.cli`` is imported. The process prints the ``--help`` of every command
and subcommand. Every description line of the English help must then be
absent from the Spanish help. test_cli_i18n.py checks the catalog msgid by
msgid, and this test checks the text that a user reads.
"""

import json
import os
import re
import subprocess
import sys

import pytest

# Prints {"lince calibration capture": "<help text>", ...} for every command.
HELP_DUMP = """
import json, sys
import click
from click.testing import CliRunner
from lince.cli import cli

def walk(group, path):
    yield path
    if isinstance(group, click.Group):
        for name in group.list_commands(None):
            yield from walk(group.get_command(None, name), path + [name])

helps = {}
for path in walk(cli, []):
    result = CliRunner().invoke(cli, path + ["--help"])
    helps[" ".join(["lince"] + path)] = (result.exit_code, result.output)
json.dump(helps, sys.stdout)
"""

# Text without letters (numbers, punctuation) reads the same in both languages.
SAME_IN_BOTH = re.compile(r"^[\W\d_]*$")


def _environment(**variables):
    env = {**os.environ, "LANG": "C", "LANGUAGE": "", "LC_ALL": "", "LC_MESSAGES": "", "LINCE_LANG": ""}
    env.update(variables)
    return env


def _help_texts(**variables):
    result = subprocess.run([sys.executable, "-c", HELP_DUMP], capture_output=True, text=True,
                            env=_environment(**variables), timeout=300)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


@pytest.fixture(scope="module")
def english_help():
    return _help_texts()


@pytest.fixture(scope="module")
def spanish_help():
    return _help_texts(LANG="es_ES.UTF-8")


def _prose(help_text):
    """Yield the description parts of the help lines: text after the option column, or whole lines."""
    for line in help_text.splitlines():
        parts = re.split(r"\s{2,}", line.strip())
        text = parts[-1] if len(parts) > 1 else parts[0]
        if text.startswith("-"):
            continue  # an option too long for its column, with its choices: names, not prose
        # Lines with fewer than three words are option names, metavars or
        # headings. File names, URLs and lists in brackets are not prose either.
        words = re.sub(r"\([^)]*\)|\S*[./:=]\S*", " ", text)
        if len(re.findall(r"[A-Za-z]{2,}", words)) >= 3 and not SAME_IN_BOTH.match(text):
            yield text


def test_spanish_help_covers_every_command(english_help, spanish_help):
    assert set(spanish_help) == set(english_help)
    assert len(english_help) >= 10
    for command, (exit_code, text) in spanish_help.items():
        assert exit_code == 0, f"{command} --help: {text}"
        assert text.startswith("Uso:"), f"{command} --help is not in Spanish: {text[:80]!r}"


def test_no_english_help_in_spanish(english_help, spanish_help):
    leaks = []
    for command, (_code, english) in english_help.items():
        spanish = spanish_help[command][1]
        for text in _prose(english):
            if text in spanish:
                leaks.append(f"{command}: {text}")
    assert leaks == []


def _run(*args, **variables):
    return subprocess.run([sys.executable, "-m", "lince", *map(str, args)], capture_output=True, text=True,
                          env=_environment(**variables), timeout=120)


@pytest.mark.parametrize("args", [
    ("run", "{missing}/model.tflite", "--source", "{missing}/video.mp4", "--frames", "1"),
    ("classify", "{missing}/model.tflite", "{missing}/photo.jpg"),
    ("run", "{missing}/model.tflite", "--source", "0", "--frames", "0"),
    ("export", "{missing}/model.keras"),
    ("models", "--family", "NoSuchFamily"),
])
def test_error_in_spanish(tmp_path, args):
    args = [arg.format(missing=tmp_path / "missing") for arg in args]
    english = _run(*args)
    spanish = _run(*args, LANG="es_ES.UTF-8")

    assert english.returncode != 0
    assert spanish.returncode == english.returncode
    english_message = english.stderr.strip().splitlines()[-1]
    spanish_message = spanish.stderr.strip().splitlines()[-1]
    assert spanish_message != english_message
    for text in _prose(english_message):
        assert text not in spanish.stderr
    assert "Traceback" not in spanish.stderr
