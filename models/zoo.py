"""The backbone zoo: every architecture lince can train, by name.

This module needs no TensorFlow: the table (``lince models``) and name
lookup work on a machine without it. :mod:`lince.models.backbones` builds
the Keras models.

Parameter counts and MACs are those of the full ImageNet classifier (1000
classes, with its top) at the default input size, as Keras builds it; a
test rebuilds every model and checks them.
"""

import difflib
import re
from dataclasses import dataclass, field
from typing import Dict, List, Tuple

from lince.models.preprocessing import PRESETS
from lince.runtime.errors import LinceError, _


@dataclass(frozen=True)
class Backbone:
    """One entry of the zoo.

    Attributes:
        name: the name users type (``--backbone``).
        family: architecture family as the course names it.
        constructor: ``keras.applications`` function name, or a lince builder
            (``"EfficientNetLite"``, ``"TinyCNN"``).
        options: extra keyword arguments of the constructor (width multiplier...).
        size: default input side in pixels (square).
        preprocess: normalisation preset name (see :mod:`lince.models.preprocessing`).
        params: parameters of the ImageNet classifier at ``size``.
        macs: multiply-accumulates per image at ``size``.
        note: what to expect on an edge device.
        min_size: smallest input side the architecture accepts.
    """

    name: str
    family: str
    constructor: str
    size: int
    preprocess: str
    params: int
    macs: int
    note: str
    options: Dict = field(default_factory=dict)
    min_size: int = 32

    def to_dict(self) -> dict:
        return {"name": self.name, "family": self.family, "size": self.size, "params": self.params,
                "macs": self.macs, "preprocess": self.preprocess, "note": self.note}


NOTE_INT8 = "int8-friendly"
NOTE_SWISH = "swish + SE: check int8 accuracy"
NOTE_HARDSWISH = "hard-swish + SE: check int8 accuracy"


def _big(params_m: int) -> str:
    return f"{params_m} M parameters: too big for a Pi"


def _entries() -> List[Backbone]:
    entries = [
        Backbone("vgg16", "VGG", "VGG16", 224, "caffe", 138357544, 15470264320, _big(138)),
        Backbone("vgg19", "VGG", "VGG19", 224, "caffe", 143667240, 19632062464, _big(144)),
        Backbone("resnet50", "ResNet", "ResNet50", 224, "caffe", 25636712, 3878043648,
                 "int8-friendly; slow on a Pi (4 GMACs)"),
        Backbone("resnet101", "ResNet", "ResNet101", 224, "caffe", 44707176, 7597608960, _big(45)),
        Backbone("resnet152", "ResNet", "ResNet152", 224, "caffe", 60419944, 11321524224, _big(60)),
        Backbone("resnet50v2", "ResNet", "ResNet50V2", 224, "tf", 25613800, 3489898496,
                 "int8-friendly; slow on a Pi (3.5 GMACs)"),
        Backbone("resnet101v2", "ResNet", "ResNet101V2", 224, "tf", 44675560, 7208711168, _big(45)),
        Backbone("resnet152v2", "ResNet", "ResNet152V2", 224, "tf", 60380648, 10932931584, _big(60)),
    ]
    for alpha, params, macs in ((1.0, 4253864, 568740352), (0.75, 2601976, 325350400),
                                (0.5, 1342536, 149475328), (0.25, 475544, 41011200)):
        entries.append(Backbone(f"mobilenet-{alpha}", "MobileNet", "MobileNet", 224, "tf", params, macs,
                                NOTE_INT8, options={"alpha": alpha}))
    for alpha, params, macs in ((1.4, 6156712, 582290496), (1.3, 5382952, 508793120), (1.0, 3538984, 300774272),
                                (0.75, 2663064, 209325056), (0.5, 1987224, 97590016), (0.35, 1692240, 59179072)):
        entries.append(Backbone(f"mobilenetv2-{alpha}", "MobileNetV2", "MobileNetV2", 224, "tf", params, macs,
                                NOTE_INT8, options={"alpha": alpha}))
    for kind, constructor in (("small", "MobileNetV3Small"), ("large", "MobileNetV3Large")):
        for suffix, options in (("", {}), ("-0.75", {"alpha": 0.75}), ("-minimalistic", {"minimalistic": True})):
            note = NOTE_INT8 + " (no SE, ReLU only)" if suffix == "-minimalistic" else NOTE_HARDSWISH
            entries.append(Backbone(f"mobilenetv3-{kind}{suffix}", "MobileNetV3", constructor, 224, "raw",
                                    0, 0, note, options=options))
    for index, size in enumerate((224, 240, 260, 300, 380, 456, 528, 600)):
        entries.append(Backbone(f"efficientnet-b{index}", "EfficientNet", f"EfficientNetB{index}", size, "raw",
                                0, 0, NOTE_SWISH))
    for variant, size in (("b0", 224), ("b1", 240), ("b2", 260), ("b3", 300), ("s", 384)):
        entries.append(Backbone(f"efficientnetv2-{variant}", "EfficientNetV2", f"EfficientNetV2{variant.upper()}",
                                size, "raw", 0, 0, NOTE_SWISH))
    for index, size in enumerate((224, 240, 260, 280, 300)):
        entries.append(Backbone(f"efficientnet-lite{index}", "EfficientNet-Lite", "EfficientNetLite", size, "lite",
                                0, 0, NOTE_INT8 + " (no SE, ReLU6)", options={"name": f"lite{index}"}))
    entries.append(Backbone("tiny-cnn", "lince", "TinyCNN", 96, "unit", 0, 0,
                            "small CNN trained from scratch (no ImageNet weights); for tests and demos"))
    return entries


BACKBONES: Dict[str, Backbone] = {entry.name: entry for entry in _entries()}
FAMILIES: Tuple[str, ...] = tuple(dict.fromkeys(entry.family for entry in BACKBONES.values()))

assert all(entry.preprocess in PRESETS for entry in BACKBONES.values())  # Internal table invariant.


def _normalise(name: str) -> str:
    return re.sub(r"[\s_\-]", "", name.lower())


# Lookup keys without case, dashes or underscores, so "MobileNetV2_0.35",
# "EfficientNetLite0" and "efficientnet_b0" all work; a family name alone
# means its reference width.
_KEYS = {_normalise(name): name for name in BACKBONES}
_KEYS.update({"mobilenet": "mobilenet-1.0", "mobilenetv1": "mobilenet-1.0", "mobilenetv2": "mobilenetv2-1.0",
              "mobilenetv3": "mobilenetv3-large", "tinycnn": "tiny-cnn"})
for _name in list(BACKBONES):
    if _name.startswith("mobilenet-"):
        _KEYS[_normalise("mobilenetv1-" + _name.split("-", 1)[1])] = _name


def get_backbone(name: str) -> Backbone:
    """Return the zoo entry called ``name`` (any case, ``-`` or ``_``); raise with suggestions."""
    key = _normalise(name)
    if key in _KEYS:
        return BACKBONES[_KEYS[key]]
    close = difflib.get_close_matches(key, list(_KEYS), n=3, cutoff=0.6)
    suggestions = list(dict.fromkeys(_KEYS[match] for match in close))
    if suggestions:
        raise LinceError(_("unknown backbone {name!r}: did you mean {suggestions}? "
                           "`lince models` lists them all").format(name=name, suggestions=", ".join(suggestions)))
    raise LinceError(_("unknown backbone {name!r}: `lince models` lists the available ones").format(name=name))
