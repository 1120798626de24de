"""Choose the TFLite interpreter implementation, in one place.

The order is LiteRT (``ai-edge-litert``, the maintained successor of
``tflite-runtime``), then ``tflite-runtime`` (the only build for 32-bit
Raspberry Pi OS), then ``tensorflow.lite`` as a last resort, because importing
TensorFlow costs seconds and hundreds of megabytes.
"""

import importlib
import logging
from functools import lru_cache

from lince.runtime.errors import MissingDependencyError, _

logger = logging.getLogger(__name__)

# (module to import, attribute holding the Interpreter class, distribution name)
BACKENDS = (
    ("ai_edge_litert.interpreter", "Interpreter", "ai-edge-litert"),
    ("tflite_runtime.interpreter", "Interpreter", "tflite-runtime"),
    ("tensorflow.lite", "Interpreter", "tensorflow"),
)


@lru_cache(maxsize=1)
def interpreter_class():
    """Return ``(Interpreter class, distribution name)`` of the first backend found."""
    for module_name, attribute, distribution in BACKENDS:
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            continue
        logger.debug("TFLite interpreter: %s (%s)", distribution, module_name)
        return getattr(module, attribute), distribution
    raise MissingDependencyError(
        _(
            "No TFLite interpreter is installed: install ai-edge-litert "
            "(pip install ai-edge-litert), or tflite-runtime on 32-bit Raspberry Pi OS."
        )
    )


def make_interpreter(model_path: str, num_threads: int):
    """Build an interpreter for ``model_path`` with ``num_threads`` CPU threads."""
    cls, _distribution = interpreter_class()
    return cls(model_path=model_path, num_threads=num_threads)
