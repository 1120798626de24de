"""``lince service install``: a systemd unit that starts ``lince run`` at boot.

lince never runs ``sudo`` or ``systemctl`` itself: it writes the unit (or
prints it) and shows the commands that install and start it.
"""

import getpass
import os
import pwd
import re
import shlex
import sys
from pathlib import Path
from typing import List, Optional, Sequence

import click

from lince._version import __version__
from lince.i18n import _
from lince.runtime.errors import LinceError

# systemd unit names: letters, digits and ":-_.\" (systemd.unit(5)); "@" is
# left out because it marks template units.
UNIT_NAME = re.compile(r"^[A-Za-z0-9:_.\\-]+$")
# Characters that make systemd split, expand or unquote an ExecStart word.
NEEDS_QUOTES = re.compile(r"[\s\"'\\;]")


def systemd_quote(word: str) -> str:
    """Quote one ExecStart word so systemd passes it to the program unchanged.

    systemd expands ``%`` specifiers and ``$`` variables even inside quotes,
    so they are doubled; quotes and backslashes are escaped in double quotes.
    """
    if "\n" in word or "\r" in word:
        raise LinceError(_("{word!r}: a command line argument of a service cannot contain a line break.").format(
            word=word))
    word = word.replace("%", "%%").replace("$", "$$")
    if word and not NEEDS_QUOTES.search(word):
        return word
    return '"' + word.replace("\\", "\\\\").replace('"', '\\"') + '"'


def absolute_if_path(source: str) -> str:
    """Return ``source`` made absolute when it names an existing file or folder.

    A service starts in another working directory, so a relative video or
    folder path would break; camera indexes, devices, URLs and pipelines are kept.
    """
    path = Path(source).expanduser()
    if not path.is_absolute() and path.exists():
        return str(path.resolve())
    return source


def missing_source_path(source: str) -> bool:
    """Return whether ``source`` looks like a file or device path that does not exist now.

    Camera indexes, ``picamera2``, URLs and GStreamer pipelines (with ``!``)
    are not paths, so they are never reported.
    """
    if source.isdigit() or source.startswith("picamera2") or "://" in source or "!" in source:
        return False
    return not Path(source).expanduser().exists()


def run_command(model: Path, source: str, outputs: Sequence[str], labels: Optional[Path], on_change: bool,
                rate: Optional[float], run_args: Sequence[str]) -> List[str]:
    """Return the ``lince run`` command line of the service, with absolute paths."""
    command = [sys.executable, "-m", "lince", "run", str(model.resolve()), "--source", absolute_if_path(source),
               "--no-window"]
    if labels is not None:
        command += ["--labels", str(labels.resolve())]
    for spec in outputs:
        command += ["--output", spec]
    if on_change:
        command.append("--on-change")
    if rate is not None:
        command += ["--rate", repr(rate)]
    return command + list(run_args)


def check_run_arguments(command: Sequence[str]) -> None:
    """Parse the arguments with ``lince run`` itself, so a mistake shows now and not at boot."""
    from lince.cli.run import run

    try:
        run.make_context("lince run", list(command[4:]))
    except click.exceptions.Exit:
        raise LinceError(_("The options after -- ask `lince run` to exit at once (--help?); "
                           "give only the options the service should run with.")) from None


def render_unit(name: str, command: Sequence[str], user: Optional[str], working_directory: str,
                description: str) -> str:
    """Return the text of the unit; ``user`` None means a systemd --user unit."""
    install_lines = _install_hint(name, user is None)
    lines = [f"# {line}" for line in install_lines]
    lines += ["[Unit]", f"Description={description}"]
    if user is not None:
        # The outputs may need the network (MQTT, UDP to another machine).
        lines += ["Wants=network-online.target", "After=network-online.target"]
    lines += [
        # Keep restarting however often it fails: at boot a camera or a USB
        # serial adapter may appear only after the first attempts.
        "StartLimitIntervalSec=0",
        "",
        "[Service]",
        "Type=simple",
    ]
    if user is not None:
        lines.append(f"User={user}")
    lines += [
        f"WorkingDirectory={systemd_quote(working_directory)}",
        "Environment=PYTHONUNBUFFERED=1",
        "ExecStart=" + " ".join(systemd_quote(word) for word in command),
        "Restart=on-failure",
        "RestartSec=5",
        "",
        "[Install]",
        "WantedBy=" + ("default.target" if user is None else "multi-user.target"),
    ]
    return "\n".join(lines) + "\n"


def _install_hint(name: str, user_unit: bool) -> List[str]:
    unit = f"{name}.service"
    if user_unit:
        return [
            _("Written by lince {version}. To install and start this user service:").format(version=__version__),
            f"  mkdir -p ~/.config/systemd/user && cp {unit} ~/.config/systemd/user/",
            "  systemctl --user daemon-reload",
            f"  systemctl --user enable --now {unit}",
            _("To start it at boot without a login: sudo loginctl enable-linger $USER"),
            _("Its log: journalctl --user -u {unit} -f").format(unit=unit),
        ]
    return [
        _("Written by lince {version}. To install and start this service:").format(version=__version__),
        f"  sudo cp {unit} /etc/systemd/system/",
        "  sudo systemctl daemon-reload",
        f"  sudo systemctl enable --now {unit}",
        _("Its log: journalctl -u {unit} -f").format(unit=unit),
    ]


