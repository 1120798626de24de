"""Read the tensor types a ``.tflite`` file really stores, without TensorFlow.

A quantization mode is only proven applied by the file itself: an int8
export whose convolution weights are still float32 runs, and is neither
small nor fast. :func:`inspect_tensors` counts the constant weight tensors
and the activation tensors by type, and :func:`check_mode` compares them
with what the requested mode must produce.
"""

import logging
from collections import Counter
from dataclasses import dataclass, field
from typing import Dict

import numpy as np

from lince.runtime.errors import LinceError, _

logger = logging.getLogger(__name__)

# Constant tensors of rank 2 or more with at least this many elements are
# weights (filters and matrices); biases, shapes and scalars are not counted.
MIN_WEIGHT_ELEMENTS = 64
# Dynamic-range quantization leaves weights under 1024 elements in float32
# (the converter's default threshold), so only this share of the weight
# elements must have the mode's type.
DYNAMIC_MIN_SHARE = 0.9

# Weight types that each mode must produce.
EXPECTED_WEIGHTS = {
    "float32": {"float32"},
    "float16": {"float16"},
    "dynamic": {"int8"},
    "int8": {"int8"},
    "int16x8": {"int8"},
}


@dataclass(frozen=True)
class TensorSummary:
    """Types of the tensors of a ``.tflite`` model.

    Attributes:
        weights: weight type name → number of constant tensors with at least
            :data:`MIN_WEIGHT_ELEMENTS` elements.
        weight_bytes: weight type name → bytes those tensors take.
        weight_elements: weight type name → number of weight values.
        activations: type name → number of non-constant tensors.
        input_type, output_type: type names of the first input and output.
    """

    weights: Dict[str, int] = field(default_factory=dict)
    weight_bytes: Dict[str, int] = field(default_factory=dict)
    weight_elements: Dict[str, int] = field(default_factory=dict)
    activations: Dict[str, int] = field(default_factory=dict)
    input_type: str = ""
    output_type: str = ""

    def to_dict(self) -> dict:
        return {"weights": dict(self.weights), "weight_bytes": dict(self.weight_bytes),
                "weight_elements": dict(self.weight_elements),
                "activations": dict(self.activations), "input_type": self.input_type,
                "output_type": self.output_type}


def _type_names() -> Dict[int, str]:
    from ai_edge_litert import schema_py_generated as schema

    return {value: name.lower() for name, value in vars(schema.TensorType).items() if name.isupper()}


def inspect_tensors(model_bytes: bytes) -> TensorSummary:
    """Count the weight and activation tensors of ``model_bytes`` by type."""
    from ai_edge_litert.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model_from_bytearray(bytearray(model_bytes))
    names = _type_names()
    weights, weight_bytes, elements_by_type, activations = Counter(), Counter(), Counter(), Counter()
    graph = model.subgraphs[0]
    for tensor in graph.tensors:
        type_name = names.get(tensor.type, str(tensor.type))
        buffer = model.buffers[tensor.buffer] if tensor.buffer < len(model.buffers) else None
        size = _buffer_size(buffer)
        if size == 0:
            activations[type_name] += 1
            continue
        shape = [] if tensor.shape is None else list(tensor.shape)
        elements = int(np.prod(shape)) if shape else 1
        if len(shape) >= 2 and elements >= MIN_WEIGHT_ELEMENTS:
            weights[type_name] += 1
            weight_bytes[type_name] += size
            elements_by_type[type_name] += elements
    return TensorSummary(
        weights=dict(weights), weight_bytes=dict(weight_bytes), weight_elements=dict(elements_by_type),
        activations=dict(activations),
        input_type=names.get(graph.tensors[graph.inputs[0]].type, ""),
        output_type=names.get(graph.tensors[graph.outputs[0]].type, ""),
    )


def _buffer_size(buffer) -> int:
    if buffer is None:
        return 0
    if buffer.data is not None and len(buffer.data):
        return len(buffer.data)
    # Models over 2 GB keep buffers after the flatbuffer, located by offset.
    if getattr(buffer, "offset", 0) and buffer.offset > 1:
        return int(buffer.size)
    return 0


def check_mode(summary: TensorSummary, mode: str, keep_float: bool = False) -> None:
    """Raise unless the weight and activation types prove ``mode`` was applied.

    ``keep_float`` allows float32 weights and activations next to the int8
    ones (layers left in float on purpose).
    """
    if mode == "float32":
        return
    if not summary.weights:
        # Every weight is under MIN_WEIGHT_ELEMENTS values: too small a model
        # for the types to prove anything, and too small for size to matter.
        logger.debug("No weight tensor large enough to check the %s mode", mode)
        return
    expected = set(EXPECTED_WEIGHTS[mode])
    allowed = expected | ({"float32"} if keep_float or mode == "dynamic" else set())
    found = set(summary.weights)
    total = sum(summary.weight_elements.values()) or 1
    share = sum(summary.weight_elements.get(name, 0) for name in expected) / total
    minimum = DYNAMIC_MIN_SHARE if mode == "dynamic" else 0.0
    if found - allowed or share <= minimum:
        raise LinceError(_(
            "the {mode} export stores weights of type {found}, not {expected}: the quantization was not applied; "
            "try another mode (--quantize float16 or dynamic) or report the model's layers").format(
                mode=mode, found=", ".join(sorted(found)) or "none", expected=", ".join(sorted(expected))))
    if mode == "int16x8" and "int16" not in summary.activations:
        raise LinceError(_("the int16x8 export has no 16-bit activations ({found}): the converter fell back to "
                           "another mode").format(found=", ".join(sorted(summary.activations))))
    if mode == "int8" and not keep_float and summary.activations.get("float32", 0) > 2:
        raise LinceError(_("the int8 export still computes {count} activations in float32: some operations "
                           "have no int8 kernel; try --quantize dynamic or float16").format(
                               count=summary.activations["float32"]))
    logger.info("Tensor types of the %s model: weights %s, activations %s", mode, summary.weights,
                summary.activations)
