"""Write a trained model with its labels and report into a folder."""

import logging
from pathlib import Path

import numpy as np

from lince.models.report import confusion_matrix, draw_confusion, format_confusion, format_per_class

logger = logging.getLogger(__name__)


def draw_curves(history: dict, boundaries, path: Path) -> None:
    """Plot training and validation loss and accuracy per epoch into a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(1, 2, figsize=(10, 4))
    for axis, metric in zip(axes, ("loss", "accuracy")):
        for key, label in ((metric, "training"), (f"val_{metric}", "validation")):
            values = history.get(key, [])
            axis.plot(range(1, len(values) + 1), values, marker=".", label=label)
        for boundary in boundaries[:-1]:
            axis.axvline(boundary + 0.5, color="grey", linestyle="--", linewidth=1)
        axis.set_xlabel("epoch")
        axis.set_title(metric)
        axis.grid(alpha=0.3)
        axis.legend()
    figure.tight_layout()
    figure.savefig(path, dpi=90)
    pyplot.close(figure)


def write_outputs(folder: Path, fit, classes, val_data, val_labels: np.ndarray) -> float:
    """Save the model, labels and report into ``folder``; return the validation accuracy."""
    from lince.models.training import LABELS_NAME, MODEL_NAME

    fit.model.save(folder / MODEL_NAME)
    (folder / LABELS_NAME).write_text("\n".join(classes) + "\n", encoding="utf-8")
    probabilities = fit.model.predict(val_data, verbose=0)
    predicted = np.argmax(probabilities, axis=1)
    matrix = confusion_matrix(val_labels, predicted, len(classes))
    accuracy = float(np.mean(predicted == val_labels))
    (folder / "confusion.txt").write_text(format_confusion(classes, matrix) + "\n", encoding="utf-8")
    (folder / "per_class.txt").write_text(
        f"validation accuracy {100 * accuracy:.2f}% ({int(np.sum(predicted == val_labels))}/{len(val_labels)})\n"
        + format_per_class(classes, matrix) + "\n", encoding="utf-8")
    draw_confusion(list(classes), matrix, folder / "confusion.png")
    if fit.history:
        draw_curves(fit.history, fit.stage_boundaries, folder / "curves.png")
    logger.info("Validation accuracy %.2f%% on %d images", 100 * accuracy, len(val_labels))
    return accuracy
