"""Measure int8 and float16 exports of the fixture EfficientNet-Lite0 against float32 on imagenet-sample.

Two folds: each half of the 500 labelled photos calibrates the int8 model
that is then verified on the other half, so no photo is graded by a model
calibrated on it and all 500 are graded once. Prints top-1 accuracy of
float32 and of each export, their difference in points, and the share of
photos given the same top-1 class. Run: ``python bench/quantization_accuracy.py``
(about 5 minutes on 2 cores; needs the export extra and the shared fixtures).
"""

import argparse
import csv
import os
import sys
import tempfile
from pathlib import Path

FIXTURES = Path(os.environ.get("LINCE_FIXTURES", Path(__file__).resolve().parents[2] / "shared" / "fixtures"))


def _fold_files(sample: Path, work: Path, rows, fold: int):
    """Link one half of the photos into a calibration folder; write the other half as an eval CSV."""
    calibration = work / f"calibration{fold}"
    calibration.mkdir()
    evaluation = work / f"eval{fold}.csv"
    with open(evaluation, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(["file", "index"])
        for position, row in enumerate(rows):
            if position % 2 == fold:
                (calibration / row["file"]).symlink_to(sample / row["file"])
            else:
                writer.writerow([str(sample / row["file"]), row["index"]])
    return calibration, evaluation


def _export(mode, calibration, evaluation, output):
    from lince.export import ExportConfig, export_model
    from lince.models.preprocessing import get_preset

    models = FIXTURES / "models"
    config = ExportConfig(
        model_path=models / "efficientnet_lite0_imagenet.keras", output_path=output, quantization=mode,
        calibration_dir=calibration, calibration_count=250, eval_dir=evaluation, eval_count=250,
        labels_path=models / "imagenet1000_labels.txt", normalization=get_preset("lite"),
        crop="center", crop_fraction=0.875, overwrite=True)
    return export_model(config).comparison


def _combine(comparisons):
    images = sum(c.images for c in comparisons)
    weighted = lambda name: sum(getattr(c, name) * c.images for c in comparisons) / images  # noqa: E731
    return images, weighted("source_accuracy"), weighted("export_accuracy"), weighted("top1_agreement")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--modes", nargs="+", default=["int8", "float16"])
    args = parser.parse_args(argv)
    sample = FIXTURES / "imagenet-sample"
    with open(sample / "labels.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    with tempfile.TemporaryDirectory() as temporary:
        work = Path(temporary)
        folds = [_fold_files(sample, work, rows, fold) for fold in (0, 1)]
        print("mode      images  float32 top-1  export top-1  drop (points)  top-1 agreement")
        for mode in args.modes:
            comparisons = [_export(mode, calibration, evaluation, work / f"{mode}_{index}.tflite")
                           for index, (calibration, evaluation) in enumerate(folds)]
            images, source, export, agreement = _combine(comparisons)
            print(f"{mode:8s}  {images:6d}  {100 * source:12.2f}%  {100 * export:11.2f}%  "
                  f"{100 * (source - export):13.2f}  {100 * agreement:14.2f}%")
    return 0


if __name__ == "__main__":
    sys.exit(main())
