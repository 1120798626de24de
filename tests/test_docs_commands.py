"""Every shell command shown in the README and the guides exists as written.

The test reads each ```sh and ```console block of the Markdown files. A
``lince`` command is resolved to its click command and checked for real:
its ``--help`` runs, every option it uses is listed there, choice and number
values are valid, and it gives as many arguments as the command takes.
``make`` targets must exist in the Makefile and ``pip install`` extras in
the installed package. Commands that change the system (apt, systemctl) are
listed in ``NOT_RUN`` with the reason, so a new kind of command fails here
until someone decides how to check it.
"""

import os
import re
import shlex
import subprocess
import sys
from importlib.metadata import metadata
from pathlib import Path

import click
import pytest
from click.testing import CliRunner

REPO = Path(__file__).resolve().parents[1]
DOC_FILES = sorted([REPO / "README.md", REPO / "README.es.md", *(REPO / "docs").glob("*.md"),
                    *(REPO / "docs" / "es").glob("*.md")])
SHELL_LANGUAGES = {"sh", "console", "shell", "bash"}
FENCE = re.compile(r"^```(\w*)\s*$")
ENV_ASSIGNMENT = re.compile(r"^[A-Z_][A-Z0-9_]*=")

# Programs that the docs show but a test must not run, with the reason.
NOT_RUN = {
    "sudo": "installs system packages or services on the reader's machine",
    "git": "clones from the network",
    "cd": "only changes the folder",
    "libcamera-hello": "needs a Raspberry Pi camera",
    "rpicam-hello": "needs a Raspberry Pi camera",
    "v4l2-ctl": "needs a camera device",
    "nproc": "prints the CPU count",
    "mosquitto_sub": "needs an MQTT broker",
    "jq": "only filters the JSON that lince prints",
    "head": "only cuts the output short",
    "journalctl": "reads the system log of an installed service",
    "systemctl": "controls services on the reader's machine",
}


def _shell_commands(path: Path):
    """Yield ``(line_number, command)`` for each command in the shell blocks of ``path``."""
    language = None
    pending = ""
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        fence = FENCE.match(line.strip())
        if fence:
            language = None if language is not None else fence.group(1)
            continue
        if language not in SHELL_LANGUAGES:
            continue
        text = line.strip()
        if language == "console":
            if not text.startswith("$ ") and not pending:
                continue  # output lines of a console session
            text = text[2:] if text.startswith("$ ") else text
        if text.startswith("#") or not text:
            continue
        if text.endswith("\\"):
            pending += text[:-1] + " "
            continue
        yield number, pending + text
        pending = ""


def _all_commands():
    commands = []
    for path in DOC_FILES:
        for number, command in _shell_commands(path):
            commands.append(pytest.param(command, id=f"{path.relative_to(REPO)}:{number}"))
    return commands


COMMANDS = _all_commands()


def _words(command: str):
    words = shlex.split(command, comments=True)
    while words and ENV_ASSIGNMENT.match(words[0]):
        words.pop(0)
    return words


def test_docs_have_commands():
    assert len(COMMANDS) >= 20, "the docs parser found almost no shell commands"
    assert (REPO / "README.es.md").exists()


@pytest.mark.parametrize("command", COMMANDS)
def test_docs_command_exists(command):
    segment = []
    for word in [*_words(command), "|"]:
        if word == "|":
            _check_command(segment, command)
            segment = []
        else:
            segment.append(word)


def _check_command(words, command):
    """Check one command of a pipeline. ``command`` is the whole line, for messages."""
    program = words[0]
    if program == "lince":
        _check_lince(words[1:])
    elif program == "make":
        _check_make(words[1:])
    elif program in ("pip", "pip3"):
        _check_pip(words[1:])
    elif program in (".", "source"):
        assert words[1:] == [".venv/bin/activate"], command
        assert re.search(r"^VENV \?= \.venv$", (REPO / "Makefile").read_text(), re.MULTILINE)
    elif program == "python3" and words[1:3] == ["-m", "venv"]:
        assert words[3:-1] in ([], ["--system-site-packages"]), command
    else:
        assert program in NOT_RUN, f"{command!r}: no check for {program!r}; add one or a NOT_RUN reason"


