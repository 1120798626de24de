"""Accuracy of a ``.keras`` or ``.tflite`` classifier on labelled photos.

Both kinds of model see the same pixels: :func:`read_image` then
:func:`prepare_image` with the model's preprocessing. A ``.tflite`` runs in
:class:`lince.runtime.Classifier` (no TensorFlow); a ``.keras`` model gets
the normalisation recorded in its ``lince.json`` (or given by the caller).
"""

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy as np

from lince.models.dataset import LabelledFiles, read_labels_csv, scan_class_folders
from lince.models.preprocessing import Normalization
from lince.models.report import MAX_GALLERY, THUMBNAIL, confusion_matrix, top_k_accuracy
from lince.runtime.errors import ImageDecodeError, LinceError, _
from lince.runtime.image_io import read_image
from lince.runtime.preprocess import Preprocessing, prepare_image

logger = logging.getLogger(__name__)


@dataclass
class Evaluation:
    """Results of one evaluation.

    Attributes:
        classes: the model's class names, in output order.
        true, predicted: class indices per evaluated image.
        probabilities: ``(images, classes)`` scores.
        paths: the evaluated images.
        skipped: ``(path, reason)`` of images that could not be read.
        mistakes: ``(RGB thumbnail, true, predicted, score)`` of the first misclassified images.
    """

    classes: Tuple[str, ...]
    true: np.ndarray
    predicted: np.ndarray
    probabilities: np.ndarray
    paths: List[Path]
    skipped: List[Tuple[Path, str]] = field(default_factory=list)
    mistakes: List[tuple] = field(default_factory=list)

    def top_k(self, k: int) -> float:
        return top_k_accuracy(self.probabilities, self.true, k)

    @property
    def present_classes(self) -> List[int]:
        """Indices of the classes that occur in the data, as true labels."""
        return sorted(set(self.true.tolist()))

    def confusion(self) -> Tuple[List[str], np.ndarray]:
        """Return the confusion matrix restricted to the classes present in the data."""
        present = self.present_classes
        position = {index: n for n, index in enumerate(present)}
        matrix = np.zeros((len(present), len(present)), np.int64)
        full = confusion_matrix(self.true, self.predicted, len(self.classes))
        for index in present:
            matrix[position[index]] = full[index, present]
        return [self.classes[i] for i in present], matrix


class TFLitePredictor:
    """Probabilities from a ``.tflite`` through :class:`lince.runtime.Classifier`."""

    def __init__(self, path: Path, labels=None, num_threads: Optional[int] = None):
        from lince.runtime.classifier import Classifier

        self.classifier = Classifier(path, labels=labels, num_threads=num_threads)
        self.classes = tuple(self.classifier.labels)
        self.preprocessing = self.classifier.preprocessing

    def predict_batch(self, images: np.ndarray) -> np.ndarray:
        rows = []
        for rgb in images:
            self.classifier.set_input(rgb)
            self.classifier.invoke()
            rows.append(self.classifier.probabilities())
        return np.stack(rows)


class KerasPredictor:
    """Probabilities from a Keras model fed ``normalization.apply(pixels)``."""

    def __init__(self, path: Path, classes: Sequence[str], normalization: Normalization):
        import keras

        try:
            self.model = keras.models.load_model(str(path), compile=False)
        except (ValueError, OSError, TypeError) as error:
            raise LinceError(_("{path}: cannot load the Keras model: {reason}").format(
                path=path, reason=str(error).splitlines()[0] if str(error) else type(error).__name__)) from None
        shape = self.model.input_shape
        if len(shape) != 4 or not shape[1] or not shape[2]:
            raise LinceError(_("{path}: the model input {shape} is not a fixed-size image batch").format(
                path=path, shape=shape))
        outputs = int(self.model.output_shape[-1])
        if outputs != len(classes):
            raise LinceError(_("{path}: the model has {classes} outputs but the label file has {labels} names")
                             .format(path=path, classes=outputs, labels=len(classes)))
        self.classes = tuple(classes)
        self.preprocessing = Preprocessing(size=(int(shape[1]), int(shape[2])))
        self.normalization = normalization

    def predict_batch(self, images: np.ndarray) -> np.ndarray:
        from lince.runtime.classifier import looks_like_probabilities, softmax

        values = np.asarray(self.model(self.normalization.apply(images), training=False), np.float32)
        values = values.reshape(len(images), -1)
        return np.stack([row if looks_like_probabilities(row) else softmax(row) for row in values])


def labelled_files(data, classes: Sequence[str]) -> LabelledFiles:
    """Read a folder of class folders or a ``file,label`` CSV, labels matched to ``classes`` by name."""
    data = Path(data)
    if data.is_file() and data.suffix.lower() == ".csv":
        return read_labels_csv(data, classes)
    if data.is_file():
        raise LinceError(_("{path}: give a folder of class folders or a CSV of file,label rows").format(path=data))
    found = scan_class_folders(data, min_classes=1)
    index_of = {name: i for i, name in enumerate(classes)}
    unknown = [name for name in found.classes if name not in index_of]
    if unknown:
        raise LinceError(_("{path}: folder(s) {names} are not classes of the model ({count} classes, e.g. {example})")
                         .format(path=data, names=", ".join(unknown), count=len(classes), example=classes[0]))
    labels = tuple(index_of[found.classes[label]] for label in found.labels)
    return LabelledFiles(found.paths, labels, tuple(classes))


def _prepared_batches(files: LabelledFiles, preprocessing: Preprocessing, batch_size: int, skipped: list):
    """Yield ``(images, labels, paths)`` batches of decoded images; unreadable ones go to ``skipped``."""
    images, labels, paths = [], [], []
    for path, label in zip(files.paths, files.labels):
        try:
            images.append(prepare_image(read_image(path), preprocessing))
        except ImageDecodeError as error:
            skipped.append((path, str(error)))
            continue
        labels.append(label)
        paths.append(path)
        if len(images) == batch_size:
            yield np.stack(images), labels, paths
            images, labels, paths = [], [], []
    if images:
        yield np.stack(images), labels, paths


def evaluate(predictor, files: LabelledFiles, progress: bool = False, batch_size: int = 32) -> Evaluation:
    """Classify every image of ``files`` with ``predictor``; unreadable images are skipped."""
    import cv2
    from tqdm import tqdm

    true, scores, paths, skipped, mistakes = [], [], [], [], []
    with tqdm(total=len(files), desc=_("Evaluating"), unit="img", disable=not progress, leave=False) as bar:
        for images, labels, batch_paths in _prepared_batches(files, predictor.preprocessing, batch_size, skipped):
            probabilities = predictor.predict_batch(images)
            for rgb, label, row in zip(images, labels, probabilities):
                best = int(np.argmax(row))
                if best != label and len(mistakes) < MAX_GALLERY:
                    thumbnail = cv2.resize(rgb, (THUMBNAIL, THUMBNAIL), interpolation=cv2.INTER_AREA)
                    mistakes.append((thumbnail, files.classes[label], files.classes[best], float(row[best])))
            true.extend(labels)
            scores.append(probabilities)
            paths.extend(batch_paths)
            bar.update(len(labels))
    if skipped:
        logger.warning("Skipped %d unreadable image(s), first: %s", len(skipped), skipped[0][1])
    if not true:
        raise LinceError(_("none of the {count} images could be read, first error: {reason}").format(
            count=len(files), reason=skipped[0][1] if skipped else "-"))
    probabilities = np.concatenate(scores)
    return Evaluation(files.classes, np.asarray(true), np.argmax(probabilities, axis=1), probabilities, paths,
                      skipped, mistakes)
