"""Where an int8 export normalises its input: in the input's quantization, or in the graph.

One mean and one std fit an integer input's scale and zero point, so the
export leaves SUB and MUL ops out and the runtime quantizes ``(x - mean) /
std``. Per-channel means and stds stay in the graph.
"""

import json
import warnings
import zipfile

import numpy as np
import pytest

from lince.runtime import Classifier
from lince.runtime.errors import ModelLoadError
from quant_support import train_colour_model, write_class_folder, write_labels

pytestmark = [pytest.mark.tensorflow, pytest.mark.slow]


@pytest.fixture(scope="module")
def colour_exports(tmp_path_factory):
    pytest.importorskip("tensorflow")
    from lince.export import ExportConfig, export_model
    from lince.models.preprocessing import get_preset

    root = tmp_path_factory.mktemp("input-normalization")
    model = train_colour_model(root / "colour.keras")
    images = write_class_folder(root / "images", per_class=10)
    labels = write_labels(root / "labels.txt")
    exports = {}
    for name, quantization, io_type, preset in (
            ("uint8", "int8", "uint8", "tf"), ("int8", "int8", "int8", "tf"),
            ("per_channel", "int8", "uint8", "torch"), ("float32", "float32", "uint8", "tf")):
        config = ExportConfig(model_path=model, output_path=root / f"{name}.tflite", quantization=quantization,
                              io_type=io_type, calibration_dir=images, calibration_count=40, labels_path=labels,
                              normalization=get_preset(preset))
        exports[name] = export_model(config)
    return exports, images


def _document(path):
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("lince.json"))


def _prepared_images(classifier, folder):
    from lince.runtime.image_io import read_image

    return [classifier.prepare(read_image(path)) for path in sorted(folder.rglob("*.png"))]


@pytest.mark.parametrize("name", ["uint8", "int8"])
def test_input_quantization_normalises_pixels(colour_exports, name):
    exports, _images = colour_exports
    path = exports[name].path
    assert _document(path)["input"]["normalization"]["folded"] is False
    classifier = Classifier(path)
    assert classifier.input_dtype == np.dtype(name)
    scale, zero_point = classifier.input_quantization
    table = classifier._pixel_table
    quantized = np.arange(256) if table is None else table.astype(np.int64)
    # Each pixel's tensor value represents (pixel - 127.5) / 127.5 to within
    # half a quantization step, inside the range calibration saw.
    real = (quantized - zero_point) * scale
    inside = (real > -1 + scale) & (real < 1 - scale)
    assert inside.sum() > 200
    expected = (np.arange(256) - 127.5) / 127.5
    assert np.max(np.abs(real - expected)[inside]) <= scale / 2 + 1e-6


def test_uint8_and_int8_inputs_agree(colour_exports):
    exports, images = colour_exports
    unsigned, signed = Classifier(exports["uint8"].path), Classifier(exports["int8"].path)
    assert signed.input_quantization[1] == unsigned.input_quantization[1] - 128
    for image in _prepared_images(unsigned, images)[::5]:
        probabilities_u8 = unsigned.classify_prepared(image).probabilities
        probabilities_i8 = signed.classify_prepared(image).probabilities
        np.testing.assert_allclose(probabilities_u8, probabilities_i8, atol=1e-6)


def test_integer_input_exports_match_float(colour_exports):
    exports, _images = colour_exports
    for name in ("uint8", "int8"):
        comparison = exports[name].comparison
        assert comparison.top1_agreement >= 0.95, name
        assert comparison.export_accuracy >= exports["float32"].comparison.export_accuracy - 0.05, name


def test_per_channel_stays_in_graph(colour_exports):
    exports, _images = colour_exports
    path = exports["per_channel"].path
    assert _document(path)["input"]["normalization"]["folded"] is True
    classifier = Classifier(path)
    # Raw pixels: calibration saw the 0-255 range the graph's SUB starts from.
    assert classifier.input_dtype == np.uint8
    assert classifier._pixel_table is None or classifier.input_quantization[0] > 0.5


def test_float_export_normalises_in_graph(colour_exports):
    exports, _images = colour_exports
    assert _document(exports["float32"].path)["input"]["normalization"]["folded"] is True


def test_runtime_rejects_unusable_normalisation(colour_exports, tmp_path):
    # A float input has no quantization to normalise with: the runtime must
    # not feed it raw pixels silently.
    exports, _images = colour_exports
    path = tmp_path / "float_unfolded.tflite"
    path.write_bytes(exports["float32"].path.read_bytes())
    document = _document(path)
    document["input"]["normalization"]["folded"] = False
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the replaced name
        with zipfile.ZipFile(path, "a") as archive:
            archive.writestr("lince.json", json.dumps(document))
    with pytest.raises(ModelLoadError, match="export the model again"):
        Classifier(path)
