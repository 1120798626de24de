"""Accuracy reports: per-class accuracy, confusion matrix and a gallery of mistakes.

NumPy and OpenCV only, so ``lince evaluate`` on a ``.tflite`` works on a
robot without TensorFlow or matplotlib.
"""

from pathlib import Path
from typing import List, Sequence, Tuple

import cv2
import numpy as np

from lince.runtime.atomic import atomic_path

THUMBNAIL = 160
CAPTION_HEIGHT = 36
MAX_GALLERY = 100


def confusion_matrix(true: np.ndarray, predicted: np.ndarray, num_classes: int) -> np.ndarray:
    """Return counts ``[true class, predicted class]``."""
    matrix = np.zeros((num_classes, num_classes), np.int64)
    np.add.at(matrix, (np.asarray(true, int), np.asarray(predicted, int)), 1)
    return matrix


def per_class_accuracy(matrix: np.ndarray) -> np.ndarray:
    """Return the share of each true class predicted right (NaN for a class without images)."""
    totals = matrix.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(totals > 0, np.diag(matrix) / np.maximum(totals, 1), np.nan)


def top_k_accuracy(probabilities: np.ndarray, true: np.ndarray, k: int) -> float:
    """Return the share of rows whose true class is among the ``k`` highest scores."""
    k = min(k, probabilities.shape[1])
    best = np.argsort(-probabilities, axis=1, kind="stable")[:, :k]
    return float(np.mean(np.any(best == np.asarray(true)[:, None], axis=1)))


def format_per_class(classes: Sequence[str], matrix: np.ndarray) -> str:
    """Return one line per class: name, accuracy and ``right/total``."""
    accuracy = per_class_accuracy(matrix)
    width = max(len(name) for name in classes)
    lines = []
    for index, name in enumerate(classes):
        total = int(matrix[index].sum())
        shown = "    -" if np.isnan(accuracy[index]) else f"{100 * accuracy[index]:5.1f}%"
        lines.append(f"{name:<{width}}  {shown}  ({int(matrix[index, index])}/{total})")
    return "\n".join(lines)


def format_confusion(classes: Sequence[str], matrix: np.ndarray) -> str:
    """Return the confusion matrix as text: rows are true classes, columns predictions."""
    numbered = [f"{i}" for i in range(len(classes))]
    cell = max(3, len(str(int(matrix.max(initial=0)))), max(len(n) for n in numbered))
    name_width = max(len(name) for name in classes) + 4
    header = " " * name_width + " ".join(f"{n:>{cell}}" for n in numbered)
    rows = [header]
    for i, name in enumerate(classes):
        counts = " ".join(f"{int(v):>{cell}}" for v in matrix[i])
        rows.append(f"{i:>2} {name:<{name_width - 3}}{counts}")
    return "\n".join(rows)


def draw_confusion(classes: Sequence[str], matrix: np.ndarray, path: Path) -> None:
    """Write the confusion matrix as a PNG heat map, each row shaded by its share."""
    count = len(classes)
    cell = max(24, min(60, 900 // max(count, 1)))
    margin = 12 + 7 * min(max(len(name) for name in classes), 30)
    image = np.full((margin + cell * count + 10, margin + cell * count + 10, 3), 255, np.uint8)
    rows = matrix.sum(axis=1, keepdims=True)
    share = matrix / np.maximum(rows, 1)
    for i in range(count):
        cv2.putText(image, classes[i][:30], (4, margin + i * cell + cell // 2 + 4), cv2.FONT_HERSHEY_SIMPLEX,
                    0.4, (0, 0, 0), 1, cv2.LINE_AA)
        cv2.putText(image, str(i), (margin + i * cell + cell // 3, margin - 6), cv2.FONT_HERSHEY_SIMPLEX,
                    0.4, (0, 0, 0), 1, cv2.LINE_AA)
        for j in range(count):
            shade = int(255 - 200 * share[i, j])
            colour = (255, shade, shade) if i == j else (shade, shade, 255)
            top_left = (margin + j * cell, margin + i * cell)
            cv2.rectangle(image, top_left, (top_left[0] + cell - 1, top_left[1] + cell - 1), colour, -1)
            if cell >= 24 and matrix[i, j]:
                cv2.putText(image, str(int(matrix[i, j])), (top_left[0] + 3, top_left[1] + cell // 2 + 4),
                            cv2.FONT_HERSHEY_SIMPLEX, 0.35, (0, 0, 0), 1, cv2.LINE_AA)
    write_png(path, image)


def draw_gallery(items: List[Tuple[np.ndarray, str, str, float]], path: Path, columns: int = 8) -> int:
    """Write a contact sheet of misclassified images; return how many it shows.

    ``items`` are ``(RGB image, true label, predicted label, score)``; at most
    :data:`MAX_GALLERY` are drawn.
    """
    items = items[:MAX_GALLERY]
    if not items:
        return 0
    columns = min(columns, len(items))
    rows = (len(items) + columns - 1) // columns
    tile_h = THUMBNAIL + CAPTION_HEIGHT
    sheet = np.full((rows * tile_h, columns * THUMBNAIL, 3), 255, np.uint8)
    for n, (rgb, true, predicted, score) in enumerate(items):
        top, left = (n // columns) * tile_h, (n % columns) * THUMBNAIL
        thumbnail = cv2.resize(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR), (THUMBNAIL, THUMBNAIL),
                               interpolation=cv2.INTER_AREA)
        sheet[top:top + THUMBNAIL, left:left + THUMBNAIL] = thumbnail
        cv2.putText(sheet, f"true: {true}"[:26], (left + 3, top + THUMBNAIL + 14), cv2.FONT_HERSHEY_SIMPLEX,
                    0.38, (0, 120, 0), 1, cv2.LINE_AA)
        cv2.putText(sheet, f"pred: {predicted} {score:.2f}"[:26], (left + 3, top + THUMBNAIL + 30),
                    cv2.FONT_HERSHEY_SIMPLEX, 0.38, (0, 0, 200), 1, cv2.LINE_AA)
    write_png(path, sheet)
    return len(items)


def write_png(path: Path, image_bgr: np.ndarray) -> None:
    ok, encoded = cv2.imencode(".png", image_bgr)
    if not ok:
        raise OSError(f"PNG encoding failed for {path}")
    with atomic_path(path) as temporary:
        temporary.write_bytes(encoded.tobytes())
