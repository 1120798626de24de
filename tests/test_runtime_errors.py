"""Bad model files give one line that names the file, and a non-zero exit."""

import subprocess
import sys

import pytest

from lince.runtime import Classifier, ModelLoadError


def _run_cli(*args, env_extra=None):
    import os

    env = {**os.environ, "LANG": "C", "LANGUAGE": "", "LC_ALL": "", "LINCE_LANG": ""}
    env.update(env_extra or {})
    return subprocess.run([sys.executable, "-m", "lince", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=120)


@pytest.fixture(scope="module")
def bad_models(tmp_path_factory, models_dir):
    folder = tmp_path_factory.mktemp("bad")
    original = (models_dir / "mobilenet_v2_1.0_224_quant.tflite").read_bytes()
    (folder / "truncated.tflite").write_bytes(original[: len(original) // 3])
    (folder / "notes.tflite").write_text("These are my notes about the robot, not a model.\n" * 20)
    return {
        "invoking_error": models_dir / "model_invoking_error.tflite",
        "truncated": folder / "truncated.tflite",
        "text": folder / "notes.tflite",
        "missing": folder / "missing.tflite",
    }


@pytest.mark.parametrize("case", ["invoking_error", "truncated", "text", "missing"])
def test_bad_model_cli_one_line(bad_models, images_dir, case):
    model = bad_models[case]
    result = _run_cli("classify", model, images_dir / "bird.bmp")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    error_lines = [line for line in result.stderr.splitlines() if line.startswith("Error:")]
    assert len(error_lines) == 1
    assert str(model) in error_lines[0]


@pytest.mark.parametrize("case, message", [
    ("truncated", "truncated or corrupt"),
    ("text", "not a TFLite model"),
    ("missing", "model file not found"),
    ("invoking_error", "cannot prepare the model"),
])
def test_bad_model_error_message(bad_models, case, message):
    with pytest.raises(ModelLoadError, match=message):
        Classifier(bad_models[case])


def test_folder_instead_of_model(tmp_path):
    with pytest.raises(ModelLoadError, match="is a folder"):
        Classifier(tmp_path)


def test_unreadable_image_keeps_going(models_dir, images_dir, tmp_path):
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8\xff\xe0 not really a jpeg")
    result = _run_cli("classify", models_dir / "mobilenet_v2_1.0_224_quant.tflite", broken,
                      images_dir / "bird.bmp", "--labels", models_dir / "imagenet_labels.txt")
    assert result.returncode == 1
    assert "chickadee" in result.stdout
    assert str(broken) in result.stderr


def test_classify_json(models_dir, images_dir):
    import json

    result = _run_cli("classify", models_dir / "mobilenet_v2_1.0_224_quant.tflite", images_dir / "parrot.jpg",
                      "--labels", models_dir / "imagenet_labels.txt", "--json", "-k", "3")
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout.strip())
    assert record["top_k"][0]["label"] == "macaw"
    assert len(record["top_k"]) == 3
