"""The ``lince.json`` file written next to a trained ``model.keras``.

It records what ``lince export`` and ``lince evaluate`` need to use the
model without extra flags: the backbone, its normalisation preset, the input
size and the label file. Format::

    {"format": "lince-training", "version": 1, "backbone": "mobilenetv2-0.35",
     "preprocess": "tf", "image_size": [96, 96], "labels": "labels.txt",
     "crop": "none", "interpolation": "bilinear", "output": "probabilities", ...}
"""

import json
import logging
from pathlib import Path
from typing import Optional

from lince.models.preprocessing import PRESETS
from lince.runtime.errors import LinceError, _
from lince.runtime.metadata import read_labels_file

logger = logging.getLogger(__name__)

SIDECAR_NAME = "lince.json"
FORMAT = "lince-training"
VERSION = 1


def sidecar_document(backbone: str, preprocess: str, image_size, labels_file: str = "labels.txt", **report) -> dict:
    """Return the sidecar document; ``report`` adds free fields (accuracy, epochs...)."""
    document = {
        "format": FORMAT,
        "version": VERSION,
        "backbone": backbone,
        "preprocess": preprocess,
        "image_size": [int(image_size[0]), int(image_size[1])],
        "labels": labels_file,
        "crop": "none",
        "interpolation": "bilinear",
        "output": "probabilities",
    }
    document.update(report)
    return document


def load_training_sidecar(model_path) -> Optional[dict]:
    """Read the ``lince.json`` next to ``model_path``; None when there is none.

    The returned dict is the document plus ``labels_path`` (absolute path of
    the label file) and ``label_names`` (the class names in output order).
    Raises :class:`LinceError` when the file exists but is invalid.
    """
    path = Path(model_path).parent / SIDECAR_NAME
    if not path.is_file():
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise LinceError(_("{path}: invalid training description: {reason}").format(path=path, reason=error)) \
            from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        logger.info("%s is not a lince training description; ignored", path)
        return None
    if document.get("version", 0) > VERSION:
        raise LinceError(_("{path}: version {version} is newer than this lince understands ({supported}); "
                           "upgrade lince").format(path=path, version=document.get("version"), supported=VERSION))
    if document.get("preprocess") not in PRESETS:
        raise LinceError(_("{path}: unknown preprocess {name!r}; use one of {choices}").format(
            path=path, name=document.get("preprocess"), choices=", ".join(PRESETS)))
    size = document.get("image_size")
    if not (isinstance(size, list) and len(size) == 2 and all(isinstance(v, int) and v > 0 for v in size)):
        raise LinceError(_("{path}: image_size must be [height, width], got {value!r}").format(path=path, value=size))
    labels_path = path.parent / str(document.get("labels", "labels.txt"))
    document["labels_path"] = str(labels_path)
    document["label_names"] = read_labels_file(labels_path)
    return document
