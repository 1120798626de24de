"""Shared test fixtures: the real models and photos under ``../shared/fixtures``.

Tests read them in place and skip with a reason when the folder is absent.
``LINCE_FIXTURES`` points elsewhere if needed.
"""

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
FIXTURES = Path(os.environ.get("LINCE_FIXTURES", REPO_ROOT.parent / "shared" / "fixtures"))


def require_fixture(*parts) -> Path:
    """Return the path of a shared fixture file, or skip the test when it is absent."""
    path = FIXTURES.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"fixture {path} is absent (set LINCE_FIXTURES to the shared fixtures folder)")
    return path


@pytest.fixture(scope="session")
def fixtures_dir() -> Path:
    return require_fixture()


@pytest.fixture(scope="session")
def images_dir() -> Path:
    return require_fixture("images")


@pytest.fixture(scope="session")
def models_dir() -> Path:
    return require_fixture("models")


def _export_lite0(tmp_path_factory, int8: bool) -> Path:
    """Export the fixture EfficientNet-Lite0 through the public API (once per session)."""
    pytest.importorskip("tensorflow", reason="export needs the export extra (TensorFlow)")
    from lince.export import ExportConfig, export_model
    from lince.models.preprocessing import custom_normalization

    models = require_fixture("models")
    output = tmp_path_factory.mktemp("lite0") / ("lite0_int8.tflite" if int8 else "lite0_float32.tflite")
    config = ExportConfig(
        model_path=models / "efficientnet_lite0_imagenet.keras",
        output_path=output,
        quantization="int8" if int8 else "float32",
        calibration_dir=require_fixture("images") if int8 else None,
        labels_path=models / "imagenet1000_labels.txt",
        normalization=custom_normalization([127.0], [128.0]),
    )
    return export_model(config).path


@pytest.fixture(scope="session")
def lite0_int8_tflite(tmp_path_factory) -> Path:
    """The fixture EfficientNet-Lite0 exported to int8, calibrated on the fixture photos."""
    return _export_lite0(tmp_path_factory, int8=True)


@pytest.fixture(scope="session")
def lite0_float_tflite(tmp_path_factory) -> Path:
    """The fixture EfficientNet-Lite0 exported to float32."""
    return _export_lite0(tmp_path_factory, int8=False)
