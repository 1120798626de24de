"""The ``lince`` command line: one click group, commands loaded on demand.

Each command lives in its own module and is imported only when it runs, so
``lince run`` and ``lince classify`` never import TensorFlow and start fast.
"""

import importlib
import logging
import os
import sys

# OpenCV and its FFmpeg backend print warnings of their own (a camera index
# that does not exist, a refused stream connection) before lince's one-line
# error reports the same. They read these variables when cv2 loads, so they are
# set before any import of lince.runtime; a user's own values win.
os.environ.setdefault("OPENCV_LOG_LEVEL", "ERROR")
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")  # AV_LOG_QUIET

import click  # noqa: E402

from lince._version import __version__  # noqa: E402
from lince.cli.log_format import UserFormatter  # noqa: E402
from lince.i18n import _, setup_language  # noqa: E402
from lince.runtime.errors import LinceError  # noqa: E402

# Help texts are translated when the decorators run, so the language is set
# up before any command is defined.
setup_language()

# Command name -> "module:attribute". Later commands are added here.
COMMANDS = {
    "classify": "lince.cli.classify:classify",
    "demo": "lince.cli.demo:demo",
    "train": "lince.cli.train:train",
    "models": "lince.cli.models:models",
    "evaluate": "lince.cli.evaluate:evaluate",
    "run": "lince.cli.run:run",
    "service": "lince.cli.service:service",
    "export": "lince.cli.export:export",
    "calibration": "lince.cli.calibration:calibration",
    "benchmark": "lince.cli.benchmark:benchmark",
}


# Top-level modules that only the "export" extra installs.
EXPORT_EXTRA_MODULES = frozenset({"tensorflow", "keras", "matplotlib"})


class LazyGroup(click.Group):
    """A group that imports a command's module only when the command is used."""

    def list_commands(self, ctx):
        return sorted(COMMANDS)

    def get_command(self, ctx, name):
        target = COMMANDS.get(name)
        if target is None:
            return None
        module_name, attribute = target.split(":")
        return getattr(importlib.import_module(module_name), attribute)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except LinceError as error:
            # Bad input: one line that names the fix, no traceback.
            raise click.ClickException(str(error)) from None
        except ModuleNotFoundError as error:
            # A runtime-only install (what a Raspberry Pi gets) lacks the
            # training and export packages.
            if (error.name or "").split(".")[0] not in EXPORT_EXTRA_MODULES:
                raise
            raise click.ClickException(_(
                "this command needs {module}, which the runtime-only install leaves out: "
                "pip install 'lince[export]'").format(module=error.name.split(".")[0])) from None
        except KeyboardInterrupt:
            click.echo(_("Interrupted."), err=True)
            sys.exit(130)


def configure_logging(verbosity: int) -> None:
    """Send lince's log records to stderr; -v shows INFO, -vv shows DEBUG."""
    level = logging.WARNING
    if verbosity == 1:
        level = logging.INFO
    elif verbosity >= 2:
        level = logging.DEBUG
    handler = logging.StreamHandler(sys.stderr)
    # Users read translated "Warning: …" lines, and -vv adds the level and logger name.
    handler.setFormatter(UserFormatter(show_names=verbosity >= 2))
    logging.basicConfig(level=level, handlers=[handler])
    if verbosity < 2:
        for noisy in ("tensorflow", "absl", "h5py", "matplotlib", "PIL"):
            logging.getLogger(noisy).setLevel(logging.ERROR)


@click.group(
    cls=LazyGroup,
    context_settings={"help_option_names": ["-h", "--help"]},
    help=_("lince: image classifiers from your photos to your robot's camera."),
)
@click.version_option(__version__, "--version", prog_name="lince", help=_("Show the version and exit."))
@click.option("-v", "--verbose", count=True, help=_("Show more detail: -v for progress, -vv for debugging."))
def cli(verbose):
    configure_logging(verbose)


def main() -> None:
    """Entry point of the ``lince`` console script."""
    cli(prog_name="lince")