def _check_make(targets):
    makefile = (REPO / "Makefile").read_text()
    for target in targets:
        assert re.search(rf"^{re.escape(target)}:", makefile, re.MULTILINE), f"make {target}: no such target"


def _check_pip(words):
    assert words[0] == "install", words
    extras = set(metadata("lince").get_all("Provides-Extra") or [])
    for spec in words[1:]:
        match = re.fullmatch(r"\.(?:\[([\w,-]+)\])?", spec)
        assert match, f"pip install {spec}: the docs install lince from this folder only"
        for extra in (match.group(1) or "").split(","):
            assert not extra or extra in extras, f"pip install {spec}: no extra {extra!r} in {sorted(extras)}"


def _resolve(words):
    """Return ``(command, path, rest)``: the click command that ``lince WORDS`` runs."""
    from lince.cli import cli

    command, path = cli, ["lince"]
    rest = list(words)
    while isinstance(command, click.Group):
        while rest and rest[0].startswith("-"):
            _consume_option(command, rest, " ".join(path))
        if not rest:
            break
        name = rest.pop(0)
        sub = command.get_command(click.Context(command), name)
        assert sub is not None, f"{' '.join(path)} has no command {name!r}"
        command, path = sub, path + [name]
    return command, path, rest


def _check_lince(words):
    command, path, rest = _resolve(words)
    help_text = _help(path[1:])
    arguments = []
    while rest:
        if rest[0] == "--":
            # `lince service install MODEL ... -- RUN_OPTIONS` passes the rest to `lince run`.
            _check_run_options(rest[1:])
            break
        if rest[0].startswith("-") and rest[0] != "-":
            name = _consume_option(command, rest, " ".join(path))
            assert name in help_text, f"{' '.join(path)} --help does not list {name}"
        else:
            arguments.append(rest.pop(0))
    _check_arguments(command, arguments, path)


def _check_run_options(words):
    run, _path, _rest = _resolve(["run"])
    rest = list(words)
    while rest:
        assert rest[0].startswith("-"), f"lince run option expected after --, got {rest[0]!r}"
        _consume_option(run, rest, "lince run")


def _help(subcommands):
    result = CliRunner().invoke(__import__("lince.cli", fromlist=["cli"]).cli, [*subcommands, "--help"])
    assert result.exit_code == 0, result.output
    return result.output


def _consume_option(command, rest, where):
    """Pop one option and its value from ``rest``, check the value, and return the option name."""
    token = rest.pop(0)
    name, _sep, inline = token.partition("=")
    for param in command.params:
        if isinstance(param, click.Option) and name in (*param.opts, *param.secondary_opts):
            break
    else:
        if name in ("-h", "--help", "--version"):
            return name
        raise AssertionError(f"{where}: no option {name}")
    if param.is_flag or param.count:
        return name
    value = inline if inline else rest.pop(0)
    # Paths in the docs name the reader's files, which do not exist here, so they are not checked.
    if not isinstance(param.type, (click.Path, click.File)):
        param.type.convert(value, param, None)
    return name


def _check_arguments(command, arguments, path):
    params = [param for param in command.params if isinstance(param, click.Argument)]
    required = sum(param.nargs if param.nargs > 0 else 1 for param in params if param.required)
    unlimited = any(param.nargs < 0 for param in params)
    allowed = sum(max(param.nargs, 0) for param in params)
    assert len(arguments) >= required, f"{' '.join(path)}: {arguments} misses a required argument"
    assert unlimited or len(arguments) <= allowed, f"{' '.join(path)}: too many arguments {arguments}"


# Commands fast enough to run for real (no training, no camera).
def _runnable():
    return [param for param in COMMANDS
            if re.match(r"^(LINCE_LANG=\w+ )?lince (--help|models)\b", param.values[0])]


@pytest.mark.parametrize("command", _runnable())
def test_docs_command_runs(command):
    env = {**os.environ, "LANG": "C", "LC_ALL": "", "LC_MESSAGES": "", "LINCE_LANG": ""}
    words = shlex.split(command)
    while ENV_ASSIGNMENT.match(words[0]):
        key, _sep, value = words.pop(0).partition("=")
        env[key] = value
    result = subprocess.run([sys.executable, "-m", "lince", *words[1:]], capture_output=True, text=True,
                            env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip()
