"""Count the parameters and multiply-accumulates (MACs) of a Keras model.

MACs count the convolutions and dense layers, which dominate the cost of a
ConvNet; batch normalisation, activations, pooling and additions are left
out, as in the MobileNet and EfficientNet papers.
"""


def _spatial(shape) -> int:
    return int(shape[1]) * int(shape[2])


def layer_macs(layer) -> int:
    """Return the multiply-accumulates of one layer for one image (0 for layers not counted)."""
    kind = type(layer).__name__
    if kind == "DepthwiseConv2D":
        kernel = layer.kernel.shape  # (kh, kw, in_channels, multiplier)
        return _spatial(layer.output.shape) * int(kernel[0]) * int(kernel[1]) * int(kernel[2]) * int(kernel[3])
    if kind == "SeparableConv2D":
        depthwise = layer.depthwise_kernel.shape
        pointwise = layer.pointwise_kernel.shape
        out = _spatial(layer.output.shape)
        return out * int(depthwise[0]) * int(depthwise[1]) * int(depthwise[2]) * int(depthwise[3]) + \
            out * int(pointwise[2]) * int(pointwise[3])
    if kind == "Conv2D":
        kernel = layer.kernel.shape  # (kh, kw, in_channels / groups, filters)
        return _spatial(layer.output.shape) * int(kernel[0]) * int(kernel[1]) * int(kernel[2]) * int(kernel[3])
    if kind == "Dense":
        kernel = layer.kernel.shape
        return int(kernel[0]) * int(kernel[1])
    return 0


def count_macs(model) -> int:
    """Return the MACs of ``model`` for one image, descending into nested models."""
    total = 0
    for layer in model.layers:
        if hasattr(layer, "layers") and layer.layers:
            total += count_macs(layer)
        else:
            total += layer_macs(layer)
    return total
