"""Export a Keras model or SavedModel to a ``.tflite`` that carries its own preprocessing.

The stages: load the source model, place its normalisation (in the graph,
or in an int8 model's input quantization), read calibration images (int8),
convert, pack labels and metadata, compare
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
from lince.export import diagnosis
from lince.export.converter import CALIBRATED, ConversionSettings, ExportError, convert, normalize_mode
from lince.export.evaluation import DEFAULT_EVAL_COUNT, load_evaluation_set
from lince.export.explain import explain_quantization
from lince.export.report import build_report, report_paths, write_report
from lince.export.tensors import check_mode, inspect_tensors
from lince.export.graph import (
    frozen_function,
    input_transform,
    normalization_in_input,
    raw_pixel_function,
    representative_dataset,
)
from lince.export.loading import load_source_model
from lince.export.metadata_writer import ModelDescription, pack_metadata
from lince.export.sidecar import read_training_sidecar
from lince.export.verify import (
    Comparison,
    as_probabilities,
    compare,
    output_kind,
    run_tflite,
    source_scores,
    tflite_probabilities,
)
from lince.models.preprocessing import Normalization, get_preset
from lince.runtime.atomic import atomic_path, check_writable
from lince.runtime.errors import _
from lince.runtime.metadata import FORMAT_NAME, FORMAT_VERSION, read_labels_file
from lince.runtime.preprocess import Preprocessing

logger = logging.getLogger(__name__)

# Below this top-1 agreement, or above this accuracy drop in points, an export
# that passed is still degraded enough to warn about.
WARN_AGREEMENT = 0.95
WARN_ACCURACY_DROP = 2.0


@dataclass(frozen=True)
class ExportConfig:
    """Everything ``lince export`` needs.

    Attributes:
        model_path: ``.keras``/``.h5`` file or SavedModel folder.
        output_path: the ``.tflite`` to write.
        quantization: ``"float32"`` (or ``"none"``), ``"float16"``,
            ``"dynamic"``, ``"int8"`` or ``"int16x8"``.
        io_type: int8 model input/output type, ``"uint8"``, ``"int8"`` or ``"float32"``.
        calibration_dir: folder of images or video file for calibration.
        calibration_count: how many calibration images to use at most.
        eval_dir: folder or CSV of images to verify on; by default the
            calibration folder's images that calibration did not use.
        eval_count: how many evaluation images to use at most.
        max_drop: fail when top-1 accuracy (with labels) or agreement with
            the float model drops more than this many percentage points.
        keep_float: int8 operations (tensor names) left in float32.
        explain: list the int8 layers with the largest quantization error.
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
    eval_count: int = DEFAULT_EVAL_COUNT
    labels_path: Optional[Path] = None
    normalization: Optional[Normalization] = None
    crop: Optional[str] = None
    crop_fraction: Optional[float] = None
    interpolation: Optional[str] = None
    image_size: Optional[Tuple[int, int]] = None
    overwrite: bool = False
    unsafe_load: bool = False
    max_drop: Optional[float] = None
    keep_float: Tuple[str, ...] = ()
    explain: bool = False


@dataclass
class ExportResult:
    """Files and figures of a finished export."""

    path: Path
    size_bytes: int
    quantization: str
    labels: List[str]
    comparison: Optional[Comparison] = None
    calibration: Optional[CalibrationSet] = None
    timings: dict = field(default_factory=dict)
    report: Optional[dict] = None
    report_paths: Tuple[Path, ...] = ()


