"""Labelled image sets from folders (one per class) or CSV files, decoded to NumPy.

Every image goes through :func:`lince.runtime.image_io.read_image` and
:func:`lince.runtime.preprocess.prepare_image`, the code the camera loop
runs, so training and evaluation see exactly the pixels the robot will see.
The sets are small, so they are decoded into memory once.
"""

import csv
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy as np

from lince.runtime.errors import ImageDecodeError, LinceError, _
from lince.runtime.image_io import is_image_path, read_image
from lince.runtime.preprocess import Preprocessing, prepare_image

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class LabelledFiles:
    """Image paths with the index of their class in ``classes``."""

    paths: Tuple[Path, ...]
    labels: Tuple[int, ...]
    classes: Tuple[str, ...]

    def __len__(self) -> int:
        return len(self.paths)

    def subset(self, indices: Sequence[int]) -> "LabelledFiles":
        return LabelledFiles(tuple(self.paths[i] for i in indices), tuple(self.labels[i] for i in indices),
                             self.classes)


def _class_folders(data_dir: Path) -> List[Path]:
    if not data_dir.is_dir():
        raise LinceError(_("{path}: folder not found; give a folder with one subfolder of images per class")
                         .format(path=data_dir))
    return sorted((p for p in data_dir.iterdir() if p.is_dir() and not p.name.startswith(".")),
                  key=lambda p: p.name)


def scan_class_folders(data_dir, classes: Optional[Sequence[str]] = None, min_classes: int = 2) -> LabelledFiles:
    """List the images of ``data_dir/<class>/``; class names are folder names in sorted order.

    ``classes`` fixes the class list (a validation folder must use the
    training classes). Raises when there are fewer than ``min_classes``
    classes or a class folder contains no image.
    """
    data_dir = Path(data_dir)
    folders = _class_folders(data_dir)
    if classes is None:
        classes = [folder.name for folder in folders]
        if len(classes) < min_classes:
            raise LinceError(_("{path}: found {count} class folder(s) ({names}); a classifier needs at least "
                               "{minimum}: make one subfolder of images per class").format(
                path=data_dir, count=len(classes), names=", ".join(classes) or "-", minimum=min_classes))
    by_name = {folder.name: folder for folder in folders}
    paths, labels = [], []
    for index, name in enumerate(classes):
        folder = by_name.get(name)
        if folder is None:
            raise LinceError(_("{path}: class folder {name!r} is missing").format(path=data_dir, name=name))
        images = sorted(p for p in folder.rglob("*") if p.is_file() and is_image_path(p))
        if not images:
            raise LinceError(_("{path}: class folder is empty (no JPEG, PNG or BMP images); add photos "
                               "or remove the folder").format(path=folder))
        paths.extend(images)
        labels.extend([index] * len(images))
    return LabelledFiles(tuple(paths), tuple(labels), tuple(classes))


def _label_positions(classes: Sequence[str]):
    """Map each class name, exactly and ignoring case and spaces, to all its output indices."""
    exact, loose = {}, {}
    for index, name in enumerate(classes):
        exact.setdefault(name, []).append(index)
        loose.setdefault(name.strip().lower(), []).append(index)
    return exact, loose


def _pick_position(candidates: List[int], index_text: Optional[str]) -> int:
    # ImageNet has duplicate names ("crane" the bird and the machine), so a CSV
    # "index" column picks one of them. Models with a "background" class
    # first shift every index by one.
    if len(candidates) > 1 and index_text and index_text.strip().isdigit():
        given = int(index_text)
        for position in (given, given + 1):
            if position in candidates:
                return position
    return candidates[0]


def read_labels_csv(csv_path, classes: Sequence[str]) -> LabelledFiles:
    """Read ``file,label`` rows (other columns ignored); labels are matched to ``classes`` by name.

    Paths are relative to the CSV's folder. Names match exactly first, then
    ignoring case and surrounding spaces. A name that several classes share
    is resolved by the optional ``index`` column.
    """
    csv_path = Path(csv_path)
    exact, loose = _label_positions(classes)
    paths, labels, unknown = [], [], []
    try:
        with open(csv_path, newline="", encoding="utf-8") as file:
            reader = csv.DictReader(file)
            if not reader.fieldnames or not {"file", "label"} <= set(reader.fieldnames):
                raise LinceError(_("{path}: the CSV needs a header with columns 'file' and 'label', found {found}")
                                 .format(path=csv_path, found=reader.fieldnames))
            for row in reader:
                name = row["label"]
                candidates = exact.get(name) or loose.get(name.strip().lower())
                if not candidates:
                    unknown.append(name)
                    continue
                paths.append(csv_path.parent / row["file"])
                labels.append(_pick_position(candidates, row.get("index")))
    except (OSError, UnicodeDecodeError) as error:
        raise LinceError(_("{path}: cannot read the CSV: {reason}").format(path=csv_path, reason=error)) from None
    if unknown:
        raise LinceError(_("{path}: {count} label(s) are not classes of the model, e.g. {examples}").format(
            path=csv_path, count=len(unknown), examples=", ".join(repr(u) for u in unknown[:3])))
    if not paths:
        raise LinceError(_("{path}: the CSV lists no images").format(path=csv_path))
    return LabelledFiles(tuple(paths), tuple(labels), tuple(classes))


def stratified_split(files: LabelledFiles, fraction: float, seed: int) -> Tuple[List[int], List[int]]:
    """Split indices into training and validation, keeping each class's share.

    Every class keeps at least one training image, and one validation image
    when it has two or more.
    """
    rng = np.random.default_rng(seed)
    labels = np.asarray(files.labels)
    train, validation = [], []
    for index in range(len(files.classes)):
        members = np.flatnonzero(labels == index)
        rng.shuffle(members)
        count = int(round(len(members) * fraction))
        count = min(max(count, 1 if len(members) > 1 else 0), len(members) - 1)
        validation.extend(members[:count].tolist())
        train.extend(members[count:].tolist())
    return sorted(train), sorted(validation)


def decode_images(files: LabelledFiles, preprocessing: Preprocessing, progress: bool = False):
    """Decode and resize every image; return ``(images uint8 (N,H,W,3) RGB, labels int32 (N,), skipped)``.

    Unreadable files are skipped and listed in ``skipped`` as ``(path, reason)``.
    """
    from tqdm import tqdm

    height, width = preprocessing.size
    images = np.empty((len(files), height, width, 3), np.uint8)
    kept, skipped = [], []
    iterator = tqdm(range(len(files)), desc=_("Decoding images"), unit="img", disable=not progress, leave=False)
    for i in iterator:
        try:
            frame = read_image(files.paths[i])
        except ImageDecodeError as error:
            skipped.append((files.paths[i], str(error)))
            continue
        images[len(kept)] = prepare_image(frame, preprocessing)
        kept.append(files.labels[i])
    return images[:len(kept)], np.asarray(kept, np.int32), skipped
