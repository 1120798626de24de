"""Export a Keras model or SavedModel to a ``.tflite`` that carries its own preprocessing.

The stages: load the source model, fold its normalisation into the graph,
read calibration images (int8), convert, pack labels and metadata, compare
the exported model with the source model on real images, and only then move
the file into place.
"""

import datetime
import hashlib
import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Tuple

from lince._version import __version__
from lince.calibration.dataset import DEFAULT_COUNT, CalibrationSet, load_calibration_images
from lince.export.converter import ConversionSettings, ExportError, convert
from lince.export.graph import frozen_function, raw_pixel_function
from lince.export.loading import load_source_model
from lince.export.metadata_writer import ModelDescription, pack_metadata
from lince.export.sidecar import read_training_sidecar
from lince.export.verify import Comparison, as_probabilities, compare, output_kind, source_scores, tflite_probabilities
from lince.models.preprocessing import Normalization, get_preset
from lince.runtime.atomic import atomic_path, check_writable
from lince.runtime.errors import _
from lince.runtime.metadata import FORMAT_NAME, FORMAT_VERSION, read_labels_file
from lince.runtime.preprocess import Preprocessing

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ExportConfig:
    """Everything ``lince export`` needs.

    Attributes:
        model_path: ``.keras``/``.h5`` file or SavedModel folder.
        output_path: the ``.tflite`` to write.
        quantization: ``"float32"`` or ``"int8"``.
        io_type: int8 model input/output type, ``"uint8"`` or ``"int8"``.
        calibration_dir: images for int8 calibration (and verification).
        calibration_count: how many calibration images to use at most.
        eval_dir: images to verify on instead of the calibration images.
        labels_path: label file; by default the training sidecar's.
        normalization: the model's input normalisation; by default the
            training sidecar's preset, else none (the model takes 0-255).
        crop, crop_fraction, interpolation: how frames are resized for this
            model; by default the training sidecar's, else the whole frame
            resized bilinearly.
        image_size: ``(height, width)`` for a model that accepts any size.
        overwrite: replace an existing output file.
        unsafe_load: run Python code stored in Keras ``Lambda`` layers.
    """

    model_path: Path
    output_path: Path
    quantization: str = "float32"
    io_type: str = "uint8"
    calibration_dir: Optional[Path] = None
    calibration_count: int = DEFAULT_COUNT
    eval_dir: Optional[Path] = None
    labels_path: Optional[Path] = None
    normalization: Optional[Normalization] = None
    crop: Optional[str] = None
    crop_fraction: Optional[float] = None
    interpolation: Optional[str] = None
    image_size: Optional[Tuple[int, int]] = None
    overwrite: bool = False
    unsafe_load: bool = False


@dataclass
class ExportResult:
    """What an export produced."""

    path: Path
    size_bytes: int
    quantization: str
    labels: List[str]
    comparison: Optional[Comparison] = None
    calibration: Optional[CalibrationSet] = None
    timings: dict = field(default_factory=dict)


