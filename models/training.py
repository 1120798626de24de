"""Transfer learning on a folder of photos: ``lince train`` and its Python API.

:func:`train` decodes the images (one folder per class) through the camera
loop's own preprocessing and trains a zoo backbone with a new head. It
writes the output folder in one step, so nothing appears at ``out_dir``
unless the training succeeded. Ctrl+C after at least one epoch counts as
success and keeps the best model so far.

The output folder contains ``model.keras`` (input normalised per its preset,
softmax output), ``labels.txt``, ``lince.json`` (see
:mod:`lince.models.sidecar`) and the report: ``curves.png``,
``confusion.txt``, ``confusion.png``, ``per_class.txt`` and ``validation.txt``
(the validation images).
"""

import logging
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Optional, Tuple

import numpy as np

from lince.models.dataset import decode_images, scan_class_folders, stratified_split
from lince.models.pipeline import Augmentation, make_dataset
from lince.models.preprocessing import get_preset
from lince.models.sidecar import SIDECAR_NAME, sidecar_document
from lince.models.zoo import get_backbone
from lince.runtime.errors import LinceError, _
from lince.runtime.preprocess import Preprocessing

logger = logging.getLogger(__name__)

MODEL_NAME = "model.keras"
LABELS_NAME = "labels.txt"
# The validation images, one path per line, so the accuracy can be checked again.
VALIDATION_LIST = "validation.txt"


@dataclass(frozen=True)
class TrainConfig:
    """Settings of one training run.

    Attributes:
        backbone: zoo name (``lince models``).
        size: input side in pixels; None for the backbone's default.
        epochs: most epochs of stage 1 (frozen backbone, or whole model from scratch).
        fine_tune: top backbone layers unfrozen in stage 2; 0 skips stage 2.
        fine_tune_epochs: most epochs of stage 2; None means ``epochs``.
        batch_size: images per step.
        learning_rate: stage 1 Adam learning rate.
        fine_tune_rate: stage 2 learning rate, lower so the pretrained features change slowly.
        dropout: dropout rate of the head.
        validation_split: share of each class kept for validation.
        validation_dir: a separate validation folder (same class folders) instead of a split.
        weights: ``"imagenet"``, None (from scratch) or a ``.keras``/``.h5`` file.
        patience: epochs without a lower validation loss before stopping.
        augmentation: random augmentation of the training images.
        class_weights: weight classes by the inverse of their image count.
        skip_unreadable: skip images that fail to decode instead of stopping.
        seed: seeds the split, the shuffling, the augmentation and the weights.
        progress: show progress bars.
        overwrite: replace an existing output folder.
    """

    backbone: str = "mobilenetv2-0.35"
    size: Optional[int] = None
    epochs: int = 20
    fine_tune: int = 0
    fine_tune_epochs: Optional[int] = None
    batch_size: int = 32
    learning_rate: float = 1e-3
    fine_tune_rate: float = 1e-5
    dropout: float = 0.2
    validation_split: float = 0.2
    validation_dir: Optional[Path] = None
    weights: Optional[str] = "imagenet"
    patience: int = 5
    augmentation: Augmentation = field(default_factory=Augmentation)
    class_weights: bool = True
    skip_unreadable: bool = False
    seed: int = 0
    progress: bool = False
    overwrite: bool = False


@dataclass(frozen=True)
class TrainResult:
    """Outcome of :func:`train`: the files written and the measured accuracy."""

    out_dir: Path
    model_path: Path
    classes: Tuple[str, ...]
    val_accuracy: float
    epochs_run: int
    best_epoch: int
    interrupted: bool
    seconds: float


def check_output_dir(out_dir: Path, overwrite: bool) -> None:
    """Reject an existing, non-empty ``out_dir`` unless ``overwrite``."""
    if out_dir.exists() and not out_dir.is_dir():
        raise LinceError(_("{path} is a file; give a folder for the trained model").format(path=out_dir))
    if out_dir.is_dir() and any(out_dir.iterdir()) and not overwrite:
        raise LinceError(_("{path} already exists and is not empty; pass --overwrite to replace it")
                         .format(path=out_dir))


def _load_split(data_dir: Path, config: TrainConfig, preprocessing: Preprocessing):
    files = scan_class_folders(data_dir)
    if config.validation_dir is not None:
        train_files = files
        validation_files = scan_class_folders(config.validation_dir, classes=files.classes)
    else:
        if not 0.0 < config.validation_split < 1.0:
            raise LinceError(_("--validation-split must be between 0 and 1, got {value}").format(
                value=config.validation_split))
        train_index, validation_index = stratified_split(files, config.validation_split, config.seed)
        train_files, validation_files = files.subset(train_index), files.subset(validation_index)
    logger.info("Validation images: %d of %d", len(validation_files), len(train_files) + len(validation_files))
    train = decode_images(train_files, preprocessing, progress=config.progress)
    validation = decode_images(validation_files, preprocessing, progress=config.progress)
    skipped = train[2] + validation[2]
    if skipped and not config.skip_unreadable:
        # Each reason already starts with its file's path.
        listed = "; ".join(reason for _path, reason in skipped[:3]) + ("; ..." if len(skipped) > 3 else "")
        raise LinceError(_("{count} image(s) could not be read ({listed}); remove them or pass "
                           "--skip-unreadable").format(count=len(skipped), listed=listed))
    if skipped:
        logger.warning("Skipped %d unreadable image(s), first: %s", len(skipped), skipped[0][1])
    _check_counts(files.classes, train[1], validation[1])
    unreadable = {path for path, _reason in skipped}
    validation_paths = [path for path in validation_files.paths if path not in unreadable]
    return files.classes, train[:2], validation[:2], validation_paths


