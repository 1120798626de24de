"""Read the ``lince.json`` that ``lince train`` writes next to a Keras model.

It records the backbone's normalisation preset, the input size and the
label file, so that ``lince export OUT/model.keras --int8 --calibration DIR``
needs no other flag.
"""

import json
import logging
from pathlib import Path
from typing import Optional

from lince.runtime.errors import LinceError, _

logger = logging.getLogger(__name__)

SIDECAR_NAME = "lince.json"
SIDECAR_FORMAT = "lince-training"


def read_training_sidecar(model_path) -> Optional[dict]:
    """Return the training sidecar of ``model_path``, or None when there is none."""
    model_path = Path(model_path)
    folder = model_path if model_path.is_dir() else model_path.parent
    path = folder / SIDECAR_NAME
    if not path.is_file():
        return None
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise LinceError(_("{path}: cannot read the training settings ({reason})").format(
            path=path, reason=error)) from None
    if document.get("format") != SIDECAR_FORMAT:
        logger.debug("%s is not a lince training sidecar; ignored", path)
        return None
    labels = document.get("labels")
    if labels:
        document["labels_path"] = str(folder / labels)
    logger.info("Read training settings from %s", path)
    return document