def export_model(config: ExportConfig) -> ExportResult:
    """Run every export stage and write ``config.output_path`` atomically.

    Raises:
        LinceError: bad input, a failed conversion, or a degenerate quantized
            model (kept next to the output as ``NAME.rejected.tflite``).
    """
    output = check_writable(config.output_path, config.overwrite)
    timings = {}
    started = time.perf_counter()

    sidecar = read_training_sidecar(config.model_path) or {}
    image_size = config.image_size or (tuple(sidecar["image_size"]) if sidecar.get("image_size") else None)
    source = load_source_model(config.model_path, unsafe=config.unsafe_load, image_size=image_size)
    normalization = _choose_normalization(config, sidecar)
    labels = _choose_labels(config, sidecar, source.num_classes)
    preprocessing = Preprocessing(
        size=source.input_size,
        crop=config.crop or sidecar.get("crop", "none"),
        crop_fraction=config.crop_fraction or sidecar.get("crop_fraction", 1.0),
        interpolation=config.interpolation or sidecar.get("interpolation", "bilinear"),
    )
    timings["load_s"] = time.perf_counter() - started

    calibration = None
    if config.quantization == "int8" or config.calibration_dir is not None:
        if config.calibration_dir is None:
            raise ExportError(_("int8 quantization needs calibration images: pass --calibration DIR"))
        step = time.perf_counter()
        calibration = load_calibration_images(config.calibration_dir, preprocessing, config.calibration_count)
        timings["calibration_read_s"] = time.perf_counter() - step
        logger.info("Calibration: %d images from %s (%d skipped)", len(calibration.images),
                    config.calibration_dir, len(calibration.skipped))

    step = time.perf_counter()
    settings = ConversionSettings(quantization=config.quantization, io_type=config.io_type)
    function = frozen_function(source, normalization)
    tflite_model = convert(function, settings, calibration.batches if calibration is not None else None)
    timings["convert_s"] = time.perf_counter() - step
    logger.info("Converted to %s in %.1f s: %.2f MB", config.quantization, timings["convert_s"],
                len(tflite_model) / 1e6)

    verify_images = _verification_images(config, preprocessing, calibration)
    reference, kind = None, "auto"
    if verify_images is not None:
        scores = source_scores(raw_pixel_function(source, normalization), verify_images)
        kind = output_kind(scores)
        reference = as_probabilities(scores)

    document = _lince_document(config, preprocessing, normalization, kind, calibration)
    description = ModelDescription(
        name=Path(config.model_path).stem, description="Image classifier exported by lince.",
        version=__version__, author="lince", license="", width=preprocessing.size[1],
        height=preprocessing.size[0], num_classes=source.num_classes, has_labels=bool(labels))
    packed = pack_metadata(tflite_model, description, document, labels)

    comparison = None
    with atomic_path(output) as temporary:
        temporary.write_bytes(packed)
        if reference is not None:
            step = time.perf_counter()
            comparison = compare(reference, tflite_probabilities(temporary, verify_images))
            timings["verify_s"] = time.perf_counter() - step
            if comparison.degenerate:
                rejected = output.with_name(output.stem + ".rejected.tflite")
                os.replace(temporary, rejected)
                raise ExportError(_(
                    "the {mode} model is degenerate: it gives one class for all {count} images while the source "
                    "model gives {classes}; kept as {path} for inspection. Check the calibration images and the "
                    "normalisation (--preprocess, --mean/--std)").format(
                        mode=config.quantization, count=comparison.images,
                        classes=comparison.source_classes, path=rejected))
    timings["total_s"] = time.perf_counter() - started
    return ExportResult(output, output.stat().st_size, config.quantization, labels, comparison, calibration, timings)


def _choose_normalization(config: ExportConfig, sidecar: dict) -> Normalization:
    if config.normalization is not None:
        return config.normalization
    if sidecar.get("preprocess"):
        return get_preset(sidecar["preprocess"])
    logger.warning("No normalisation given (--preprocess or --mean/--std): the model will receive raw 0-255 "
                   "pixels, which is right only if it rescales its input itself")
    return get_preset("raw")


def _choose_labels(config: ExportConfig, sidecar: dict, num_classes: int) -> List[str]:
    path = config.labels_path or sidecar.get("labels_path")
    if path is None:
        logger.warning("No label file given (--labels): results will name classes by number")
        return []
    labels = read_labels_file(path)
    if len(labels) != num_classes:
        raise ExportError(_("{path} has {labels} names but the model has {classes} outputs").format(
            path=path, labels=len(labels), classes=num_classes))
    return labels


def _verification_images(config: ExportConfig, preprocessing: Preprocessing, calibration):
    if config.eval_dir is not None:
        return load_calibration_images(config.eval_dir, preprocessing, config.calibration_count).images
    return calibration.images if calibration is not None else None


def _file_sha256(path: Path) -> Optional[str]:
    if not path.is_file():
        return None
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _lince_document(config, preprocessing, normalization, output_kind, calibration) -> dict:
    model_path = Path(config.model_path)
    return {
        "format": FORMAT_NAME,
        "version": FORMAT_VERSION,
        "task": "image_classification",
        "input": {
            "size": list(preprocessing.size),
            "color_order": "RGB",
            "pixel_range": [0, 255],
            "crop": preprocessing.crop,
            "crop_fraction": preprocessing.crop_fraction,
            "interpolation": preprocessing.interpolation,
            "normalization": {**normalization.to_dict(), "folded": True},
        },
        "output": {"type": output_kind},
        "labels": "labels.txt",
        "quantization": config.quantization,
        "io_type": config.io_type if config.quantization == "int8" else "float32",
        "calibration": None if calibration is None else {
            "folder": str(config.calibration_dir), "images": int(len(calibration.images)),
            "skipped": len(calibration.skipped)},
        "source": {"path": model_path.name, "sha256": _file_sha256(model_path)},
        "lince_version": __version__,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
