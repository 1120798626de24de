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
