"""Warnings that library code logs reach the user in their language."""

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import require_fixture

REPO = Path(__file__).resolve().parents[1]
CATALOG = REPO / "lince" / "locale" / "es" / "LC_MESSAGES" / "lince.po"
SOURCE_FOLDERS = ("lince", "runtime", "export", "calibration", "models")
LOGGER_NAMES = {"logger", "log", "_logger", "_log", "LOGGER"}
USER_LEVELS = {"warning", "error", "exception", "critical"}
# printf-style conversions, "%%" included, in the order the arguments fill them.
PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa%]")


def log_templates(levels):
    """Yield (where, template) of each ``logger.<level>("...", ...)`` call."""
    for folder in SOURCE_FOLDERS:
        for path in sorted((REPO / folder).rglob("*.py")):
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                        and node.func.attr in levels and isinstance(node.func.value, ast.Name)
                        and node.func.value.id in LOGGER_NAMES and node.args):
                    continue
                where = "{}:{}".format(path.relative_to(REPO), node.lineno)
                first = node.args[0]
                template = first.value if isinstance(first, ast.Constant) else None
                yield where, template


def _has_words(template):
    # "%s" alone forwards a message translated where it was made.
    return bool(re.search(r"[A-Za-z]", PLACEHOLDER.sub("", template)))


def test_scan_finds_the_known_warnings():
    found = {template for _where, template in log_templates(USER_LEVELS)}
    assert "Skipped %s" in found
    assert "%s: the broker refused the connection: %s" in found


def test_every_logged_warning_has_spanish():
    from babel.messages.pofile import read_po

    with open(CATALOG, "rb") as file:
        catalog = read_po(file, locale="es")
    problems = []
    for where, template in log_templates(USER_LEVELS):
        if not isinstance(template, str):
            problems.append("{}: the message is not a string literal, so it cannot be translated".format(where))
            continue
        if not _has_words(template):
            continue
        entry = catalog.get(template)
        if entry is None or not entry.string:
            problems.append("{}: no Spanish for {!r}".format(where, template))
        elif PLACEHOLDER.findall(entry.string) != PLACEHOLDER.findall(template):
            problems.append("{}: placeholders differ in {!r} -> {!r}".format(where, template, entry.string))
    assert not problems, "\n".join(problems)


def _run_folder(folder, *options, **env_vars):
    env = {**os.environ, "LANG": "C", "LANGUAGE": "", "LC_ALL": "", "LC_MESSAGES": "", "LINCE_LANG": ""}
    env.update(env_vars)
    model = folder.parent / "model.tflite"
    return subprocess.run([sys.executable, "-m", "lince", *options, "run", str(model), "--source", str(folder),
                           "--no-realtime"], capture_output=True, text=True, env=env, timeout=60)


@pytest.fixture
def folder_with_bad_image(tmp_path):
    import cv2

    (tmp_path / "model.tflite").symlink_to(require_fixture("models", "mobilenet_v1_0.25_128_quant.tflite"))
    folder = tmp_path / "frames"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), np.full((64, 64, 3), 90, np.uint8))
    (folder / "b.jpg").write_bytes(b"not a jpeg")
    return folder


@pytest.mark.parametrize("env_vars, expected", [
    ({"LINCE_LANG": "es"}, "Aviso: Se omitió "),
    ({"LANG": "es_ES.UTF-8"}, "Aviso: Se omitió "),
    ({"LANG": "C"}, "Warning: Skipped "),
])
def test_runtime_warning_in_user_language(folder_with_bad_image, env_vars, expected):
    result = _run_folder(folder_with_bad_image, **env_vars)
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stderr.splitlines() if "b.jpg" in line)
    assert line.startswith(expected)
    # At the default verbosity the logger name is noise for a user.
    assert "lince.runtime" not in result.stderr


def test_debug_verbosity_keeps_logger_names(folder_with_bad_image):
    result = _run_folder(folder_with_bad_image, "-vv", LINCE_LANG="es")
    assert result.returncode == 0, result.stderr
    line = next(line for line in result.stderr.splitlines() if "b.jpg" in line)
    assert line.startswith("WARNING lince.runtime.sources.folder: Se omitió ")


@pytest.mark.tensorflow
@pytest.mark.slow
def test_export_warnings_in_spanish(tmp_path):
    keras = pytest.importorskip("keras", reason="export needs the export extra (TensorFlow)")
    import cv2

    model = keras.Sequential([keras.Input((32, 32, 3)), keras.layers.Conv2D(4, 3),
                              keras.layers.GlobalAveragePooling2D(), keras.layers.Dense(3, activation="softmax")])
    model.save(tmp_path / "tiny.keras")
    calibration = tmp_path / "dark"
    calibration.mkdir()
    for i in range(10):
        pixels = np.random.default_rng(i).integers(0, 40, (48, 48, 3), dtype=np.uint8)
        cv2.imwrite(str(calibration / "{}.png".format(i)), pixels)
    env = {**os.environ, "LANG": "es_ES.UTF-8", "LANGUAGE": "", "LC_ALL": "", "LC_MESSAGES": "", "LINCE_LANG": ""}
    result = subprocess.run([sys.executable, "-m", "lince", "export", str(tmp_path / "tiny.keras"), "--int8",
                             "--calibration", str(calibration), "-o", str(tmp_path / "tiny.tflite")],
                            capture_output=True, text=True, env=env, timeout=180)
    assert result.returncode == 0, result.stderr
    lines = result.stderr.splitlines()
    assert "Aviso: No se indicó archivo de etiquetas (--labels): los resultados nombrarán las clases por número" in lines
    assert "Aviso: No se indicó normalización (--preprocess o --mean/--std)" in result.stderr
    assert "No label file given" not in result.stderr
    assert "WARNING lince." not in result.stderr
