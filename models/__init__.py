"""Backbones, transfer learning and evaluation (``lince.models``).

Importing this package does not import TensorFlow: the zoo table, the
training sidecar and the normalisation presets work without it.
"""

from lince.models.sidecar import load_training_sidecar
from lince.models.zoo import BACKBONES, FAMILIES, Backbone, get_backbone

__all__ = ["BACKBONES", "FAMILIES", "Backbone", "get_backbone", "load_training_sidecar"]
