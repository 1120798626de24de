"""Pack labels and preprocessing into a ``.tflite`` file, in the TFLite metadata format.

The TFLite metadata standard (``metadata_schema.fbs`` of TensorFlow Lite
Support, file identifier ``M001``) stores a ``ModelMetadata`` flatbuffer in a
model buffer named ``TFLITE_METADATA`` and appends the associated files as a
ZIP archive after the model. Tools that read this format (MediaPipe Tasks,
the TFLite Support metadata displayer, Netron) then find the labels, and the
lince runtime finds both files with :mod:`zipfile` alone.

No maintained package can write this format next to TensorFlow 2.21:
``tflite-support`` needs protobuf < 4 and MediaPipe's writers fail to import.
So the few tables needed are built here with the ``flatbuffers`` builder; the
field slots below follow the field order of ``metadata_schema.fbs``.
"""

import io
import json
import zipfile
from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import flatbuffers
import numpy as np

from lince.runtime.metadata import LABELS_FILE, METADATA_FILE

METADATA_BUFFER_NAME = "TFLITE_METADATA"
METADATA_IDENTIFIER = b"M001"
# Oldest metadata parser that understands every field written here.
MIN_PARSER_VERSION = "1.0.0"

# Enum values of metadata_schema.fbs.
ASSOCIATED_FILE_DESCRIPTIONS = 1
ASSOCIATED_FILE_TENSOR_AXIS_LABELS = 2
COLOR_SPACE_RGB = 1
CONTENT_IMAGE_PROPERTIES = 2
CONTENT_FEATURE_PROPERTIES = 1
PROCESS_UNIT_NORMALIZATION = 1


@dataclass(frozen=True)
class ModelDescription:
    """Description of an image classifier in the standard metadata."""

    name: str
    description: str
    version: str
    author: str
    license: str
    width: int
    height: int
    num_classes: int
    has_labels: bool
    # (mean, std) when the int8 input's quantization applies the
    # normalisation; None when the graph applies it.
    input_normalization: Optional[Tuple[float, float]] = None


def _strings(builder, *texts):
    return [builder.CreateString(text) for text in texts]


def _table(builder, fields):
    """Build a table from ``[(slot, kind, value)]`` where kind is "offset", "uint32", "int8" or "uint8"."""
    builder.StartObject(max((slot for slot, _kind, _value in fields), default=-1) + 1)
    for slot, kind, value in fields:
        if kind == "offset":
            builder.PrependUOffsetTRelativeSlot(slot, value, 0)
        elif kind == "uint32":
            builder.PrependUint32Slot(slot, value, 0)
        elif kind == "int8":
            builder.PrependInt8Slot(slot, value, 0)
        elif kind == "uint8":
            builder.PrependUint8Slot(slot, value, 0)
    return builder.EndObject()


def _vector_of_offsets(builder, offsets: Sequence[int]) -> int:
    builder.StartVector(4, len(offsets), 4)
    for offset in reversed(offsets):
        builder.PrependUOffsetTRelative(offset)
    return builder.EndVector()


def _vector_of_floats(builder, values: Sequence[float]) -> int:
    builder.StartVector(4, len(values), 4)
    for value in reversed(values):
        builder.PrependFloat32(float(value))
    return builder.EndVector()


def _associated_file(builder, name: str, description: str, file_type: int) -> int:
    name_offset, description_offset = _strings(builder, name, description)
    # AssociatedFile: name 0, description 1, type 2.
    return _table(builder, [(0, "offset", name_offset), (1, "offset", description_offset), (2, "int8", file_type)])


def _input_tensor(builder, model: ModelDescription) -> int:
    if model.input_normalization is None:
        text = "RGB image, pixel values 0-255; the model normalises them itself."
        mean, std = 0.0, 1.0
    else:
        mean, std = model.input_normalization
        text = (f"RGB image, pixel values 0-255, normalised as (x - {mean:g}) / {std:g} by the input's "
                "quantization: quantize the normalised values with the input's scale and zero point.")
    name, description = _strings(builder, "image", text)
    # ImageSize: width 0, height 1. ImageProperties: color_space 0, default_size 1.
    size = _table(builder, [(0, "uint32", model.width), (1, "uint32", model.height)])
    image_properties = _table(builder, [(0, "int8", COLOR_SPACE_RGB), (1, "offset", size)])
    # Content: content_properties_type 0, content_properties 1.
    content = _table(builder, [(0, "uint8", CONTENT_IMAGE_PROPERTIES), (1, "offset", image_properties)])
    # With the normalisation in the graph, readers that apply
    # NormalizationOptions must leave pixels as they are (mean 0, std 1).
    means, stds = _vector_of_floats(builder, [mean]), _vector_of_floats(builder, [std])
    normalization = _table(builder, [(0, "offset", means), (1, "offset", stds)])
    process_unit = _table(builder, [(0, "uint8", PROCESS_UNIT_NORMALIZATION), (1, "offset", normalization)])
    process_units = _vector_of_offsets(builder, [process_unit])
    stats_max, stats_min = _vector_of_floats(builder, [255.0]), _vector_of_floats(builder, [0.0])
    stats = _table(builder, [(0, "offset", stats_max), (1, "offset", stats_min)])
    # TensorMetadata: name 0, description 1, content 3, process_units 4, stats 5.
    return _table(builder, [(0, "offset", name), (1, "offset", description), (3, "offset", content),
                            (4, "offset", process_units), (5, "offset", stats)])


