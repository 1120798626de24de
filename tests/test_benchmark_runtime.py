"""The runtime side of ``lince benchmark``: machine checks, evaluation sets, measurement, recommendation."""

import csv
import math
from dataclasses import replace
from pathlib import Path

import cv2
import pytest

from conftest import require_fixture
from lince.runtime.benchmark import (
    BenchmarkSettings,
    Measurement,
    benchmark,
    detect_quantization,
    measure_model,
    merge_rounds,
    recommend,
)
from lince.runtime.classifier import Classifier
from lince.runtime.errors import LinceError
from lince.runtime.evaluation import Accuracy, class_indices, evaluate, load_labelled_images
from lince.runtime.machine import MachineInfo, cpu_governors, load_average, measurement_warnings

IMAGENET_LABELS = ["background", "tench, Tinca tinca", "goldfish, Carassius auratus", "tiger cat", "tabby, tabby cat"]


def _machine(governors=(), load=None, cores=4):
    return MachineInfo(cpu_model="test CPU", cores=cores, governors=governors, load_average=load, system="Linux",
                       python="3", numpy="2", opencv="4", litert="ai-edge-litert")


def _governor_tree(root: Path, values):
    for number, value in enumerate(values):
        folder = root / f"cpu{number}" / "cpufreq"
        folder.mkdir(parents=True)
        (folder / "scaling_governor").write_text(value + "\n")
    return root


# -- machine ---------------------------------------------------------------


def test_governors_read_from_sysfs(tmp_path):
    root = _governor_tree(tmp_path, ["powersave", "performance", "powersave"])
    assert cpu_governors(root) == ("performance", "powersave")


def test_governors_absent_cpufreq(tmp_path):
    (tmp_path / "cpu0").mkdir()
    assert cpu_governors(tmp_path) == ()


def test_load_average_parsed(tmp_path):
    loadavg = tmp_path / "loadavg"
    loadavg.write_text("1.50 0.75 0.25 3/117 10771\n")
    assert load_average(loadavg) == (1.5, 0.75, 0.25)


def test_load_average_falls_back_when_absent(tmp_path):
    result = load_average(tmp_path / "missing")
    assert result is None or len(result) == 3


def test_warning_for_powersave_governor():
    warnings = measurement_warnings(_machine(governors=("powersave",)))
    assert len(warnings) == 1
    assert "powersave" in warnings[0]


def test_no_warning_for_performance_and_idle():
    assert measurement_warnings(_machine(governors=("performance",), load=(0.1, 0.1, 0.1))) == []


def test_warning_for_busy_machine():
    warnings = measurement_warnings(_machine(load=(3.0, 2.0, 1.0), cores=4))
    assert len(warnings) == 1
    assert "3.00" in warnings[0]


def test_no_warning_without_information():
    assert measurement_warnings(_machine()) == []


# -- evaluation sets ---------------------------------------------------------


def test_class_indices_exact_label():
    assert class_indices(IMAGENET_LABELS, "tench, Tinca tinca") == [1]


def test_class_indices_first_synonym_and_case():
    assert class_indices(IMAGENET_LABELS, "Goldfish") == [2]
    assert class_indices(IMAGENET_LABELS, "tiger_cat") == [3]


def test_class_indices_unknown_label():
    assert class_indices(IMAGENET_LABELS, "zebra") == []


def test_csv_set_from_imagenet_sample():
    labels_csv = require_fixture("imagenet-sample", "labels.csv")
    samples = load_labelled_images(labels_csv)
    assert len(samples) == 500
    assert samples[0].label == "tench, Tinca tinca"
    assert Path(samples[0].path) == labels_csv.parent / "n01440764_tench.JPEG"


def test_csv_set_limit():
    samples = load_labelled_images(require_fixture("imagenet-sample", "labels.csv"), limit=7)
    assert len(samples) == 7


def test_csv_without_label_column(tmp_path):
    data = tmp_path / "labels.csv"
    data.write_text("file,index\na.jpg,3\n")
    with pytest.raises(LinceError, match="'file' and 'label'"):
        load_labelled_images(data)


