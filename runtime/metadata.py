"""Read the labels and preprocessing that a ``.tflite`` file stores about itself.

The TFLite metadata standard packs a model's associated files (its label
file, for example) into a ZIP archive appended to the flatbuffer. lince's
export puts two files there: ``labels.txt`` and ``lince.json``, the
preprocessing that the runtime must apply. Both are read with :mod:`zipfile`,
without TensorFlow or a flatbuffer parser. Label files of other tools'
models packed the same way are found too.
"""

import io
import json
import logging
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import List, Optional, Tuple

from lince.runtime.errors import ModelLoadError, _
from lince.runtime.preprocess import Preprocessing

logger = logging.getLogger(__name__)

METADATA_FILE = "lince.json"
LABELS_FILE = "labels.txt"
FORMAT_NAME = "lince-model"
# 2: the normalisation may live in the int8 input's quantization ("folded": false).
FORMAT_VERSION = 2


@dataclass(frozen=True)
class ModelInfo:
    """Settings that lince's ``lince.json`` records for an exported classifier.

    Attributes:
        preprocessing: crop, resize and colour order of the input image.
        normalization: name, ``mean`` and ``std``, and ``folded``: true when the
            graph normalises, false when the int8 input's quantization does.
        output: ``"probabilities"`` or ``"logits"``.
        quantization: export mode, for example ``"float32"`` or ``"int8"``.
        source: what the model was exported from (path, checksum).
        raw: the whole JSON document.
    """

    preprocessing: Preprocessing
    normalization: dict = field(default_factory=dict)
    output: str = "probabilities"
    quantization: str = "float32"
    source: dict = field(default_factory=dict)
    raw: dict = field(default_factory=dict)


def read_associated_files(model_path: Path) -> dict:
    """Return ``{name: bytes}`` of the files packed at the end of a ``.tflite``.

    A model without associated files returns an empty dict.
    """
    try:
        with zipfile.ZipFile(model_path) as archive:
            return {name: archive.read(name) for name in archive.namelist()}
    except zipfile.BadZipFile:
        if _names_lince_metadata(model_path):
            # The metadata names lince.json but the ZIP after the model is
            # unreadable: the file lost its end, and with it the labels.
            raise ModelLoadError(_("{path}: the labels and settings packed at the end of the model are damaged; "
                                   "the file is probably truncated, so copy or export it again").format(
                path=model_path)) from None
        return {}
    except (OSError, zipfile.LargeZipFile) as error:
        logger.warning("%s: cannot read the packed files: %s", model_path, error)
        return {}


def _names_lince_metadata(model_path: Path) -> bool:
    with open(model_path, "rb") as file:
        return METADATA_FILE.encode() in file.read()


def parse_labels(text: str) -> List[str]:
    """Split a label file into names: one per line, blank lines at the end dropped."""
    lines = [line.strip() for line in text.splitlines()]
    while lines and not lines[-1]:
        lines.pop()
    return lines


def read_labels_file(path) -> List[str]:
    """Read a label file (one name per line) and return its names."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ModelLoadError(_("{path}: label file not found").format(path=path)) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ModelLoadError(_("{path}: cannot read the label file ({reason})").format(
            path=path, reason=error)) from None
    labels = parse_labels(text)
    if not labels:
        raise ModelLoadError(_("{path}: the label file is empty").format(path=path))
    return labels


def parse_model_info(document: dict, name: str) -> ModelInfo:
    """Build a :class:`ModelInfo` from the JSON document stored in a model."""
    if document.get("format") != FORMAT_NAME:
        raise ModelLoadError(_("{path}: {file} is not lince metadata").format(path=name, file=METADATA_FILE))
    if document.get("version", 0) > FORMAT_VERSION:
        logger.warning("%s: metadata version %s is newer than this lince reads (%s)",
                       name, document.get("version"), FORMAT_VERSION)
    image = document.get("input", {})
    try:
        preprocessing = Preprocessing(
            size=tuple(image["size"]),
            crop=image.get("crop", "none"),
            crop_fraction=float(image.get("crop_fraction", 1.0)),
            interpolation=image.get("interpolation", "bilinear"),
            color_order=image.get("color_order", "RGB"),
        )
    except (KeyError, TypeError, ValueError) as error:
        raise ModelLoadError(_("{path}: invalid input description in {file}: {reason}").format(
            path=name, file=METADATA_FILE, reason=error)) from None
    return ModelInfo(
        preprocessing=preprocessing,
        normalization=image.get("normalization", {}),
        output=document.get("output", {}).get("type", "probabilities"),
        quantization=document.get("quantization", "float32"),
        source=document.get("source", {}),
        raw=document,
    )


def read_model_metadata(model_path, num_classes: int) -> Tuple[Optional[ModelInfo], Optional[List[str]]]:
    """Return ``(ModelInfo or None, labels or None)`` packed inside a model file.

    Labels come from the file that ``lince.json`` names. For other models
    they come from a packed ``.txt`` file with one line per output class, or
    one fewer when class 0 is a background class without a name.
    """
    files = read_associated_files(Path(model_path))
    info = None
    if METADATA_FILE in files:
        try:
            document = json.loads(files[METADATA_FILE].decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ModelLoadError(_("{path}: corrupt {file}: {reason}").format(
                path=model_path, file=METADATA_FILE, reason=error)) from None
        info = parse_model_info(document, str(model_path))

    labels = None
    label_name = info.raw.get("labels") if info else None
    candidates = [label_name] if label_name in files else sorted(n for n in files if n.endswith(".txt"))
    for name in candidates:
        names = parse_labels(io.TextIOWrapper(io.BytesIO(files[name]), encoding="utf-8-sig").read())
        if len(names) in (num_classes, num_classes - 1):
            labels = names
            logger.debug("%s: labels from packed file %s", model_path, name)
            break
    return info, labels
