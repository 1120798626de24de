"""The backbone zoo: every architecture lince can train, by name.

This module needs no TensorFlow: the table (``lince models``) and name
lookup work on a machine without it. :mod:`lince.models.backbones` builds
the Keras models.

Parameter counts and MACs are those of the full ImageNet classifier (1000
classes, with its top) at the default input size, as Keras builds it. A
test rebuilds every model and checks them.
"""

import dataclasses
import difflib
import re
from dataclasses import dataclass, field
from typing import Dict, List, Tuple

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
    note: str
    options: Dict = field(default_factory=dict)
    params: int = 0
    macs: int = 0
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
        Backbone("vgg16", "VGG", "VGG16", 224, "caffe", _big(138)),
        Backbone("vgg19", "VGG", "VGG19", 224, "caffe", _big(144)),
        Backbone("resnet50", "ResNet", "ResNet50", 224, "caffe", "int8-friendly; slow on a Pi (3.9 GMACs)"),
        Backbone("resnet101", "ResNet", "ResNet101", 224, "caffe", _big(45)),
        Backbone("resnet152", "ResNet", "ResNet152", 224, "caffe", _big(60)),
        Backbone("resnet50v2", "ResNet", "ResNet50V2", 224, "tf", "int8-friendly; slow on a Pi (3.5 GMACs)"),
        Backbone("resnet101v2", "ResNet", "ResNet101V2", 224, "tf", _big(45)),
        Backbone("resnet152v2", "ResNet", "ResNet152V2", 224, "tf", _big(60)),
    ]
    for alpha in (1.0, 0.75, 0.5, 0.25):
        entries.append(Backbone(f"mobilenet-{alpha}", "MobileNet", "MobileNet", 224, "tf", NOTE_INT8,
                                options={"alpha": alpha}))
    for alpha in (1.4, 1.3, 1.0, 0.75, 0.5, 0.35):
        entries.append(Backbone(f"mobilenetv2-{alpha}", "MobileNetV2", "MobileNetV2", 224, "tf", NOTE_INT8,
                                options={"alpha": alpha}))
    for kind, constructor in (("small", "MobileNetV3Small"), ("large", "MobileNetV3Large")):
        for suffix, options in (("", {}), ("-0.75", {"alpha": 0.75}), ("-minimalistic", {"minimalistic": True})):
            note = NOTE_INT8 + " (no SE, ReLU only)" if suffix == "-minimalistic" else NOTE_HARDSWISH
            entries.append(Backbone(f"mobilenetv3-{kind}{suffix}", "MobileNetV3", constructor, 224, "raw", note,
                                    options=options))
    for index, size in enumerate((224, 240, 260, 300, 380, 456, 528, 600)):
        entries.append(Backbone(f"efficientnet-b{index}", "EfficientNet", f"EfficientNetB{index}", size, "raw",
                                NOTE_SWISH))
    for variant, size in (("b0", 224), ("b1", 240), ("b2", 260), ("b3", 300), ("s", 384)):
        entries.append(Backbone(f"efficientnetv2-{variant}", "EfficientNetV2", f"EfficientNetV2{variant.upper()}",
                                size, "raw", NOTE_SWISH))
    for index, size in enumerate((224, 240, 260, 280, 300)):
        entries.append(Backbone(f"efficientnet-lite{index}", "EfficientNet-Lite", "EfficientNetLite", size, "lite",
                                NOTE_INT8 + " (no SE, ReLU6)", options={"name": f"lite{index}"}))
    entries.append(Backbone("tiny-cnn", "lince", "TinyCNN", 64, "unit",
                            "small CNN trained from scratch (no ImageNet weights); for tests and demos"))
    return entries


# Parameters and MACs of each ImageNet classifier (1000 classes, top included) at its
# default input size, as Keras 3.15 builds it. tests/test_models_zoo.py rebuilds and checks them.
COUNTS = {
    "vgg16": (138357544, 15470264320),
    "vgg19": (143667240, 19632062464),
    "resnet50": (25636712, 3857973248),
    "resnet101": (44707176, 7570194432),
    "resnet152": (60419944, 11282415616),
    "resnet50v2": (25613800, 3482255360),
    "resnet101v2": (44675560, 7194476544),
    "resnet152v2": (60380648, 10906697728),
    "mobilenet-1.0": (4253864, 568740352),
    "mobilenet-0.75": (2601976, 325400448),
    "mobilenet-0.5": (1342536, 149497088),
    "mobilenet-0.25": (475544, 41030272),
    "mobilenetv2-1.4": (6156712, 582195824),
    "mobilenetv2-1.3": (5431048, 509374560),
    "mobilenetv2-1.0": (3538984, 300774272),
    "mobilenetv2-0.75": (2663064, 209069792),
    "mobilenetv2-0.5": (1987224, 97131840),
    "mobilenetv2-0.35": (1691208, 59285808),
    "mobilenetv3-small": (2554968, 56510400),
    "mobilenetv3-small-0.75": (2051552, 43399344),
    "mobilenetv3-small-minimalistic": (2056848, 52288448),
    "mobilenetv3-large": (5507432, 216589760),
    "mobilenetv3-large-0.75": (4012616, 154560624),
    "mobilenetv3-large-minimalistic": (3948688, 209136704),
    "efficientnet-b0": (5330571, 385814752),
    "efficientnet-b1": (7856239, 686802832),
    "efficientnet-b2": (9177569, 993561872),
    "efficientnet-b3": (12320535, 1827141392),
    "efficientnet-b4": (19466823, 4393771024),
    "efficientnet-b5": (30562527, 10266384752),
    "efficientnet-b6": (43265143, 19067593536),
    "efficientnet-b7": (66658687, 37745884192),
    "efficientnetv2-b0": (7200312, 718086176),
    "efficientnetv2-b1": (8212124, 1196819360),
    "efficientnetv2-b2": (10178374, 1697542832),
    "efficientnetv2-b3": (14467622, 3011458816),
    "efficientnetv2-s": (21612360, 8365617152),
    "efficientnet-lite0": (4694024, 385187552),
    "efficientnet-lite1": (5470344, 600185232),
    "efficientnet-lite2": (6150168, 859736272),
    "efficientnet-lite3": (8273768, 1383321872),
    "efficientnet-lite4": (13118936, 2553034336),
    "tiny-cnn": (423960, 13546496),
}


def _with_counts(entry: Backbone) -> Backbone:
    params, macs = COUNTS[entry.name]
    return dataclasses.replace(entry, params=params, macs=macs)


BACKBONES: Dict[str, Backbone] = {entry.name: _with_counts(entry) for entry in _entries()}
FAMILIES: Tuple[str, ...] = tuple(dict.fromkeys(entry.family for entry in BACKBONES.values()))


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
