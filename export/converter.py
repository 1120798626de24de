"""Convert a raw-pixel model function to TFLite: float32 or full-integer int8."""

import logging
import re
from dataclasses import dataclass
from typing import Callable, Iterable, Optional

from lince.runtime.errors import LinceError, _

logger = logging.getLogger(__name__)

QUANTIZATIONS = ("float32", "int8")
INT8_IO_TYPES = ("uint8", "int8")


class ExportError(LinceError):
    """The converter could not produce the requested model."""


@dataclass(frozen=True)
class ConversionSettings:
    """How to convert.

    Attributes:
        quantization: ``"float32"`` or ``"int8"`` (integer weights and
            activations, integer-only built-in ops).
        io_type: type of the int8 model's input and output tensors,
            ``"uint8"`` (default, like Google's reference models) or ``"int8"``.
    """

    quantization: str = "float32"
    io_type: str = "uint8"


def convert(function, settings: ConversionSettings,
            representative_dataset: Optional[Callable[[], Iterable]] = None) -> bytes:
    """Return the ``.tflite`` flatbuffer of a frozen concrete function converted with ``settings``."""
    import tensorflow as tf

    converter = tf.lite.TFLiteConverter.from_concrete_functions([function])
    if settings.quantization == "int8":
        if representative_dataset is None:
            raise ExportError(_("int8 quantization needs calibration images: pass --calibration DIR"))
        io_type = {"uint8": tf.uint8, "int8": tf.int8}[settings.io_type]
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.representative_dataset = representative_dataset
        # Integer-only built-in ops: conversion fails rather than leave a
        # float op behind, so an "int8" model is never silently part float.
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        converter.inference_input_type = io_type
        converter.inference_output_type = io_type
    else:
        converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]

    try:
        return converter.convert()
    except Exception as error:  # The converter raises several unrelated types.
        raise ExportError(describe_conversion_error(error, settings)) from None


def describe_conversion_error(error: Exception, settings: ConversionSettings) -> str:
    """Turn a converter exception into one line that names the unsupported ops."""
    text = str(error)
    ops = sorted(set(re.findall(r"\btf\.([A-Z]\w+)", text)))
    if ops:
        return _("the model needs TensorFlow ops that TFLite built-in ops lack ({ops}); "
                 "replace those layers, or export float32 if only int8 lacks them").format(ops=", ".join(ops))
    first = next((line.strip() for line in text.splitlines() if line.strip()), type(error).__name__)
    return _("TFLite conversion to {mode} failed: {reason}").format(mode=settings.quantization, reason=first)
