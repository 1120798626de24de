"""Find the layers that lose most to int8 quantization, with TensorFlow's quantization debugger.

The debugger runs the int8 model with each quantized layer's output
compared to the float output of the same layer on the same inputs. The
error is reported as ``rmse / scale``: the root-mean-square error measured
in quantization steps. A layer near 0.29 (the error of uniform rounding,
1/sqrt(12)) quantizes as well as 8 bits allow; a layer far above it loses
information and is a candidate for ``--keep-float``.
"""

import csv
import io
import logging
import math
from dataclasses import dataclass
from typing import List

from lince.export.converter import ConversionSettings, ExportError, make_converter
from lince.export.graph import representative_dataset
from lince.runtime.errors import _

logger = logging.getLogger(__name__)

# The debugger runs the float and int8 layers side by side for every image,
# so a few images give stable errors at a fraction of the cost.
DEBUG_IMAGES = 16
TOP_LAYERS = 10
# RMS error of rounding to a uniform grid, in steps: 1 / sqrt(12).
ROUNDING_ERROR = 1 / math.sqrt(12)


@dataclass(frozen=True)
class LayerError:
    """Quantization error of one layer's output.

    Attributes:
        tensor: output tensor name (what ``--keep-float`` takes).
        op: operation type, e.g. ``CONV_2D``.
        rmse_per_step: RMS error divided by the quantization scale.
        max_abs_error: largest absolute error over the debug images.
        scale: quantization step of the output.
    """

    tensor: str
    op: str
    rmse_per_step: float
    max_abs_error: float
    scale: float

    def to_dict(self) -> dict:
        return {"tensor": self.tensor, "op": self.op, "rmse_per_step": self.rmse_per_step,
                "max_abs_error": self.max_abs_error, "scale": self.scale}


def explain_quantization(function, calibration, to_input=None, top: int = TOP_LAYERS) -> List[LayerError]:
    """Return the ``top`` int8 layers of ``function`` with the largest error on ``calibration`` images.

    ``to_input`` maps float pixel batches to the function's input (see
    :func:`lince.export.graph.input_transform`); by default pixels go in as they are.
    """
    import tensorflow as tf

    to_input = to_input or (lambda pixels: pixels)
    settings = ConversionSettings(quantization="int8", io_type="float32")
    converter = make_converter(function, settings, representative_dataset(calibration.batches, to_input))
    count = min(DEBUG_IMAGES, len(calibration.images))

    def debug_dataset():
        for image in calibration.images[:count]:
            yield [to_input(image[None].astype("float32"))]

    try:
        debugger = tf.lite.experimental.QuantizationDebugger(converter=converter, debug_dataset=debug_dataset)
        debugger.run()
        dump = io.StringIO()
        debugger.layer_statistics_dump(dump)
    except Exception as error:  # The debugger raises several unrelated types.
        raise ExportError(_("the quantization debugger failed: {reason}").format(
            reason=str(error).splitlines()[0] if str(error) else type(error).__name__)) from None
    layers = parse_layer_statistics(dump.getvalue())
    logger.info("Quantization error measured for %d layers on %d images", len(layers), count)
    return layers[:top]


def parse_layer_statistics(text: str) -> List[LayerError]:
    """Parse the debugger's CSV dump; return the layers sorted by ``rmse / scale``, largest first."""
    layers = []
    for row in csv.DictReader(io.StringIO(text)):
        try:
            scale = float(row["scale"])
            mse = float(row["mean_squared_error"])
        except (KeyError, ValueError):
            continue
        if not scale or math.isnan(mse):
            continue
        layers.append(LayerError(tensor=row["tensor_name"], op=row["op_name"],
                                 rmse_per_step=math.sqrt(mse) / scale,
                                 max_abs_error=float(row.get("max_abs_error") or "nan"), scale=scale))
    return sorted(layers, key=lambda layer: layer.rmse_per_step, reverse=True)
