"""The LiteRT classifier on Google's reference models and real photos."""

import csv

import numpy as np
import pytest

from lince.runtime import Classifier, ModelLoadError
from lince.runtime.classifier import looks_like_probabilities, softmax
from reference import EXPECTED_TOP1

@pytest.fixture(scope="module")
def mobilenet_v2(models_dir):
    return Classifier(models_dir / "mobilenet_v2_1.0_224_quant.tflite",
                      labels=models_dir / "imagenet_labels.txt", num_threads=2)


@pytest.mark.parametrize("photo, expected", sorted(EXPECTED_TOP1.items()))
def test_reference_mobilenet_top1(mobilenet_v2, images_dir, photo, expected):
    result = mobilenet_v2.classify_file(images_dir / photo, top_k=5)
    assert result.label.startswith(expected)
    scores = [p.score for p in result.top_k]
    assert scores == sorted(scores, reverse=True)
    assert result.probabilities.shape == (1001,)


def test_reference_model_input_untouched(mobilenet_v2):
    # Google's uint8 models define their normalisation by the input scale and
    # zero point, so raw pixels go in unchanged.
    assert mobilenet_v2.input_dtype == np.uint8
    assert mobilenet_v2._pixel_table is None
    assert mobilenet_v2.preprocessing.size == (224, 224)
    assert mobilenet_v2.info is None


def test_background_with_1000_labels(models_dir, images_dir):
    classifier = Classifier(models_dir / "mobilenet_v2_1.0_224_quant.tflite",
                            labels=models_dir / "imagenet1000_labels.txt")
    assert classifier.labels[0] == "background"
    assert len(classifier.labels) == 1001
    result = classifier.classify_file(images_dir / "parrot.jpg")
    assert result.label == "macaw"
    assert result.index == 89


def test_label_count_mismatch(models_dir, tmp_path):
    labels = tmp_path / "labels.txt"
    labels.write_text("cat\ndog\n")
    with pytest.raises(ModelLoadError, match="1001 outputs but the label file has 2 names"):
        Classifier(models_dir / "mobilenet_v2_1.0_224_quant.tflite", labels=labels)


def test_packed_labels_of_reference_model(models_dir, images_dir):
    # This reference model packs its label file in the TFLite metadata ZIP.
    classifier = Classifier(models_dir / "mobilenet_v1_0.25_128_quant.tflite")
    assert classifier.preprocessing.size == (128, 128)
    assert len(classifier.labels) == 1001
    assert classifier.classify_file(images_dir / "bird.bmp").label == "chickadee"


def test_tf2_post_training_model(models_dir, images_dir):
    classifier = Classifier(models_dir / "tf2_mobilenet_v2_1.0_224_ptq.tflite",
                            labels=models_dir / "imagenet_labels.txt")
    assert classifier.classify_file(images_dir / "bird.bmp").label == "chickadee"


@pytest.mark.parametrize("threads", [1, 2])
def test_num_threads_recorded(models_dir, threads):
    classifier = Classifier(models_dir / "mobilenet_v1_0.25_128_quant.tflite", num_threads=threads)
    assert classifier.num_threads == threads


def test_video_frames_match_csv(mobilenet_v2, fixtures_dir):
    """Every 10th labelled frame of the fixture video gets its expected label."""
    import cv2

    video = fixtures_dir / "videos" / "slideshow_640x480_30fps.mp4"
    with open(fixtures_dir / "videos" / "slideshow_640x480_30fps.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    label_column = [name for name in rows[0] if name != "frame"][0]
    capture = cv2.VideoCapture(str(video))
    checked = correct = 0
    for number, row in enumerate(rows):
        ok, frame = capture.read()
        assert ok, f"frame {number} missing"
        if not row[label_column] or number % 10:
            continue
        checked += 1
        correct += mobilenet_v2.classify(frame).label == row[label_column]
    capture.release()
    assert checked >= 25
    assert correct / checked >= 0.95


def test_softmax_sums_to_one():
    values = softmax(np.array([1.0, 2.0, 3.0, 1000.0], dtype=np.float32))
    assert values.sum() == pytest.approx(1.0)
    assert values.argmax() == 3
    assert looks_like_probabilities(values)
    assert not looks_like_probabilities(np.array([3.0, -2.0, 0.5]))


def test_quantized_probabilities_not_softmaxed(models_dir, images_dir):
    # This model's uint8 probabilities sum to 0.88 on the cat photo: they
    # must still be read as probabilities, not as logits.
    classifier = Classifier(models_dir / "tf2_mobilenet_v2_1.0_224_ptq.tflite",
                            labels=models_dir / "imagenet_labels.txt")
    result = classifier.classify_file(images_dir / "cat.bmp")
    assert result.label == "Egyptian cat"
    assert result.score > 0.5