def export_model(config: ExportConfig) -> ExportResult:
    """Run every export stage and write ``config.output_path`` atomically.

    Raises:
        LinceError: bad input, a failed conversion, a quantization that was
            not applied, or a quantized model that is degenerate or drops more
            than ``config.max_drop`` (kept as ``NAME.rejected.tflite``).
    """
    output = check_writable(config.output_path, config.overwrite)
    rejected = output.with_name(output.stem + ".rejected.tflite")
    _check_outputs_writable(config, output, rejected)
    mode = normalize_mode(config.quantization)
    _check_options(config, mode)
    timings = {}
    started = time.perf_counter()

    sidecar = read_training_sidecar(config.model_path) or {}
    image_size = config.image_size or (tuple(sidecar["image_size"]) if sidecar.get("image_size") else None)
    source = load_source_model(config.model_path, unsafe=config.unsafe_load, image_size=image_size)
    normalization = _choose_normalization(config, sidecar)
    diagnosis.check_double_normalization(source, normalization, given=config.normalization is not None)
    labels = _choose_labels(config, sidecar, source.num_classes)
    preprocessing = Preprocessing(
        size=source.input_size,
        crop=config.crop or sidecar.get("crop", "none"),
        crop_fraction=config.crop_fraction or sidecar.get("crop_fraction", 1.0),
        interpolation=config.interpolation or sidecar.get("interpolation", "bilinear"),
    )
    timings["load_s"] = time.perf_counter() - started

    calibration = _calibration(config, mode, preprocessing, timings)
    evaluation = load_evaluation_set(config.eval_dir, preprocessing, labels, calibration, config.calibration_dir,
                                     config.eval_count)
    if evaluation is None and mode != "float32":
        logger.warning("No images to verify the %s model on: pass --eval DIR (or --calibration DIR) to check it "
                       "against the float model", mode)
    notes = []
    reference, kind = _reference_outputs(source, normalization, evaluation, notes)

    step = time.perf_counter()
    in_input = normalization_in_input(normalization, mode, config.io_type, keep_float=bool(config.keep_float))
    function = frozen_function(source, normalization, normalize=not in_input)
    to_input = input_transform(normalization, in_input)
    dataset = representative_dataset(calibration.batches, to_input) if calibration is not None else None
    tflite_model, tensors = _convert_checked(function, config, mode, dataset)
    timings["convert_s"] = time.perf_counter() - step
    logger.info("Converted to %s in %.1f s: %.2f MB", mode, timings["convert_s"], len(tflite_model) / 1e6)
    extras = {}
    if config.explain:
        extras["explain"] = [layer.to_dict() for layer in explain_quantization(function, calibration, to_input)]

    document = _lince_document(config, mode, preprocessing, normalization, in_input, kind, calibration)
    description = ModelDescription(
        name=Path(config.model_path).stem, description="Image classifier exported by lince.",
        version=__version__, author="lince", license="", width=preprocessing.size[1],
        height=preprocessing.size[0], num_classes=source.num_classes, has_labels=bool(labels),
        input_normalization=(normalization.mean[0], normalization.std[0]) if in_input else None)
    packed = pack_metadata(tflite_model, description, document, labels)

    comparison, report, paths = None, None, ()
    with atomic_path(output) as temporary:
        temporary.write_bytes(packed)
        if reference is not None:
            step = time.perf_counter()
            comparison = compare(reference, tflite_probabilities(temporary, evaluation.images), evaluation.targets)
            timings["verify_s"] = time.perf_counter() - step
            if config.keep_float:
                extras["keep_float"] = _keep_float_tradeoff(
                    function, dataset, evaluation, reference, temporary, len(packed), config.keep_float)
            failure = _failure(comparison, config, mode, source)
            notes.append(diagnosis.normalization_note(diagnosis.normalizing_layers(source)))
            # A rejected model's report is named after it, so the report of a
            # previous good model at ``output`` stays as it was.
            target = output if failure is None else rejected
            report = build_report(
                model=target, mode=mode, size_bytes=len(packed), tensors=tensors, calibration=calibration,
                calibration_source=config.calibration_dir, evaluation=evaluation, comparison=comparison,
                labels=labels, max_drop=config.max_drop, passed=failure is None, notes=[n for n in notes if n])
            report.update(extras)
            if failure is None:
                report["warning"] = degradation_warning(comparison)
            paths = write_report(report, target)
            if failure is not None:
                os.replace(temporary, rejected)
                raise ExportError(failure.format(path=rejected))
    timings["total_s"] = time.perf_counter() - started
    return ExportResult(output, output.stat().st_size, mode, labels, comparison, calibration, timings,
                        report, paths)


def _check_outputs_writable(config: ExportConfig, output: Path, rejected: Path) -> None:
    """Refuse, before any slow stage, to replace a report or rejected model without ``--overwrite``."""
    if config.eval_dir is None and config.calibration_dir is None:
        return  # Nothing to verify on: no report and no rejection.
    for path in (*report_paths(output), rejected, *report_paths(rejected)):
        check_writable(path, config.overwrite)


def degradation_warning(comparison: Comparison) -> Optional[str]:
    """Return a warning when the export follows the source model noticeably worse, else None."""
    drop = comparison.accuracy_drop
    if comparison.top1_agreement >= WARN_AGREEMENT and (drop is None or drop <= WARN_ACCURACY_DROP):
        return None
    advice = _("Try --quantize int16x8 or float16, --keep-float on the worst layers (see --explain), and check "
               "the preprocessing (--preprocess or --mean/--std).")
    if drop is None:
        return _("the exported model is degraded: top-1 agreement with the source model {agreement:.1%}. "
                 "{advice}").format(agreement=comparison.top1_agreement, advice=advice)
    return _("the exported model is degraded: top-1 agreement with the source model {agreement:.1%}, top-1 "
             "accuracy drop {drop:.2f} points. {advice}").format(
                 agreement=comparison.top1_agreement, drop=drop, advice=advice)


def _check_options(config: ExportConfig, mode: str) -> None:
    """Reject option combinations before any slow stage runs."""
    if config.explain and mode != "int8":
        raise ExportError(_("--explain applies to int8 export only, not {mode}").format(mode=mode))
    if config.keep_float and mode != "int8":
        raise ExportError(_("--keep-float applies to int8 export only, not {mode}").format(mode=mode))


