"""Export cost: seconds to export zoo models to int8 with 200 calibration images.

Each network is built from the zoo with random weights (ImageNet weights
need a download), saved as ``.keras`` and exported with
``lince.export.export_model`` to int8, calibrated on 200 photos of the
ImageNet sample. The time covers loading the Keras file, calibration,
conversion, metadata and the check against the float model; building the
network is not included.

By default one network per family at its reference width is exported; pass
``--all`` for every zoo entry (hours on a 2-core machine: VGG and the large
EfficientNets take minutes each).

Run: ``python bench/export_time.py [--all | --models a,b]``.
"""

import argparse
import logging
import time

import common

DEFAULT_MODELS = ("tiny-cnn", "mobilenet-1.0", "mobilenetv2-1.0", "mobilenetv3-small", "mobilenetv3-large",
                  "efficientnet-lite0", "efficientnet-b0", "efficientnetv2-b0", "resnet50")
CALIBRATION_IMAGES = 200
logger = logging.getLogger("bench.export_time")


def export_seconds(name: str) -> dict:
    from lince.export import ExportConfig, export_model
    from lince.runtime.errors import LinceError

    keras_path = common.zoo_keras(name)
    output = common.CACHE_DIR / f"{name}_export_time_int8.tflite"
    options = dict(model_path=keras_path, output_path=output, quantization="int8",
                   calibration_dir=common.IMAGENET_SAMPLE, calibration_count=CALIBRATION_IMAGES, overwrite=True,
                   normalization=common.zoo_normalization(name),
                   max_drop=100.0)
    fields = ExportConfig.__dataclass_fields__
    rejected = output.with_name(output.stem + ".rejected.tflite")
    rejected.unlink(missing_ok=True)
    note = ""
    start = time.perf_counter()
    try:
        export_model(ExportConfig(**{key: value for key, value in options.items() if key in fields}))
    except LinceError as error:
        # Every step ran; only the final accuracy check failed, which random weights can cause.
        if not rejected.exists():
            raise
        logger.warning("%s: %s", name, error)
        note = "rejected by the int8 accuracy check (random weights)"
        output = rejected
    seconds = time.perf_counter() - start
    return {"model": name, "seconds": seconds, "size_mb": output.stat().st_size / 1e6, "note": note}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--all", action="store_true", help="every zoo entry")
    group.add_argument("--models", help="comma-separated zoo names")
    args = parser.parse_args()
    common.setup_logging()
    common.require_fixtures()
    from lince.models import BACKBONES

    names = list(BACKBONES) if args.all else (args.models.split(",") if args.models else list(DEFAULT_MODELS))
    rows = []
    for name in names:
        logger.info("exporting %s", name)
        rows.append(export_seconds(name))
        logger.info("  %.1f s", rows[-1]["seconds"])
    params = {name: BACKBONES[name].params for name in names}
    text = "\n".join([
        f"### Export to int8 with {CALIBRATION_IMAGES} calibration images (random weights)", "",
        common.markdown_table(["zoo model", "parameters (M)", "export seconds", "int8 size MB", "note"],
                              [[r["model"], f"{params[r['model']] / 1e6:.1f}", f"{r['seconds']:.1f}",
                                f"{r['size_mb']:.1f}", r["note"]] for r in rows]),
    ])
    common.write_result("export_time", {"rows": rows, "markdown": text,
                                        "command": "python bench/export_time.py"})
    print(text)


if __name__ == "__main__":
    main()
