"""Convert a raw-pixel model function to TFLite in one of five quantization modes.

=========  ===============================  ======================  ===========
mode       weights                          activations             calibration
=========  ===============================  ======================  ===========
float32    float32                          float32                 no
float16    float16 (dequantized at load)    float32                 no
dynamic    int8 (per channel)               float32, int8 matmuls   no
int8       int8 (per channel)               int8                    yes
int16x8    int8                             int16                   yes
=========  ===============================  ======================  ===========
"""

import logging
import re
from dataclasses import dataclass
from typing import Callable, Iterable, Optional, Tuple

from lince.runtime.errors import LinceError, _

logger = logging.getLogger(__name__)

QUANTIZATIONS = ("float32", "float16", "dynamic", "int8", "int16x8")
# The modes whose activation ranges are measured on representative data.
CALIBRATED = ("int8", "int16x8")
INT8_IO_TYPES = ("uint8", "int8", "float32")
# Names accepted by --quantize, mapped to the mode they mean.
ALIASES = {"none": "float32", "float": "float32", "fp16": "float16"}


class ExportError(LinceError):
    """The converter could not produce the requested model."""


def normalize_mode(name: str) -> str:
    """Return the canonical mode for a ``--quantize`` value, or raise with the valid names."""
    mode = ALIASES.get(name, name)
    if mode not in QUANTIZATIONS:
        raise ExportError(_("unknown quantization {name!r}: use one of none, float16, dynamic, int8, int16x8")
                          .format(name=name))
    return mode


@dataclass(frozen=True)
class ConversionSettings:
    """How to convert.

    Attributes:
        quantization: one of :data:`QUANTIZATIONS`.
        io_type: type of the input and output tensors of an ``int8`` model:
            ``"uint8"`` (default, like Google's reference models), ``"int8"``
            or ``"float32"`` (the model quantizes its input itself). ``int16x8``
            models always take and return float32, because the runtime feeds
            uint8, int8 or float32 inputs only.
        keep_float: names of operations (their output tensor names, as
            ``--explain`` lists them) left in float32 in an int8 model.
    """

    quantization: str = "float32"
    io_type: str = "uint8"
    keep_float: Tuple[str, ...] = ()

    @property
    def needs_calibration(self) -> bool:
        return self.quantization in CALIBRATED


def convert(function, settings: ConversionSettings,
            representative_dataset: Optional[Callable[[], Iterable]] = None) -> bytes:
    """Return the ``.tflite`` flatbuffer of a frozen concrete function converted with ``settings``."""
    converter = make_converter(function, settings, representative_dataset)
    try:
        if settings.keep_float:
            return _convert_selectively(converter, settings, representative_dataset)
        return converter.convert()
    except LinceError:
        raise
    except Exception as error:  # The converter raises several unrelated types.
        raise ExportError(describe_conversion_error(error, settings)) from None


def make_converter(function, settings: ConversionSettings, representative_dataset=None):
    """Return a ``TFLiteConverter`` set up for ``settings`` (not yet run)."""
    import tensorflow as tf

    if settings.quantization not in QUANTIZATIONS:
        raise ExportError(_("unknown quantization {name!r}: use one of none, float16, dynamic, int8, int16x8")
                          .format(name=settings.quantization))
    converter = tf.lite.TFLiteConverter.from_concrete_functions([function])
    converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS]
    mode = settings.quantization
    if mode == "float32":
        return converter
    converter.optimizations = [tf.lite.Optimize.DEFAULT]
    if mode == "float16":
        converter.target_spec.supported_types = [tf.float16]
    elif mode in CALIBRATED:
        if representative_dataset is None:
            raise ExportError(_("{mode} quantization needs calibration images: pass --calibration DIR or VIDEO")
                              .format(mode=mode))
        converter.representative_dataset = representative_dataset
        _set_integer_ops(converter, settings)
    # "dynamic": Optimize.DEFAULT without representative data quantizes the
    # weights only.
    return converter


def _set_integer_ops(converter, settings: ConversionSettings) -> None:
    import tensorflow as tf

    if settings.quantization == "int16x8":
        ops = [tf.lite.OpsSet.EXPERIMENTAL_TFLITE_BUILTINS_ACTIVATIONS_INT16_WEIGHTS_INT8]
        io_types = {"float32": tf.float32, "uint8": tf.float32, "int8": tf.float32}
    else:
        # Integer-only built-in ops: conversion fails rather than leave a
        # float op behind, so an "int8" model is never silently part float.
        # Layers kept in float need the float kernels as well.
        ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
        if settings.keep_float:
            ops.append(tf.lite.OpsSet.TFLITE_BUILTINS)
        io_types = {"uint8": tf.uint8, "int8": tf.int8, "float32": tf.float32}
    if settings.io_type not in io_types:
        raise ExportError(_("--input-type {value} does not apply to {mode} models").format(
            value=settings.io_type, mode=settings.quantization))
    converter.target_spec.supported_ops = ops
    converter.inference_input_type = io_types[settings.io_type]
    converter.inference_output_type = io_types[settings.io_type]


def _convert_selectively(converter, settings: ConversionSettings, representative_dataset) -> bytes:
    """Quantize to int8 while leaving the operations named in ``settings.keep_float`` in float."""
    import tensorflow as tf

    if settings.quantization != "int8":
        raise ExportError(_("--keep-float applies to int8 export only, not {mode}").format(
            mode=settings.quantization))
    options = tf.lite.experimental.QuantizationDebugOptions(denylisted_nodes=list(settings.keep_float))
    debugger = tf.lite.experimental.QuantizationDebugger(
        converter=converter, debug_dataset=representative_dataset, debug_options=options)
    model = debugger.get_nondebug_quantized_model()
    unknown = sorted(set(settings.keep_float) - _tensor_names(model))
    if unknown:
        # The debugger ignores names it does not find, which would quietly
        # give a plain int8 model.
        raise ExportError(_("--keep-float {names}: no such tensor in the int8 model; copy the names from the "
                            "--explain list in the report").format(names=", ".join(unknown)))
    return model


def _tensor_names(model: bytes) -> set:
    from ai_edge_litert.tools import flatbuffer_utils

    graph = flatbuffer_utils.read_model_from_bytearray(bytearray(model)).subgraphs[0]
    return {tensor.name.decode() if isinstance(tensor.name, bytes) else tensor.name for tensor in graph.tensors}


def describe_conversion_error(error: Exception, settings: ConversionSettings) -> str:
    """Turn a converter exception into one line that names the unsupported ops."""
    text = str(error)
    ops = sorted(set(re.findall(r"\btf\.([A-Z]\w+)", text)))
    if ops:
        return _("the model needs TensorFlow ops that TFLite built-in ops lack ({ops}); "
                 "replace those layers, or export float32 if only int8 lacks them").format(ops=", ".join(ops))
    first = next((line.strip() for line in text.splitlines() if line.strip()), type(error).__name__)
    return _("TFLite conversion to {mode} failed: {reason}").format(mode=settings.quantization, reason=first)