def _output_tensor(builder, model: ModelDescription) -> int:
    name, description = _strings(builder, "probability", f"Probability of each of the {model.num_classes} classes.")
    feature = _table(builder, [])
    content = _table(builder, [(0, "uint8", CONTENT_FEATURE_PROPERTIES), (1, "offset", feature)])
    stats_max, stats_min = _vector_of_floats(builder, [1.0]), _vector_of_floats(builder, [0.0])
    stats = _table(builder, [(0, "offset", stats_max), (1, "offset", stats_min)])
    fields = [(0, "offset", name), (1, "offset", description), (3, "offset", content), (5, "offset", stats)]
    if model.has_labels:
        labels = _associated_file(builder, LABELS_FILE, "Class names, one per line, in output order.",
                                  ASSOCIATED_FILE_TENSOR_AXIS_LABELS)
        fields.append((6, "offset", _vector_of_offsets(builder, [labels])))
    return _table(builder, fields)


def build_model_metadata(model: ModelDescription) -> bytes:
    """Return the ``ModelMetadata`` flatbuffer (identifier ``M001``) of a classifier."""
    builder = flatbuffers.Builder(1024)
    inputs = _vector_of_offsets(builder, [_input_tensor(builder, model)])
    outputs = _vector_of_offsets(builder, [_output_tensor(builder, model)])
    # SubGraphMetadata: input_tensor_metadata 2, output_tensor_metadata 3.
    subgraph = _table(builder, [(2, "offset", inputs), (3, "offset", outputs)])
    subgraphs = _vector_of_offsets(builder, [subgraph])
    lince_file = _associated_file(builder, METADATA_FILE, "lince preprocessing and export settings (JSON).",
                                  ASSOCIATED_FILE_DESCRIPTIONS)
    files = _vector_of_offsets(builder, [lince_file])
    name, description, version, author, license_, parser = _strings(
        builder, model.name, model.description, model.version, model.author, model.license, MIN_PARSER_VERSION)
    # ModelMetadata: name 0, description 1, version 2, subgraph_metadata 3,
    # author 4, license 5, associated_files 6, min_parser_version 7.
    root = _table(builder, [(0, "offset", name), (1, "offset", description), (2, "offset", version),
                            (3, "offset", subgraphs), (4, "offset", author), (5, "offset", license_),
                            (6, "offset", files), (7, "offset", parser)])
    builder.Finish(root, file_identifier=METADATA_IDENTIFIER)
    return bytes(builder.Output())


def _zip_files(files: dict) -> bytes:
    stream = io.BytesIO()
    # Stored, not deflated, as the TFLite metadata populator writes them.
    with zipfile.ZipFile(stream, "w", compression=zipfile.ZIP_STORED) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
    return stream.getvalue()


def pack_metadata(tflite_model: bytes, description: ModelDescription, lince_document: dict,
                  labels: List[str]) -> bytes:
    """Return ``tflite_model`` with standard metadata and the associated files appended."""
    from ai_edge_litert import schema_py_generated as schema
    from ai_edge_litert.tools import flatbuffer_utils

    model = flatbuffer_utils.read_model_from_bytearray(bytearray(tflite_model))
    model.metadata = [entry for entry in (model.metadata or []) if entry.name != METADATA_BUFFER_NAME.encode()]
    buffer = schema.BufferT()
    buffer.data = np.frombuffer(build_model_metadata(description), dtype=np.uint8)
    model.buffers.append(buffer)
    entry = schema.MetadataT()
    entry.name = METADATA_BUFFER_NAME
    entry.buffer = len(model.buffers) - 1
    model.metadata.append(entry)
    packed = bytes(flatbuffer_utils.convert_object_to_bytearray(model))

    files = {METADATA_FILE: json.dumps(lince_document, indent=2, ensure_ascii=False).encode("utf-8")}
    if labels:
        files[LABELS_FILE] = ("\n".join(labels) + "\n").encode("utf-8")
    return packed + _zip_files(files)