def _home_of(user: str) -> str:
    try:
        return pwd.getpwnam(user).pw_dir
    except KeyError:
        raise LinceError(_("User {user!r} does not exist on this machine: give an existing account with --user "
                           "(the unit runs this machine's lince at {python}).").format(
            user=user, python=sys.executable)) from None


@click.group(help=_("Run the camera loop as a systemd service that starts at boot."))
def service():
    pass


@service.command("install", help=_(
    "Write a systemd unit that runs `lince run MODEL --source ... --output ...` at boot and restarts it "
    "when it fails. Without -o the unit is printed. Options for `lince run` that have no flag here go "
    "after --, as in: lince service install model.tflite -s 0 --output stdout -- --threshold 0.5"))
@click.argument("model", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("run_args", nargs=-1, type=click.UNPROCESSED, metavar="[-- RUN_OPTIONS]")
@click.option("-s", "--source", required=True, help=_("Where frames come from, as for `lince run --source`."))
@click.option("--output", "outputs", multiple=True, required=True, metavar="SPEC",
              help=_("Where results go, as for `lince run --output`; repeatable."))
@click.option("--labels", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help=_("Label file, one class name per line (default: the labels inside the model)."))
@click.option("--on-change", is_flag=True, help=_("Send a result only when the stable label changes."))
@click.option("--rate", type=click.FloatRange(0, min_open=True),
              help=_("Send at most this many results per second."))
@click.option("--name", default="lince", show_default=True,
              help=_("Service name: the unit is NAME.service."))
@click.option("--user", "account", help=_("Account the service runs as (default: the current user)."))
@click.option("--user-unit", is_flag=True,
              help=_("Write a unit for the per-user service manager (systemctl --user) instead of a system unit."))
@click.option("-o", "--unit-path", type=click.Path(path_type=Path),
              help=_("Write the unit to this file, or to NAME.service in this folder (default: print it)."))
@click.option("--overwrite", is_flag=True, help=_("Replace the unit file if it exists."))
def install(model, run_args, source, outputs, labels, on_change, rate, name, account, user_unit, unit_path,
            overwrite):
    from lince.runtime.outputs.spec import PASSWORD_VARIABLE, hide_password, parse_output

    if not UNIT_NAME.match(name):
        raise click.BadParameter(_("{name!r}: use letters, digits and - _ . : only.").format(name=name),
                                 param_hint="--name")
    for spec in outputs:
        parse_output(spec)
        if hide_password(spec) != spec:
            click.echo(_("Warning: the unit shows the password of {spec} to every user of this machine. "
                         "Write the URL without it and set {variable} in a file only the service user can "
                         "read, named by EnvironmentFile= in the unit.").format(
                spec=hide_password(spec), variable=PASSWORD_VARIABLE), err=True)
    if user_unit and account:
        raise click.UsageError(_("--user and --user-unit exclude each other: a user unit runs as its owner."))
    account = None if user_unit else (account or getpass.getuser())
    home = _home_of(account or getpass.getuser())
    if missing_source_path(source):
        click.echo(_("Warning: {source} does not exist now; the service will fail and restart every 5 s "
                     "until it does.").format(source=source), err=True)
    command = run_command(model, source, outputs, labels, on_change, rate, run_args)
    check_run_arguments(command)
    description = _("lince camera classifier ({model})").format(model=model.name)
    text = render_unit(name, command, account, home, description)
    if unit_path is None:
        click.echo(text, nl=False)
        return
    _write_unit(unit_path, name, text, overwrite, user_unit)


def _write_unit(unit_path: Path, name: str, text: str, overwrite: bool, user_unit: bool) -> None:
    from lince.runtime.atomic import check_writable, write_text_atomic

    if unit_path.is_dir():
        unit_path = unit_path / f"{name}.service"
    check_writable(unit_path, overwrite)
    write_text_atomic(unit_path, text)
    click.echo(_("Wrote {path}. To install and start it:").format(path=unit_path), err=True)
    unit = f"{name}.service"
    if user_unit:
        steps = [f"mkdir -p ~/.config/systemd/user && cp {shlex.quote(str(unit_path))} ~/.config/systemd/user/{unit}",
                 "systemctl --user daemon-reload", f"systemctl --user enable --now {unit}"]
    else:
        target = Path("/etc/systemd/system") / unit
        steps = [] if unit_path.resolve() == target else [f"sudo cp {shlex.quote(str(unit_path))} {target}"]
        steps += ["sudo systemctl daemon-reload", f"sudo systemctl enable --now {unit}"]
    for step in steps:
        click.echo(f"  {step}", err=True)
    if os.geteuid() != 0 and not user_unit:
        click.echo(_("lince does not run these commands itself; they need an administrator."), err=True)