def _reference_outputs(source, normalization, evaluation, notes: list):
    """Return the float model's probabilities on the evaluation images and its output kind."""
    if evaluation is None:
        return None, "auto"
    scores = source_scores(raw_pixel_function(source, normalization), evaluation.images)
    warning = diagnosis.check_source_predictions(scores, normalization)
    if warning:
        logger.warning("%s", warning)
        notes.append(warning)
    return as_probabilities(scores), output_kind(scores)


def _convert_checked(function, config: ExportConfig, mode: str, dataset):
    """Convert, then prove from the file's tensor types that ``mode`` was applied."""
    settings = ConversionSettings(quantization=mode, io_type=config.io_type, keep_float=tuple(config.keep_float))
    tflite_model = convert(function, settings, dataset)
    tensors = inspect_tensors(tflite_model)
    check_mode(tensors, mode, keep_float=bool(config.keep_float))
    return tflite_model, tensors


def _calibration(config: ExportConfig, mode: str, preprocessing: Preprocessing, timings: dict):
    if mode not in CALIBRATED and config.calibration_dir is None:
        return None
    if config.calibration_dir is None:
        raise ExportError(_("{mode} quantization needs calibration images: pass --calibration DIR or VIDEO")
                          .format(mode=mode))
    step = time.perf_counter()
    calibration = load_calibration_images(config.calibration_dir, preprocessing, config.calibration_count)
    timings["calibration_read_s"] = time.perf_counter() - step
    logger.info("Calibration: %d images from %s (%d skipped)", len(calibration.images),
                config.calibration_dir, len(calibration.skipped))
    return calibration


def _keep_float_tradeoff(function, dataset, evaluation, reference, model_path: Path, size: int,
                         keep_float) -> dict:
    """Measure the model with ``keep_float`` layers against a plain int8 conversion on the same images."""
    import tempfile

    plain = convert(function, ConversionSettings(quantization="int8"), dataset)
    with tempfile.TemporaryDirectory() as folder:
        plain_path = Path(folder) / "plain_int8.tflite"
        plain_path.write_bytes(plain)
        plain_probabilities, plain_ms = run_tflite(plain_path, evaluation.images)
    kept_probabilities, kept_ms = run_tflite(model_path, evaluation.images)
    rows = {}
    for name, probabilities, milliseconds, size_bytes in (
            ("keep_float", kept_probabilities, kept_ms, size), ("int8", plain_probabilities, plain_ms, len(plain))):
        comparison = compare(reference, probabilities, evaluation.targets)
        rows[name] = {"top1_agreement": comparison.top1_agreement, "accuracy": comparison.export_accuracy,
                      "size_bytes": int(size_bytes), "median_ms": milliseconds}
    return {"layers": list(keep_float), **rows}


def _failure(comparison: Comparison, config: ExportConfig, mode: str, source) -> Optional[str]:
    """Return the error message (with a ``{path}`` placeholder) when the export must be rejected."""
    if comparison.degenerate:
        return _("the {mode} model is degenerate: it gives one class for all {count} images while the source "
                 "model gives {classes}; kept as {{path}} for inspection. {advice}").format(
                     mode=mode, count=comparison.images, classes=comparison.source_classes,
                     advice=diagnosis.collapse_advice(source, mode))
    if config.max_drop is None:
        return None
    drops = {"agreement": comparison.disagreement}
    if comparison.accuracy_drop is not None:
        drops["accuracy"] = comparison.accuracy_drop
    worst = max(drops, key=drops.get)
    if drops[worst] <= config.max_drop:
        return None
    what = _("agreement") if worst == "agreement" else _("accuracy")
    return _("the {mode} model drops {drop:.2f} points of top-1 {what} (more than --max-drop {limit}); kept as "
             "{{path}}; see the report next to it. {advice}").format(
                 mode=mode, drop=drops[worst], what=what, limit=config.max_drop,
                 advice=diagnosis.collapse_advice(source, mode))


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


def _file_sha256(path: Path) -> Optional[str]:
    if not path.is_file():
        return None
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _lince_document(config, mode, preprocessing, normalization, in_input, output_kind, calibration) -> dict:
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
            # "folded": the graph normalises; otherwise the int8 input's
            # quantization does, and a runtime quantizes (x - mean) / std.
            "normalization": {**normalization.to_dict(), "folded": not in_input},
        },
        "output": {"type": output_kind},
        "labels": "labels.txt",
        "quantization": mode,
        "io_type": config.io_type if mode == "int8" else "float32",
        "calibration": None if calibration is None else {
            "folder": str(config.calibration_dir), "images": int(len(calibration.images)),
            "skipped": len(calibration.skipped)},
        "source": {"path": model_path.name, "sha256": _file_sha256(model_path)},
        "lince_version": __version__,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }
