"""Compare a converted model with the model it came from, on real images.

A quantized model can run fast and be wrong. After conversion both models
classify the same prepared images; the agreement of their top-1 classes and
the mean absolute difference of their probabilities show whether the export
kept the model's behaviour. A model that gives one class for every image
while the source model varies is degenerate, whatever its speed.
"""

from dataclasses import asdict, dataclass, field
from typing import Optional, Tuple

import numpy as np

from lince.runtime.classifier import Classifier, looks_like_probabilities, softmax


@dataclass(frozen=True)
class Comparison:
    """Agreement between the exported model and the source model.

    Attributes:
        images: number of images compared.
        top1_agreement: fraction of images with the same top-1 class (0-1).
        mean_abs_difference: mean over images and classes of |p_source - p_export|.
        source_classes: distinct top-1 classes the source model gave.
        export_classes: distinct top-1 classes the exported model gave.
        top5_overlap: mean fraction of the source top-5 classes that are
            also in the exported model's top 5, ties included (0-1).
        mean_kl_divergence: mean over images of KL(p_source || p_export), nats.
        source_accuracy, export_accuracy: top-1 accuracy (0-1) of each model
            against the true labels, or None without labels.
        per_class: ``(class index, images, source correct, export correct)``
            for every labelled class, in class order.
    """

    images: int
    top1_agreement: float
    mean_abs_difference: float
    source_classes: int
    export_classes: int
    top5_overlap: float = 1.0
    mean_kl_divergence: float = 0.0
    source_accuracy: Optional[float] = None
    export_accuracy: Optional[float] = None
    per_class: Tuple[Tuple[int, int, int, int], ...] = field(default=())

    @property
    def accuracy_drop(self) -> Optional[float]:
        """Source minus export top-1 accuracy in percentage points, or None without labels."""
        if self.source_accuracy is None or self.export_accuracy is None:
            return None
        return 100.0 * (self.source_accuracy - self.export_accuracy)

    @property
    def disagreement(self) -> float:
        """Percentage of images whose top-1 class differs between the two models."""
        return 100.0 * (1.0 - self.top1_agreement)

    @property
    def degenerate(self) -> bool:
        """Whether the export collapsed to one class while the source model varies."""
        return self.export_classes == 1 and self.source_classes > 1

    def to_dict(self) -> dict:
        document = asdict(self)
        document["per_class"] = [
            {"class": index, "images": count, "source_correct": source, "export_correct": export}
            for index, count, source, export in self.per_class]
        return {**document, "degenerate": self.degenerate, "accuracy_drop": self.accuracy_drop}


def source_scores(function, images: np.ndarray, batch_size: int = 16) -> np.ndarray:
    """Run the raw-pixel source function on uint8 images; return its outputs (N, C)."""
    outputs = []
    for start in range(0, len(images), batch_size):
        batch = images[start:start + batch_size].astype(np.float32)
        outputs.append(np.asarray(function(batch), dtype=np.float32))
    return np.concatenate(outputs)


def output_kind(scores: np.ndarray) -> str:
    """Return ``"probabilities"`` if every row is a distribution, else ``"logits"``."""
    return "probabilities" if all(looks_like_probabilities(row) for row in scores) else "logits"


def as_probabilities(scores: np.ndarray) -> np.ndarray:
    """Apply softmax to rows of logits; return probabilities unchanged."""
    if output_kind(scores) == "probabilities":
        return scores
    return np.stack([softmax(row) for row in scores])


def tflite_probabilities(model_path, images: np.ndarray) -> np.ndarray:
    """Run a ``.tflite`` model on prepared uint8 RGB images; return probabilities (N, C)."""
    return run_tflite(model_path, images)[0]


def run_tflite(model_path, images: np.ndarray):
    """Run a ``.tflite`` model on prepared uint8 RGB images; return ``(probabilities (N, C), median ms)``."""
    classifier = Classifier(model_path, labels=None)
    rows, times = [], []
    for image in images:
        classifier.set_input(image)
        times.append(classifier.invoke())
        rows.append(classifier.probabilities())
    return np.stack(rows), float(np.median(times))


def compare(source: np.ndarray, exported: np.ndarray, targets: Optional[np.ndarray] = None) -> Comparison:
    """Compare two ``(N, C)`` probability arrays row by row, and with ``targets`` (class indices) if given."""
    source_top1 = source.argmax(axis=1)
    export_top1 = exported.argmax(axis=1)
    top_k = min(5, source.shape[1])
    source_top5 = np.argsort(-source, axis=1)[:, :top_k]
    # An 8-bit output rounds small probabilities to the same value, so a
    # class tied with the export's fifth-highest value counts as in its top 5.
    fifth = np.sort(exported, axis=1)[:, -top_k]
    overlap = [np.mean(row[classes] >= threshold) for row, classes, threshold in zip(exported, source_top5, fifth)]
    accuracy = {"source_accuracy": None, "export_accuracy": None, "per_class": ()}
    if targets is not None and len(targets) and np.all(targets >= 0):
        accuracy = _accuracy(source_top1, export_top1, np.asarray(targets))
    return Comparison(
        images=int(len(source)),
        top1_agreement=float(np.mean(source_top1 == export_top1)),
        mean_abs_difference=float(np.mean(np.abs(source - exported))),
        source_classes=int(len(np.unique(source_top1))),
        export_classes=int(len(np.unique(export_top1))),
        top5_overlap=float(np.mean(overlap)),
        mean_kl_divergence=kl_divergence(source, exported, _probability_floor(exported)),
        **accuracy,
    )


def kl_divergence(reference: np.ndarray, other: np.ndarray, epsilon: float = 1e-7) -> float:
    """Return the mean over rows of KL(reference || other) in nats.

    Quantized outputs are often exactly 0; ``epsilon`` keeps the logarithm
    finite, so a class the export drops costs about ``p * log(p / epsilon)``.
    """
    p = np.clip(reference.astype(np.float64), epsilon, 1.0)
    q = np.clip(other.astype(np.float64), epsilon, 1.0)
    p /= p.sum(axis=1, keepdims=True)
    q /= q.sum(axis=1, keepdims=True)
    return float(np.mean(np.sum(p * np.log(p / q), axis=1)))


def _probability_floor(exported: np.ndarray) -> float:
    """Return the smallest probability the export can tell from zero, halved.

    An 8-bit output stores probabilities in steps of 1/256, so a 0 means
    "below half a step", not "impossible"; flooring at 1e-7 would make KL
    grow with every class the source model gives 0.001.
    """
    values = np.unique(exported)
    positive = values[values > 0]
    if len(values) > 256 or not len(positive):
        return 1e-7
    return float(positive.min()) / 2


def _accuracy(source_top1: np.ndarray, export_top1: np.ndarray, targets: np.ndarray) -> dict:
    per_class = []
    for index in np.unique(targets):
        rows = targets == index
        per_class.append((int(index), int(rows.sum()), int((source_top1[rows] == index).sum()),
                          int((export_top1[rows] == index).sum())))
    return {
        "source_accuracy": float(np.mean(source_top1 == targets)),
        "export_accuracy": float(np.mean(export_top1 == targets)),
        "per_class": tuple(per_class),
    }