def _check_counts(classes, train_labels: np.ndarray, validation_labels: np.ndarray) -> None:
    counts = np.bincount(train_labels, minlength=len(classes))
    empty = [name for name, count in zip(classes, counts) if count == 0]
    if empty:
        raise LinceError(_("no readable training image for class(es) {names}").format(names=", ".join(empty)))
    if len(validation_labels) == 0:
        raise LinceError(_("no validation images: add more photos per class or give --validation-dir"))


def class_weight_map(labels: np.ndarray, num_classes: int) -> dict:
    """Return ``{class: weight}`` that gives every class the same total weight."""
    counts = np.bincount(labels, minlength=num_classes).astype(np.float64)
    return {i: float(len(labels) / (num_classes * counts[i])) for i in range(num_classes) if counts[i] > 0}


def train(data_dir, out_dir, backbone: str = "mobilenetv2-0.35", **settings) -> TrainResult:
    """Train ``backbone`` on ``data_dir`` (one folder per class) and write ``out_dir``.

    ``settings`` are fields of :class:`TrainConfig` (``weights=None`` trains
    from scratch). Raises :class:`LinceError` on bad input before anything
    is written.
    """
    config = TrainConfig(backbone=backbone, **settings)
    return train_with_config(Path(data_dir), Path(out_dir), config)


def train_with_config(data_dir: Path, out_dir: Path, config: TrainConfig) -> TrainResult:
    from lince.models.fitting import fit_stages
    from lince.models.training_report import write_outputs

    started = time.perf_counter()
    entry = get_backbone(config.backbone)
    size = (config.size or entry.size,) * 2
    check_output_dir(out_dir, config.overwrite)
    normalization = get_preset(entry.preprocess)
    classes, (train_x, train_y), (val_x, val_y), val_paths = _load_split(data_dir, config, Preprocessing(size=size))
    logger.info("%d classes, %d training and %d validation images at %dx%d", len(classes), len(train_y),
                len(val_y), *size)

    batch = min(config.batch_size, len(train_y))
    train_data = make_dataset(train_x, train_y, normalization, batch, config.augmentation, shuffle=True,
                              seed=config.seed)
    val_data = make_dataset(val_x, val_y, normalization, batch)
    weights = class_weight_map(train_y, len(classes)) if config.class_weights else None
    fit = fit_stages(entry, size, len(classes), train_data, val_data, weights, config)

    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", suffix=".part", dir=_parent(out_dir)))
    # mkdtemp makes the folder private (0700); give it the mode of an ordinary new folder.
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(staging, 0o777 & ~umask)
    try:
        val_accuracy = write_outputs(staging, fit, classes, val_data, val_y)
        (staging / VALIDATION_LIST).write_text("".join(f"{path}\n" for path in val_paths), encoding="utf-8")
        report = {"val_accuracy": round(val_accuracy, 6), "epochs_run": fit.epochs_run,
                  "best_epoch": fit.best_epoch, "interrupted": fit.interrupted,
                  "train_images": int(len(train_y)), "val_images": int(len(val_y)),
                  "weights": config.weights or "none", "settings": _settings_record(config)}
        _write_sidecar(staging, entry.name, entry.preprocess, size, report)
        _move_into_place(staging, out_dir)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return TrainResult(out_dir, out_dir / MODEL_NAME, tuple(classes), val_accuracy, fit.epochs_run,
                       fit.best_epoch, fit.interrupted, time.perf_counter() - started)


def _parent(out_dir: Path) -> Path:
    parent = out_dir.resolve().parent
    parent.mkdir(parents=True, exist_ok=True)
    return parent


def _settings_record(config: TrainConfig) -> dict:
    record = asdict(config)
    record["validation_dir"] = str(config.validation_dir) if config.validation_dir else None
    return record


def _write_sidecar(folder: Path, backbone: str, preprocess: str, size, report: dict) -> None:
    import json

    document = sidecar_document(backbone, preprocess, size, LABELS_NAME, **report)
    (folder / SIDECAR_NAME).write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def _move_into_place(staging: Path, out_dir: Path) -> None:
    """Rename the finished staging folder to ``out_dir``, replacing it (``--overwrite`` was checked)."""
    if out_dir.exists():
        shutil.rmtree(out_dir)
    staging.rename(out_dir)
