"""Export to TFLite: real models, packed metadata, guards and atomic output."""

import json
import os
import subprocess
import sys
import zipfile

import flatbuffers
import numpy as np
import pytest

from lince.runtime import Classifier
from reference import EXPECTED_TOP1

pytestmark = pytest.mark.tensorflow


def _cli(*args):
    env = {**os.environ, "LANG": "C", "LANGUAGE": "", "LC_ALL": "", "LINCE_LANG": ""}
    return subprocess.run([sys.executable, "-m", "lince", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=600)


@pytest.mark.slow
@pytest.mark.parametrize("photo, expected", sorted(EXPECTED_TOP1.items()))
def test_lite0_int8_labels_match(lite0_int8_tflite, images_dir, photo, expected):
    # The labels travel inside the model: no label file is passed here.
    classifier = Classifier(lite0_int8_tflite)
    assert classifier.classify_file(images_dir / photo).label.startswith(expected)


@pytest.mark.slow
def test_lite0_float_labels_match(lite0_float_tflite, images_dir):
    classifier = Classifier(lite0_float_tflite)
    for photo, expected in EXPECTED_TOP1.items():
        assert classifier.classify_file(images_dir / photo).label.startswith(expected), photo


@pytest.mark.slow
def test_int8_size_ratio(lite0_int8_tflite, lite0_float_tflite):
    ratio = lite0_int8_tflite.stat().st_size / lite0_float_tflite.stat().st_size
    assert ratio <= 0.30


@pytest.mark.slow
def test_int8_tensors_are_integer(lite0_int8_tflite):
    classifier = Classifier(lite0_int8_tflite)
    assert classifier.input_dtype == np.uint8
    details = classifier._interpreter.get_tensor_details()
    float_tensors = [d["name"] for d in details if d["dtype"] == np.float32]
    assert float_tensors == []


def _operator_names(model_path):
    from ai_edge_litert.tools import flatbuffer_utils
    from ai_edge_litert import schema_py_generated as schema

    names = {value: name for name, value in vars(schema.BuiltinOperator).items() if not name.startswith("_")}
    model = flatbuffer_utils.read_model_from_bytearray(bytearray(model_path.read_bytes()))
    codes = [max(code.builtinCode, code.deprecatedBuiltinCode) for code in model.operatorCodes]
    return [names[codes[op.opcodeIndex]] for op in model.subgraphs[0].operators]


@pytest.mark.slow
def test_int8_input_takes_raw_pixels(lite0_int8_tflite, lite0_float_tflite):
    # (x - 127) / 128 quantized with scale 1/128 and zero point 127 is the
    # pixel itself: raw pixels go in unchanged and no SUB or MUL op is left.
    classifier = Classifier(lite0_int8_tflite)
    assert classifier.input_quantization == (1 / 128, 127)
    assert classifier._pixel_table is None
    operators = _operator_names(lite0_int8_tflite)
    assert "SUB" not in operators
    assert "MUL" not in operators
    assert operators[:2] == ["QUANTIZE", "CONV_2D"]
    # The float model keeps its normalisation in the graph.
    assert _before_first_conv(_operator_names(lite0_float_tflite)) == ["SUB", "MUL"]


def _before_first_conv(operators):
    return operators[:operators.index("CONV_2D")]


@pytest.mark.slow
def test_packed_files(lite0_int8_tflite):
    with zipfile.ZipFile(lite0_int8_tflite) as archive:
        assert sorted(archive.namelist()) == ["labels.txt", "lince.json"]
        labels = archive.read("labels.txt").decode().splitlines()
        document = json.loads(archive.read("lince.json"))
    assert len(labels) == 1000
    assert labels[1] == "goldfish, Carassius auratus"
    assert document["format"] == "lince-model"
    assert document["quantization"] == "int8"
    assert document["input"]["size"] == [224, 224]
    assert document["input"]["normalization"]["mean"] == [127.0, 127.0, 127.0]
    # One mean and one std: the int8 input's quantization normalises, not the graph.
    assert document["input"]["normalization"]["folded"] is False
    assert document["output"]["type"] == "probabilities"
    assert len(document["source"]["sha256"]) == 64


def _metadata_root(model_path):
    """Return the ModelMetadata table stored in the model's TFLITE_METADATA buffer."""
    from ai_edge_litert.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model_from_bytearray(bytearray(model_path.read_bytes()))
    entries = {entry.name.decode(): entry.buffer for entry in model.metadata}
    assert "TFLITE_METADATA" in entries
    data = bytes(model.buffers[entries["TFLITE_METADATA"]].data)
    assert flatbuffers.util.BufferHasIdentifier(data, 0, b"M001")
    return flatbuffers.table.Table(data, flatbuffers.encode.Get(flatbuffers.packer.uoffset, data, 0))


def _field(table, slot):
    return table.Offset(4 + 2 * slot)


def _string(table, slot):
    offset = _field(table, slot)
    return table.String(offset + table.Pos).decode() if offset else None


def _vector_tables(table, slot):
    offset = _field(table, slot)
    start, count = table.Vector(offset), table.VectorLen(offset)
    return [flatbuffers.table.Table(table.Bytes, table.Indirect(start + 4 * i)) for i in range(count)]


@pytest.mark.slow
def test_standard_metadata_names_label_file(lite0_int8_tflite):
    """Tools that read TFLite metadata find the label file on the output tensor."""
    root = _metadata_root(lite0_int8_tflite)
    assert _string(root, 0) == "efficientnet_lite0_imagenet"  # ModelMetadata.name
    assert _string(root, 7) == "1.0.0"  # min_parser_version
    subgraph = _vector_tables(root, 3)[0]
    output = _vector_tables(subgraph, 3)[0]  # output_tensor_metadata
    label_file = _vector_tables(output, 6)[0]  # associated_files
    assert _string(label_file, 0) == "labels.txt"
    assert label_file.Get(flatbuffers.number_types.Int8Flags, _field(label_file, 2) + label_file.Pos) == 2


@pytest.mark.slow
def test_truncated_export_rejected(lite0_int8_tflite, tmp_path):
    from lince.runtime import ModelLoadError

    data = lite0_int8_tflite.read_bytes()
    truncated = tmp_path / "truncated.tflite"
    # Only the packed ZIP is cut: the flatbuffer itself still loads.
    truncated.write_bytes(data[:-300])
    with pytest.raises(ModelLoadError, match="truncated"):
        Classifier(truncated)


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    """A small trained-looking Keras classifier on 32x32 images with a Dropout layer."""
    import keras

    keras.utils.set_random_seed(1)
    inputs = keras.Input((32, 32, 3))
    x = keras.layers.Conv2D(8, 3, strides=2, activation="relu")(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dropout(0.2)(x)
    outputs = keras.layers.Dense(3, activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    folder = tmp_path_factory.mktemp("tiny")
    path = folder / "tiny.keras"
    model.save(path)
    return path, model


@pytest.fixture(scope="module")
def calibration_folder(tmp_path_factory):
    import cv2

    folder = tmp_path_factory.mktemp("calibration")
    rng = np.random.default_rng(0)
    for index in range(12):
        image = rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)
        cv2.rectangle(image, (5, 5), (20 + index, 30), (0, 0, 255) if index % 2 else (255, 0, 0), -1)
        cv2.imwrite(str(folder / f"frame {index}.png"), image)
    return folder


def test_refuses_to_overwrite(tiny_model, tmp_path):
    output = tmp_path / "model.tflite"
    output.write_bytes(b"keep me")
    result = _cli("export", tiny_model[0], "-o", output)
    assert result.returncode != 0
    assert "--overwrite" in result.stderr
    assert output.read_bytes() == b"keep me"
    assert "Traceback" not in result.stderr


def test_float_export_matches_keras(tiny_model, calibration_folder, tmp_path):
    from lince.runtime.image_io import read_image

    path, model = tiny_model
    output = tmp_path / "tiny.tflite"
    result = _cli("export", path, "-o", output, "--preprocess", "unit", "--labels", _labels(tmp_path))
    assert result.returncode == 0, result.stderr
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []

    classifier = Classifier(output)
    assert classifier.labels == ["red", "green", "blue"]
    image = next(iter(sorted(calibration_folder.iterdir())))
    prepared = classifier.prepare(read_image(image))
    expected = model.predict(prepared[np.newaxis].astype(np.float32) / 255.0, verbose=0)[0]
    got = classifier.classify_prepared(prepared, top_k=3).probabilities
    np.testing.assert_allclose(got, expected, atol=1e-5)


def _labels(folder):
    path = folder / "labels.txt"
    path.write_text("red\ngreen\nblue\n")
    return path


def test_int8_input_type(tiny_model, calibration_folder, tmp_path):
    output = tmp_path / "tiny_int8.tflite"
    result = _cli("export", tiny_model[0], "-o", output, "--int8", "--input-type", "int8",
                  "--calibration", calibration_folder, "--preprocess", "unit")
    assert result.returncode == 0, result.stderr
    assert "top-1 agreement" in result.stdout
    classifier = Classifier(output)
    assert classifier.input_dtype == np.int8
    result = classifier.classify_file(next(calibration_folder.iterdir()), top_k=3)
    assert result.probabilities.sum() == pytest.approx(1.0, abs=0.05)


def test_int8_needs_calibration(tiny_model, tmp_path):
    result = _cli("export", tiny_model[0], "-o", tmp_path / "x.tflite", "--int8")
    assert result.returncode != 0
    assert "--calibration" in result.stderr
    assert not (tmp_path / "x.tflite").exists()


def test_lambda_layer_needs_unsafe_load(tmp_path):
    import keras

    inputs = keras.Input((16, 16, 3))
    x = keras.layers.Lambda(lambda t: t * 2.0)(inputs)
    x = keras.layers.GlobalAveragePooling2D()(x)
    model = keras.Model(inputs, keras.layers.Dense(2, activation="softmax")(x))
    path = tmp_path / "lambda.keras"
    model.save(path)

    refused = _cli("export", path, "-o", tmp_path / "lambda.tflite")
    assert refused.returncode != 0
    assert "--unsafe-load" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert not (tmp_path / "lambda.tflite").exists()

    allowed = _cli("export", path, "-o", tmp_path / "lambda.tflite", "--unsafe-load")
    assert allowed.returncode == 0, allowed.stderr
    assert Classifier(tmp_path / "lambda.tflite").num_classes == 2


def test_saved_model_folder(tiny_model, tmp_path):
    import tensorflow as tf

    _, model = tiny_model
    module = tf.Module()
    module.model = model
    module.serve = tf.function(lambda x: {"scores": model(x, training=False)},
                               input_signature=[tf.TensorSpec([None, 32, 32, 3], tf.float32, name="x")])
    folder = tmp_path / "saved"
    tf.saved_model.save(module, str(folder), signatures={"serving_default": module.serve})
    output = tmp_path / "saved.tflite"
    result = _cli("export", folder, "-o", output, "--preprocess", "unit")
    assert result.returncode == 0, result.stderr
    assert Classifier(output).num_classes == 3


def test_degenerate_int8_is_rejected(tiny_model, calibration_folder, tmp_path, monkeypatch):
    from lince.export import ExportConfig, ExportError, export_model
    from lince.export import pipeline

    def one_class_everywhere(model_path, images):
        probabilities = np.zeros((len(images), 3), np.float32)
        probabilities[:, 0] = 1.0
        return probabilities

    def varied_source(function, images, batch_size=16):
        return np.eye(3, dtype=np.float32)[np.arange(len(images)) % 3]

    monkeypatch.setattr(pipeline, "tflite_probabilities", one_class_everywhere)
    monkeypatch.setattr(pipeline, "source_scores", varied_source)
    output = tmp_path / "collapsed.tflite"
    config = ExportConfig(model_path=tiny_model[0], output_path=output, quantization="int8",
                          calibration_dir=calibration_folder)
    with pytest.raises(ExportError, match="degenerate"):
        export_model(config)
    assert not output.exists()
    assert (tmp_path / "collapsed.rejected.tflite").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.endswith(".part")] == []


def test_missing_model_one_line(tmp_path):
    result = _cli("export", tmp_path / "nope.keras", "-o", tmp_path / "x.tflite")
    assert result.returncode != 0
    assert "Traceback" not in result.stderr
    assert "nope.keras" in result.stderr
