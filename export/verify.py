"""Compare a converted model with the model it came from, on real images.

A quantized model can run fast and be wrong. After conversion both models
classify the same prepared images; the agreement of their top-1 classes and
the mean absolute difference of their probabilities say whether the export
kept the model's behaviour. A model that gives one class for every image
while the source model varies is degenerate, whatever its speed.
"""

from dataclasses import asdict, dataclass

import numpy as np

from lince.runtime.classifier import Classifier, looks_like_probabilities, softmax


@dataclass(frozen=True)
class Comparison:
    """How closely the exported model follows the source model.

    Attributes:
        images: number of images compared.
        top1_agreement: fraction of images with the same top-1 class (0-1).
        mean_abs_difference: mean over images and classes of |p_source - p_export|.
        source_classes: distinct top-1 classes the source model gave.
        export_classes: distinct top-1 classes the exported model gave.
    """

    images: int
    top1_agreement: float
    mean_abs_difference: float
    source_classes: int
    export_classes: int

    @property
    def degenerate(self) -> bool:
        """Whether the export collapsed to one class while the source model varies."""
        return self.export_classes == 1 and self.source_classes > 1

    def to_dict(self) -> dict:
        return {**asdict(self), "degenerate": self.degenerate}


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
    classifier = Classifier(model_path, labels=None)
    rows = []
    for image in images:
        classifier.set_input(image)
        classifier.invoke()
        rows.append(classifier.probabilities())
    return np.stack(rows)


def compare(source: np.ndarray, exported: np.ndarray) -> Comparison:
    """Compare two ``(N, C)`` probability arrays row by row."""
    source_top1 = source.argmax(axis=1)
    export_top1 = exported.argmax(axis=1)
    return Comparison(
        images=int(len(source)),
        top1_agreement=float(np.mean(source_top1 == export_top1)),
        mean_abs_difference=float(np.mean(np.abs(source - exported))),
        source_classes=int(len(np.unique(source_top1))),
        export_classes=int(len(np.unique(export_top1))),
    )
