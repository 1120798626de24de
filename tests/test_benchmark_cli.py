"""``lince benchmark`` through its command line."""

import json
import subprocess
import sys
import textwrap

import pytest
from click.testing import CliRunner

from conftest import require_fixture
from lince.cli import cli
from lince.cli.benchmark import display_names


@pytest.fixture(scope="module")
def small_model(models_dir):
    return models_dir / "mobilenet_v1_0.25_128_quant.tflite"


@pytest.fixture(scope="module")
def second_model(models_dir):
    return models_dir / "mobilenet_v2_1.0_224_quant.tflite"


def _invoke(*args):
    return CliRunner().invoke(cli, ["benchmark", *map(str, args)])


def test_table_has_row_per_model_and_thread(small_model, second_model):
    result = _invoke(small_model, second_model, "--threads", "1,2", "--runs", "5", "--rounds", "1", "--warmup", "1")
    assert result.exit_code == 0, result.output
    rows = [line for line in result.output.splitlines() if line.startswith("mobilenet_") and "speed of" not in line]
    assert len(rows) == 4
    assert [row.split()[2] for row in rows] == ["1", "2", "1", "2"]
    assert "p99 ms" in result.output
    assert "the speed of mobilenet_v2_1.0_224_quant.tflite" in result.output


def test_json_output(small_model):
    result = _invoke(small_model, "--threads", "1", "--runs", "4", "--rounds", "2", "--warmup", "0", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.splitlines()[-1])
    assert report["runs"] == 4
    assert report["rounds"] == 2
    assert report["machine"]["cores"] >= 1
    [row] = report["results"]
    assert row["model"] == str(small_model)
    assert row["threads"] == 1
    assert row["runs"] == 4
    assert "latencies_ms" not in row
    assert row["size_bytes"] == small_model.stat().st_size
    assert row["quantization"] == "int8"
    assert row["p50_ms"] <= row["p99_ms"]
    assert report["recommendation"] is None


def test_eval_gives_recommendation(small_model, second_model, models_dir):
    labels_csv = require_fixture("imagenet-sample", "labels.csv")
    result = _invoke(small_model, second_model, "--threads", "1", "--runs", "3", "--rounds", "1", "--eval", labels_csv,
                     "--eval-limit", "25", "--labels", models_dir / "imagenet_labels.txt", "--max-drop", "100",
                     "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output.splitlines()[-1])
    accuracy = {row["model"]: row["accuracy"] for row in report["results"]}
    assert accuracy[str(small_model)]["images"] == 25
    # The 0.25-width MobileNetV1 is far less accurate than MobileNetV2 (about 40 % against 70 %).
    assert accuracy[str(small_model)]["top1"] < accuracy[str(second_model)]["top1"]
    recommendation = report["recommendation"]
    assert recommendation["reference"] == str(second_model)
    # Any drop is allowed, so the fastest model wins.
    assert recommendation["model"] == str(small_model)


def test_eval_text_mentions_recommendation(small_model, models_dir):
    labels_csv = require_fixture("imagenet-sample", "labels.csv")
    result = _invoke(small_model, "--threads", "1", "--runs", "2", "--rounds", "1", "--eval", labels_csv, "--eval-limit", "5",
                     "--labels", models_dir / "imagenet_labels.txt")
    assert result.exit_code == 0, result.output
    assert "top-1 %" in result.output
    assert "Recommendation: mobilenet_v1_0.25_128_quant.tflite" in result.output


def test_in_process_mode(small_model):
    result = _invoke(small_model, "--threads", "1", "--runs", "3", "--in-process", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output.splitlines()[-1])["results"][0]["runs"] == 3


@pytest.mark.parametrize("threads", ["0", "1,x", "", "65"])
def test_bad_threads(small_model, threads):
    result = _invoke(small_model, "--threads", threads)
    assert result.exit_code == 2
    assert "--threads" in result.output


def test_missing_model(tmp_path):
    result = _invoke(tmp_path / "absent.tflite")
    assert result.exit_code == 1
    assert "absent.tflite: model file not found" in result.output
    assert "Traceback" not in result.output


def test_not_a_model(tmp_path):
    fake = tmp_path / "fake.tflite"
    fake.write_bytes(b"\x00" * 64)
    result = _invoke(fake, "--threads", "1", "--runs", "1")
    assert result.exit_code == 1
    assert "fake.tflite: not a TFLite model" in result.output


def test_invoke_failure_is_one_line(models_dir):
    result = _invoke(models_dir / "model_invoking_error.tflite", "--threads", "1", "--runs", "1")
    assert result.exit_code == 1
    assert "model_invoking_error.tflite" in result.output
    assert "Traceback" not in result.output


def test_reference_must_be_a_model(small_model, second_model):
    result = _invoke(small_model, "--reference", second_model)
    assert result.exit_code == 2
    assert "--reference" in result.output


def test_display_names_disambiguate(tmp_path):
    names = display_names([tmp_path / "a" / "m.tflite", tmp_path / "b" / "m.tflite", tmp_path / "x.tflite"])
    assert names[str(tmp_path / "x.tflite")] == "x.tflite"
    assert names[str(tmp_path / "a" / "m.tflite")] == str(tmp_path / "a" / "m.tflite")


def test_benchmark_without_tensorflow(small_model):
    # Like a Raspberry Pi with the runtime alone: importing TensorFlow fails.
    code = textwrap.dedent(f"""
        import sys

        class BlockTensorFlow:
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in ("tensorflow", "keras"):
                    raise ImportError(name + " is blocked")
                return None

        sys.meta_path.insert(0, BlockTensorFlow())
        sys.argv = ["lince", "benchmark", {str(small_model)!r}, "--threads", "1", "--runs", "2", "--in-process"]
        from lince.cli import main
        try:
            main()
        except SystemExit as exit:
            assert "tensorflow" not in sys.modules
            raise
    """)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert "mobilenet_v1_0.25_128_quant.tflite" in done.stdout


def test_help_lists_options():
    result = CliRunner().invoke(cli, ["benchmark", "--help"])
    assert result.exit_code == 0
    for option in ("--threads", "--runs", "--json", "--eval", "--max-drop"):
        assert option in result.output


def _scored(model, p50, top1, quantization):
    from lince.runtime.benchmark import Measurement
    from lince.runtime.evaluation import Accuracy

    return Measurement(model=model, threads=2, quantization=quantization, size_bytes=1, load_ms=1.0, first_ms=1.0,
                       p50_ms=p50, p90_ms=p50, p99_ms=p50, mean_ms=p50, throughput=1.0, peak_rss_mb=1.0, runs=1,
                       accuracy=Accuracy(top1=top1, top5=top1, images=10, skipped=0))


def test_recommendation_text_drop_and_gain():
    from lince.cli.benchmark import format_recommendation
    from lince.runtime.benchmark import recommend

    names = {"f.tflite": "f.tflite", "q.tflite": "q.tflite"}
    below = recommend([_scored("f.tflite", 3.0, 80.0, "float32"), _scored("q.tflite", 1.0, 79.5, "int8")], 1.0)
    assert "0.5 points below f.tflite" in format_recommendation(below, names)
    above = recommend([_scored("f.tflite", 3.0, 80.0, "float32"), _scored("q.tflite", 1.0, 81.0, "int8")], 1.0)
    assert "1.0 points above f.tflite" in format_recommendation(above, names)
