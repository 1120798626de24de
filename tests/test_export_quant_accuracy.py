"""EfficientNet-Lite0 on 500 labelled ImageNet photos: int8 and float16 stay close to float32.

Each half of the photos calibrates the model verified on the other half
(``bench/quantization_accuracy.py``), so every photo is graded once by a
model not calibrated on it. The figures come from the export's own
verification report.
"""

import importlib.util

import pytest

from conftest import REPO_ROOT, require_fixture

pytestmark = [pytest.mark.tensorflow, pytest.mark.slow]


def _bench():
    spec = importlib.util.spec_from_file_location("quantization_accuracy",
                                                  REPO_ROOT / "bench" / "quantization_accuracy.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def folds(tmp_path_factory):
    import csv

    pytest.importorskip("tensorflow")
    sample = require_fixture("imagenet-sample")
    require_fixture("models", "efficientnet_lite0_imagenet.keras")
    with open(sample / "labels.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    work = tmp_path_factory.mktemp("folds")
    bench = _bench()
    bench.FIXTURES = sample.parent
    return bench, work, [bench._fold_files(sample, work, rows, fold) for fold in (0, 1)]


def _measure(folds, mode):
    bench, work, pairs = folds
    comparisons = [bench._export(mode, calibration, evaluation, work / f"{mode}_{index}.tflite")
                   for index, (calibration, evaluation) in enumerate(pairs)]
    images, source, export, agreement = bench._combine(comparisons)
    print(f"\n{mode}: {images} photos, float32 top-1 {100 * source:.2f} %, {mode} top-1 {100 * export:.2f} %, "
          f"drop {100 * (source - export):+.2f} points, same top-1 {100 * agreement:.2f} %")
    return images, source, export, agreement


def test_int8_within_half_point(folds):
    images, source, export, agreement = _measure(folds, "int8")
    assert images == 500
    assert source - export <= 0.005
    assert agreement >= 0.98


def test_float16_within_tenth_point(folds):
    images, source, export, agreement = _measure(folds, "float16")
    assert images == 500
    assert abs(source - export) <= 0.001
    assert agreement >= 0.995
