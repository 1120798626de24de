"""Every message of the camera loop and ``lince run`` has a Spanish translation."""

import ast
import re
from pathlib import Path

import pytest

babel_pofile = pytest.importorskip("babel.messages.pofile")

ROOT = Path(__file__).resolve().parents[1]
MODULES = [
    ROOT / "runtime" / "sources" / "__init__.py",
    ROOT / "runtime" / "sources" / "folder.py",
    ROOT / "runtime" / "sources" / "opencv.py",
    ROOT / "runtime" / "sources" / "parser.py",
    ROOT / "runtime" / "sources" / "picamera.py",
    ROOT / "runtime" / "capture.py",
    ROOT / "runtime" / "smoothing.py",
    ROOT / "runtime" / "live.py",
    ROOT / "runtime" / "pipeline.py",
    ROOT / "runtime" / "overlay.py",
    ROOT / "lince" / "cli" / "run.py",
    ROOT / "lince" / "cli" / "run_loop.py",
]
PLACEHOLDER = re.compile(r"\{[^}]*\}")


def translatable_messages(path: Path):
    """Return the string literals passed to ``_()`` in ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return [node.args[0].value for node in ast.walk(tree)
            if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "_"
            and node.args and isinstance(node.args[0], ast.Constant)]


@pytest.fixture(scope="module")
def catalog():
    with open(ROOT / "lince" / "locale" / "es" / "LC_MESSAGES" / "lince.po", "rb") as file:
        return babel_pofile.read_po(file)


@pytest.mark.parametrize("module", MODULES, ids=lambda p: p.name)
def test_messages_translated_to_spanish(catalog, module):
    messages = translatable_messages(module)
    assert messages, f"{module} has no translatable messages"
    for message in messages:
        entry = catalog.get(message)
        assert entry is not None and entry.string, f"no Spanish translation of {message!r}"
        assert sorted(PLACEHOLDER.findall(entry.string)) == sorted(PLACEHOLDER.findall(message)), message


def test_plural_messages_translated_to_spanish(catalog):
    tree = ast.parse((ROOT / "runtime" / "capture.py").read_text(encoding="utf-8"))
    calls = [node for node in ast.walk(tree)
             if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "ngettext"]
    assert calls
    for call in calls:
        singular, plural = call.args[0].value, call.args[1].value
        entry = catalog.get(singular)
        assert entry is not None and entry.pluralizable, f"no Spanish plural entry for {singular!r}"
        assert entry.id == (singular, plural)
        assert all(entry.string), singular
        for form in entry.string:
            assert sorted(PLACEHOLDER.findall(form)) == sorted(PLACEHOLDER.findall(singular)), form


def test_run_error_in_spanish(catalog, tmp_path, models_dir):
    import os
    import subprocess
    import sys

    from babel.messages.mofile import write_mo

    # Compile the current catalog, so the test does not depend on a stale .mo.
    mo_dir = tmp_path / "es" / "LC_MESSAGES"
    mo_dir.mkdir(parents=True)
    with open(mo_dir / "lince.mo", "wb") as file:
        write_mo(file, catalog)
    code = ("import sys, lince.i18n as i18n; i18n.LOCALE_DIR = sys.argv.pop(1); "
            "from lince.cli import main; sys.argv[0] = 'lince'; main()")
    command = [sys.executable, "-c", code, str(tmp_path), "run",
               str(models_dir / "mobilenet_v1_0.25_128_quant.tflite"), "--source", str(tmp_path / "nada")]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=60,
                               env={**os.environ, "LINCE_LANG": "es"})
    assert completed.returncode == 1
    assert "no es un índice de cámara" in completed.stderr
