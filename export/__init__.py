"""Export Keras models to TFLite with their preprocessing and labels inside.

Needs the ``export`` extra (TensorFlow); imported lazily by the command line.
"""

from lince.export.converter import ExportError
from lince.export.pipeline import ExportConfig, ExportResult, export_model

__all__ = ["ExportConfig", "ExportError", "ExportResult", "export_model"]
