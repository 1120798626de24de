"""Top-1 and top-5 accuracy of a classifier on labelled photos.

A labelled set is either a folder with one subfolder per class (the
subfolder's name is the label), or a CSV file with a header that has the
columns ``file`` and ``label`` (paths relative to the CSV's folder), such as
an ImageNet sample's ``labels.csv``.

A prediction counts as right when its class name equals the true label,
ignoring case, ``_`` versus space, and the synonyms that ImageNet names list
after commas ("tench, Tinca tinca" matches "tench").
"""

import csv
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

from lince.runtime.errors import ImageDecodeError, LinceError, _
from lince.runtime.image_io import is_image_path, read_image

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LabelledImage:
    """One photo of an evaluation set and its true class name."""

    path: str
    label: str


@dataclass(frozen=True)
class Accuracy:
    """Accuracy of one model on an evaluation set.

    Attributes:
        top1, top5: percentage of the scored images whose true class is the
            best class, or among the five best.
        images: images scored.
        skipped: images that could not be decoded.
        unknown_labels: true labels that name no class of the model (each such
            image counts as wrong).
    """

    top1: float
    top5: float
    images: int
    skipped: int
    unknown_labels: Tuple[str, ...] = ()

    def to_dict(self) -> dict:
        return {"top1": round(self.top1, 2), "top5": round(self.top5, 2), "images": self.images,
                "skipped": self.skipped, "unknown_labels": list(self.unknown_labels)}


def load_labelled_images(data: Path, limit: Optional[int] = None) -> List[LabelledImage]:
    """Read the evaluation set at ``data`` (class folders or a CSV) in a stable order."""
    data = Path(data)
    if not data.exists():
        raise LinceError(_("{path}: evaluation data not found; give a folder of class subfolders or a CSV "
                           "file with 'file' and 'label' columns").format(path=data))
    samples = _read_csv(data) if data.is_file() else _read_class_folders(data)
    if not samples:
        raise LinceError(_("{path}: no labelled images found; give a folder of class subfolders or a CSV "
                           "file with 'file' and 'label' columns").format(path=data))
    return samples[:limit] if limit else samples


def _read_csv(path: Path) -> List[LabelledImage]:
    try:
        with open(path, newline="", encoding="utf-8-sig") as file:
            rows = list(csv.DictReader(file))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise LinceError(_("{path}: cannot read the CSV file ({reason})").format(path=path, reason=error)) from None
    if rows and not {"file", "label"} <= set(rows[0]):
        raise LinceError(_("{path}: the CSV header must name the columns 'file' and 'label' (found: {columns})")
                         .format(path=path, columns=", ".join(rows[0])))
    root = path.parent
    return [LabelledImage(str(root / row["file"]), row["label"]) for row in rows if row["file"] and row["label"]]


def _read_class_folders(folder: Path) -> List[LabelledImage]:
    samples = []
    for class_dir in sorted(p for p in folder.iterdir() if p.is_dir() and not p.name.startswith(".")):
        for image in sorted(class_dir.rglob("*")):
            if image.is_file() and is_image_path(image):
                samples.append(LabelledImage(str(image), class_dir.name))
    return samples


def _names(label: str) -> Tuple[str, ...]:
    """Return the normalised names of a class: the whole label and each comma-separated synonym."""
    whole = " ".join(label.replace("_", " ").lower().split())
    synonyms = tuple(" ".join(part.split()) for part in whole.split(",") if part.strip())
    return (whole,) + synonyms


def class_indices(model_labels: Sequence[str], true_label: str) -> List[int]:
    """Return the indices of the model's classes that ``true_label`` names."""
    wanted = _names(true_label)
    whole = wanted[0]
    exact = [i for i, name in enumerate(model_labels) if _names(name)[0] == whole]
    if exact:
        return exact
    # Folder names are often the first synonym only ("tench" for "tench, Tinca tinca").
    return [i for i, name in enumerate(model_labels) if set(wanted) & set(_names(name)[1:])]


def evaluate(classifier, samples: Sequence[LabelledImage], progress: bool = False) -> Accuracy:
    """Classify every image of ``samples`` with ``classifier`` and return its accuracy."""
    from tqdm import tqdm

    index_cache = {}
    top1 = top5 = scored = skipped = 0
    unknown = set()
    for sample in tqdm(samples, desc="eval", unit="image", disable=None if progress else True, leave=False):
        try:
            frame = read_image(sample.path)
        except ImageDecodeError as error:
            logger.warning("%s", error)
            skipped += 1
            continue
        if sample.label not in index_cache:
            index_cache[sample.label] = set(class_indices(classifier.labels, sample.label))
        right = index_cache[sample.label]
        if not right:
            unknown.add(sample.label)
        best = [prediction.index for prediction in classifier.classify(frame, top_k=5).top_k]
        scored += 1
        top1 += best[0] in right
        top5 += bool(right.intersection(best))
    if scored and len(unknown) == len(index_cache):
        raise LinceError(_("{path}: none of the evaluation labels names a class of the model (for example "
                           "{label!r}); check that the data and the model use the same class names").format(
                               path=classifier.model_path, label=sorted(unknown)[0]))
    if unknown:
        logger.warning("%s: %d evaluation labels name no class of the model, for example %r",
                       classifier.model_path, len(unknown), sorted(unknown)[0])
    percent = 100.0 / scored if scored else 0.0
    return Accuracy(top1 * percent, top5 * percent, scored, skipped, tuple(sorted(unknown)))
