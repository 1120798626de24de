"""The runtime and its commands never import TensorFlow.

Each check runs in a fresh interpreter in which importing ``tensorflow``
(or ``keras``) raises, as on a Raspberry Pi that has only the runtime.
"""

import subprocess
import sys
import textwrap

BLOCKER = textwrap.dedent("""
    import sys

    class BlockTensorFlow:
        def find_spec(self, name, path=None, target=None):
            if name.split(".")[0] in ("tensorflow", "keras", "tf_keras"):
                raise ModuleNotFoundError(f"{name} is blocked: the runtime must not import it", name=name)
            return None

    sys.meta_path.insert(0, BlockTensorFlow())
""")


def _run(body: str):
    code = BLOCKER + textwrap.dedent(body)
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=180)


def test_import_runtime_without_tensorflow():
    result = _run("""
        import lince.runtime
        assert "tensorflow" not in sys.modules
        print(lince.runtime.interpreter.interpreter_class()[1])
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() in ("ai-edge-litert", "tflite-runtime")


def _run_lince(*args):
    """Run ``lince ARGS`` in the blocked interpreter and check TensorFlow stayed out."""
    return _run(f"""
        from lince.cli import main
        sys.argv = ["lince", *{[str(a) for a in args]!r}]
        try:
            main()
        except SystemExit as exit:
            assert not exit.code, exit.code
        assert "tensorflow" not in sys.modules
    """)


def test_classify_command_without_tensorflow(models_dir, images_dir):
    result = _run_lince("classify", models_dir / "mobilenet_v2_1.0_224_quant.tflite", images_dir / "bird.bmp",
                        "--labels", models_dir / "imagenet_labels.txt")
    assert result.returncode == 0, result.stderr
    assert "chickadee" in result.stdout


def test_run_command_without_tensorflow(models_dir, fixtures_dir):
    video = fixtures_dir / "videos" / "slideshow_640x480_30fps.mp4"
    result = _run_lince("run", models_dir / "mobilenet_v2_1.0_224_quant.tflite", "--source", video,
                        "--frames", "20", "--no-realtime", "--labels", models_dir / "imagenet_labels.txt")
    assert result.returncode == 0, result.stderr


def test_help_lists_commands_without_tensorflow():
    result = _run_lince("--help")
    assert result.returncode == 0, result.stderr
    assert "export" in result.stdout


def test_export_without_tensorflow_one_line(tmp_path):
    model = tmp_path / "model.keras"
    model.write_bytes(b"placeholder")
    result = _run(f"""
        from lince.cli import main
        sys.argv = ["lince", "export", {str(model)!r}, "-o", {str(tmp_path / "out.tflite")!r}]
        main()
    """)
    assert result.returncode == 1
    assert "pip install 'lince[export]'" in result.stderr
    assert "Traceback" not in result.stderr
