"""The wheel installs one import package, lince, with its catalogs."""

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel_names(tmp_path_factory):
    folder = tmp_path_factory.mktemp("wheel")
    result = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(folder),
         str(REPO)], capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    wheel = next(folder.glob("lince-*.whl"))
    with zipfile.ZipFile(wheel) as archive:
        return archive.namelist()


def test_single_top_level_package(wheel_names):
    top_level = {name.split("/")[0] for name in wheel_names if not name.split("/")[0].endswith(".dist-info")}
    assert top_level == {"lince"}


@pytest.mark.parametrize("part", ["runtime", "export", "calibration", "models", "cli"])
def test_parts_are_subpackages(wheel_names, part):
    assert f"lince/{part}/__init__.py" in wheel_names


def test_catalog_in_wheel(wheel_names):
    assert "lince/locale/es/LC_MESSAGES/lince.mo" in wheel_names


def test_runtime_requirements_exclude_tensorflow(wheel_names, tmp_path):
    metadata = next(name for name in wheel_names if name.endswith(".dist-info/METADATA"))
    assert metadata
    from importlib.metadata import distribution

    requirements = distribution("lince").requires or []
    base = [r for r in requirements if "extra ==" not in r]
    assert any(r.startswith("ai-edge-litert") for r in base)
    assert not any(r.startswith(("tensorflow", "keras")) for r in base)
    export_extra = [r for r in requirements if 'extra == "export"' in r]
    assert any(r.startswith("tensorflow") for r in export_extra)
