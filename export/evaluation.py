"""Held-out images to verify an export on, with their true labels when known.

``--eval`` takes a folder or a CSV file:

- a CSV has a ``file`` column (paths relative to the CSV) and an ``index``
  column (class number) or a ``label`` column (class name);
- a folder holding ``labels.csv`` is read through that file;
- any other folder is searched recursively; an image in a subfolder named
  like a class gets that class as its label.

Without ``--eval`` the images of the calibration folder that calibration
did not use are taken, so the check does not grade the model on the data
its ranges were fitted to.
"""

import csv
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence

import numpy as np

from lince.calibration.dataset import (
    CalibrationSet,
    list_images,
    load_calibration_images,
    read_prepared_images,
    sample_balanced,
)
from lince.runtime.errors import LinceError, _
from lince.runtime.preprocess import Preprocessing

logger = logging.getLogger(__name__)

LABELS_CSV = "labels.csv"
# Running the Keras model is the slow part of verification (about 0.1 s an
# image on 2 cores for EfficientNet-Lite0), so the default stays modest.
DEFAULT_EVAL_COUNT = 200


@dataclass
class EvaluationSet:
    """Prepared images and, when known, their true class index (-1: unknown).

    Attributes:
        images: ``(N, H, W, 3)`` uint8 RGB, as the runtime feeds them.
        files: the file of each image.
        targets: ``(N,)`` int class index, -1 where the label is unknown.
        skipped: ``{path: reason}`` of unreadable files.
        held_out: whether the images are disjoint from the calibration images.
    """

    images: np.ndarray
    files: List[Path]
    targets: np.ndarray
    skipped: dict
    held_out: bool

    @property
    def labelled(self) -> bool:
        return bool(len(self.targets)) and bool(np.all(self.targets >= 0))


def load_evaluation_set(path: Optional[Path], preprocessing: Preprocessing, labels: Sequence[str],
                        calibration: Optional[CalibrationSet], calibration_source: Optional[Path],
                        count: int = DEFAULT_EVAL_COUNT) -> Optional[EvaluationSet]:
    """Return the images to verify on, or None when there are none."""
    if path is not None:
        path = Path(path)
        if path.is_file():
            return _from_csv(path, preprocessing, labels, count, calibration)
        if (path / LABELS_CSV).is_file():
            return _from_csv(path / LABELS_CSV, preprocessing, labels, count, calibration)
        return _from_folder(path, preprocessing, labels, count, calibration,
                            exclude=calibration.files if calibration is not None else ())
    if calibration is None:
        return None
    if calibration_source is None or not Path(calibration_source).is_dir():
        logger.warning("The check runs on the calibration frames of %s themselves; pass --eval DIR with other "
                       "images for a fair check", calibration_source)
        return _calibration_images(calibration)

    source = Path(calibration_source)
    # Files calibration could not read are no held-out images either.
    used = set(calibration.files) | set(calibration.skipped)
    rest = [file for file in list_images(source) if file not in used]
    if rest and (source / LABELS_CSV).is_file():
        return _from_csv(source / LABELS_CSV, preprocessing, labels, count, calibration)
    if rest:
        try:
            return _from_folder(source, preprocessing, labels, count, calibration, exclude=used)
        except LinceError:
            pass  # None of the remaining images is readable: fall back as below.
    logger.warning("Every readable image of %s was used for calibration, so the check runs on those same images; "
                   "pass --eval DIR with other images for a fair check", source)
    return _calibration_images(calibration)


def _calibration_images(calibration: CalibrationSet) -> EvaluationSet:
    return EvaluationSet(calibration.images, list(calibration.files), np.full(len(calibration.images), -1),
                         {}, held_out=False)


def _from_folder(folder: Path, preprocessing, labels, count, calibration, exclude) -> EvaluationSet:
    data = load_calibration_images(folder, preprocessing, count, exclude=exclude)
    index = {name: position for position, name in enumerate(labels)}
    targets = np.array([_folder_label(file, folder, index) for file in data.files])
    return EvaluationSet(data.images, data.files, targets, data.skipped,
                         held_out=_disjoint(data.files, calibration))


def _folder_label(file: Path, root: Path, index: dict) -> int:
    parts = file.relative_to(root).parts
    if len(parts) < 2:
        return -1
    return index.get(parts[-2], -1)


def _from_csv(csv_path: Path, preprocessing, labels, count, calibration) -> EvaluationSet:
    rows = _read_rows(csv_path)
    used = set(calibration.files) if calibration is not None else set()
    wanted = {}
    for row in rows:
        file = csv_path.parent / row["file"]
        if file not in used:
            wanted[file] = _row_label(row, labels, csv_path)
    if not wanted:
        raise LinceError(_("{path}: no evaluation image left after removing the calibration images; "
                           "pass --eval with other images").format(path=csv_path))
    chosen = sample_balanced(sorted(wanted), csv_path.parent, count)
    images, files, skipped = read_prepared_images(chosen, preprocessing)
    if not images:
        raise LinceError(_("{path}: none of the listed images could be read").format(path=csv_path))
    targets = np.array([wanted[file] for file in files])
    return EvaluationSet(np.stack(images), files, targets, skipped, held_out=_disjoint(files, calibration))


def _read_rows(csv_path: Path) -> List[dict]:
    try:
        with open(csv_path, newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise LinceError(_("{path}: cannot read the evaluation CSV ({reason})").format(
            path=csv_path, reason=error)) from None
    if not rows or "file" not in rows[0]:
        raise LinceError(_("{path}: the evaluation CSV needs a header with a 'file' column and an 'index' or "
                           "'label' column").format(path=csv_path))
    return rows


def _row_label(row: dict, labels: Sequence[str], csv_path: Path) -> int:
    if row.get("index", "").strip():
        try:
            return int(row["index"])
        except ValueError:
            raise LinceError(_("{path}: index {value!r} of {file} is not a class number").format(
                path=csv_path, value=row["index"], file=row["file"])) from None
    name = (row.get("label") or "").strip()
    if not name:
        return -1
    if name in labels:
        return list(labels).index(name)
    raise LinceError(_("{path}: label {label!r} of {file} is not in the model's label file").format(
        path=csv_path, label=name, file=row["file"]))


def _disjoint(files, calibration: Optional[CalibrationSet]) -> bool:
    if calibration is None:
        return True
    return not set(map(Path, files)) & set(calibration.files)