def test_class_folder_set(tmp_path, images_dir):
    for label, name in (("Egyptian cat", "cat.bmp"), ("dragonfly", "dragonfly.bmp")):
        (tmp_path / label).mkdir()
        cv2.imwrite(str(tmp_path / label / "photo.png"), cv2.imread(str(images_dir / name)))
    (tmp_path / "dragonfly" / "notes.txt").write_text("not an image")
    samples = load_labelled_images(tmp_path)
    assert [(Path(s.path).parent.name, s.label) for s in samples] == [("Egyptian cat", "Egyptian cat"),
                                                                        ("dragonfly", "dragonfly")]


def test_missing_evaluation_data(tmp_path):
    with pytest.raises(LinceError, match="not found"):
        load_labelled_images(tmp_path / "nothing")


def test_empty_evaluation_folder(tmp_path):
    (tmp_path / "cat").mkdir()
    with pytest.raises(LinceError, match="no labelled images"):
        load_labelled_images(tmp_path)


def test_evaluate_reference_model_on_photos(tmp_path, images_dir, models_dir):
    # Labels from the fixture README: the reference MobileNetV2 gets these right.
    rows = [("bird.bmp", "chickadee"), ("dragonfly.bmp", "dragonfly"), ("parrot.jpg", "macaw"),
            ("sunflower.bmp", "daisy"), ("cat.bmp", "goldfish")]
    data = tmp_path / "labels.csv"
    with open(data, "w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["file", "label"])
        writer.writerows((str(images_dir / name), label) for name, label in rows)
    (tmp_path / "broken.jpg").write_bytes(b"not a jpeg")
    with open(data, "a", newline="") as file:
        csv.writer(file).writerow(["broken.jpg", "daisy"])
    classifier = Classifier(models_dir / "mobilenet_v2_1.0_224_quant.tflite",
                            labels=models_dir / "imagenet_labels.txt", num_threads=1)
    accuracy = evaluate(classifier, load_labelled_images(data))
    assert accuracy.images == 5
    assert accuracy.skipped == 1
    assert accuracy.top1 == pytest.approx(80.0)
    assert accuracy.unknown_labels == ()


def test_evaluate_rejects_foreign_labels(tmp_path, images_dir, models_dir):
    (tmp_path / "robot_arm").mkdir()
    cv2.imwrite(str(tmp_path / "robot_arm" / "a.png"), cv2.imread(str(images_dir / "bird.bmp")))
    classifier = Classifier(models_dir / "mobilenet_v1_0.25_128_quant.tflite",
                            labels=models_dir / "imagenet_labels.txt", num_threads=1)
    with pytest.raises(LinceError, match="robot_arm"):
        evaluate(classifier, load_labelled_images(tmp_path))


# -- measurement ---------------------------------------------------------------


def test_measure_small_model_in_process(models_dir):
    model = models_dir / "mobilenet_v1_0.25_128_quant.tflite"
    result = measure_model(model, threads=1, runs=15, warmup=2)
    assert result.runs == 15
    assert result.threads == 1
    assert result.quantization == "int8"
    assert result.size_bytes == model.stat().st_size
    assert 0 < result.p50_ms <= result.p90_ms <= result.p99_ms
    assert result.throughput > 0
    assert result.load_ms > 0
    assert result.peak_rss_mb > 10
    assert result.accuracy is None


def test_measure_rejects_zero_runs(models_dir):
    with pytest.raises(LinceError, match="at least 1"):
        measure_model(models_dir / "mobilenet_v1_0.25_128_quant.tflite", threads=1, runs=0)


def test_isolated_runs_share_accuracy(models_dir):
    model = models_dir / "mobilenet_v1_0.25_128_quant.tflite"
    samples = load_labelled_images(require_fixture("imagenet-sample", "labels.csv"), limit=20)
    results = benchmark([model], BenchmarkSettings(runs=5, warmup=1, threads=(1, 2)), samples=samples,
                        labels=models_dir / "imagenet_labels.txt")
    assert [r.threads for r in results] == [1, 2]
    assert results[0].accuracy.images == 20
    assert results[1].accuracy == results[0].accuracy
    # A fresh process holds only this model: far below TensorFlow's 500 MB.
    assert 10 < results[0].peak_rss_mb < 300


def test_isolated_error_is_reported(models_dir):
    broken = models_dir / "model_invoking_error.tflite"
    with pytest.raises(LinceError, match="model_invoking_error.tflite"):
        benchmark([broken], BenchmarkSettings(runs=2, warmup=1))


@pytest.mark.tensorflow
@pytest.mark.slow
def test_detect_quantization_of_exports(lite0_float_tflite, lite0_int8_tflite):
    assert detect_quantization(Classifier(lite0_float_tflite, num_threads=1)) == "float32"
    assert detect_quantization(Classifier(lite0_int8_tflite, num_threads=1)) == "int8"


# -- recommendation --------------------------------------------------------------


def _measurement(model, p50, top1, quantization, threads=1):
    accuracy = None if top1 is None else Accuracy(top1=top1, top5=top1, images=100, skipped=0)
    return Measurement(model=model, threads=threads, quantization=quantization, size_bytes=1, load_ms=1.0,
                       first_ms=1.0, p50_ms=p50, p90_ms=p50, p99_ms=p50, mean_ms=p50, throughput=1000 / p50,
                       peak_rss_mb=50.0, runs=10, accuracy=accuracy)


VARIANTS = [
    _measurement("float32.tflite", 3.0, 75.0, "float32"),
    _measurement("float32.tflite", 2.5, 75.0, "float32", threads=2),
    _measurement("float16.tflite", 2.9, 75.0, "float16"),
    _measurement("int8.tflite", 1.2, 74.4, "int8"),
    _measurement("dynamic.tflite", 1.0, 69.0, "dynamic"),
]


def test_recommend_fastest_within_drop():
    choice = recommend(VARIANTS, max_drop=1.0)
    assert choice.choice.model == "int8.tflite"
    assert choice.reference.model == "float32.tflite"
    assert choice.reference.threads == 2
    assert choice.drop == pytest.approx(0.6)


def test_recommend_larger_drop_allows_dynamic():
    assert recommend(VARIANTS, max_drop=10.0).choice.model == "dynamic.tflite"


def test_recommend_zero_drop_keeps_float_accuracy():
    assert recommend(VARIANTS, max_drop=0.0).choice.model == "float32.tflite"


def test_recommend_explicit_reference():
    choice = recommend(VARIANTS, max_drop=0.0, reference="int8.tflite")
    assert choice.reference.model == "int8.tflite"
    assert choice.choice.model == "int8.tflite"


def test_recommend_unknown_reference():
    with pytest.raises(LinceError, match="other.tflite"):
        recommend(VARIANTS, max_drop=1.0, reference="other.tflite")


def test_recommend_without_float_model_notes_it():
    choice = recommend(VARIANTS[3:], max_drop=1.0)
    assert choice.reference.model == "int8.tflite"
    assert len(choice.notes) == 1


def test_recommend_without_accuracy():
    assert recommend([_measurement("a.tflite", 1.0, None, "int8")], max_drop=1.0) is None


def test_measurement_round_trip():
    original = VARIANTS[3]
    copy = Measurement.from_dict(original.to_dict())
    assert copy.model == original.model
    assert copy.accuracy.top1 == original.accuracy.top1
    assert math.isclose(copy.p50_ms, original.p50_ms)


def test_merge_rounds_recomputes_percentiles():
    first = replace(VARIANTS[0], latencies_ms=(1.0, 2.0, 3.0), runs=3, throughput=1000.0, load_ms=10.0,
                    peak_rss_mb=40.0)
    second = replace(VARIANTS[0], latencies_ms=(4.0, 5.0, 6.0, 7.0), runs=4, throughput=200.0, load_ms=30.0,
                     peak_rss_mb=60.0)
    merged = merge_rounds([first, second])
    assert merged.runs == 7
    assert merged.p50_ms == pytest.approx(4.0)
    assert merged.mean_ms == pytest.approx(4.0)
    assert merged.load_ms == pytest.approx(20.0)
    assert merged.peak_rss_mb == 60.0
    # 3 runs in 3 ms plus 4 runs in 20 ms.
    assert merged.throughput == pytest.approx(7 / 0.023)


def test_rounds_merge_all_runs(models_dir):
    model = models_dir / "mobilenet_v1_0.25_128_quant.tflite"
    [result] = benchmark([model], BenchmarkSettings(runs=5, warmup=1, threads=(1,), rounds=3))
    # 5 runs over 3 rounds: 2 per round.
    assert result.runs == 6
    assert len(result.latencies_ms) == 6
    assert "latencies_ms" not in result.to_dict()
