"""``lince evaluate``: accuracy of a ``.keras`` or ``.tflite`` model on labelled photos."""

import json
from pathlib import Path

import click

from lince.i18n import _

# Above these class counts the per-class table and the confusion matrix are
# written to files only, because they no longer fit a terminal.
MAX_PRINTED_CLASSES = 30
MAX_PRINTED_CONFUSION = 15


def _keras_predictor(model, labels, preprocess, mean, std):
    from lince.models.evaluation import KerasPredictor
    from lince.models.preprocessing import custom_normalization, get_preset
    from lince.models.sidecar import load_training_sidecar
    from lince.runtime.metadata import read_labels_file

    sidecar = load_training_sidecar(model)
    if mean or std:
        normalization = custom_normalization(mean or (0.0,), std or (1.0,))
    elif preprocess:
        normalization = get_preset(preprocess)
    elif sidecar:
        normalization = get_preset(sidecar["preprocess"])
    else:
        raise click.UsageError(_("{path} has no lince.json next to it: give its normalisation with "
                                 "--preprocess NAME or --mean/--std").format(path=model))
    if labels:
        classes = read_labels_file(labels)
    elif sidecar:
        classes = sidecar["label_names"]
    else:
        raise click.UsageError(_("{path} has no lince.json next to it: give its label file with --labels")
                               .format(path=model))
    return KerasPredictor(model, classes, normalization)


def _write_report(out_dir: Path, result, model, data) -> None:
    from lince.models.report import draw_confusion, draw_gallery, format_confusion, format_per_class
    from lince.runtime.atomic import write_text_atomic

    names, matrix = result.confusion()
    summary = {"model": str(model), "data": str(data), "images": len(result.true),
               "top1": result.top_k(1), "top5": result.top_k(5), "skipped": [str(p) for p, _r in result.skipped],
               "mistakes": [{"file": str(path), "true": result.classes[t], "predicted": result.classes[p]}
                            for path, t, p in zip(result.paths, result.true, result.predicted) if t != p]}
    out_dir.mkdir(parents=True, exist_ok=True)
    write_text_atomic(out_dir / "results.json", json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    write_text_atomic(out_dir / "per_class.txt", format_per_class(names, matrix) + "\n")
    write_text_atomic(out_dir / "confusion.txt", format_confusion(names, matrix) + "\n")
    if len(names) <= 100:
        draw_confusion(names, matrix, out_dir / "confusion.png")
    shown = draw_gallery(result.mistakes, out_dir / "misclassified.png")
    if shown:
        click.echo(_("Wrote the report to {path} ({count} misclassified image(s) in misclassified.png)").format(
            path=out_dir, count=shown), err=True)
    else:
        click.echo(_("Wrote the report to {path} (no misclassified images)").format(path=out_dir), err=True)


@click.command(help=_("Measure the accuracy of MODEL (.keras or .tflite) on DATA: a folder of class folders or "
                      "a CSV of file,label rows (labels matched to the model's classes by name)."))
@click.argument("model", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.argument("data", type=click.Path(exists=True, path_type=Path))
@click.option("--labels", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help=_("Label file, one class name per line (default: from the model or its lince.json)."))
@click.option("--preprocess", help=_("Normalisation preset of a .keras model without lince.json "
                                     "(raw, tf, lite, unit, caffe, torch)."))
@click.option("--mean", type=float, multiple=True, help=_("Per-channel mean of a .keras model (once, or three "
                                                          "times for R, G, B)."))
@click.option("--std", type=float, multiple=True, help=_("Per-channel standard deviation of a .keras model."))
@click.option("--threads", type=click.IntRange(1, 64), help=_("Interpreter threads (default: the CPU count)."))
@click.option("-o", "--output", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              help=_("Folder for the report: results.json, per-class accuracy, confusion matrix and a gallery "
                     "of misclassified images (default: MODEL-evaluation in the current folder)."))
@click.option("--overwrite", is_flag=True, help=_("Replace the report folder if it exists."))
@click.option("--json", "as_json", is_flag=True, help=_("Print the accuracies as one JSON object."))
def evaluate(model, data, labels, preprocess, mean, std, threads, out_dir, overwrite, as_json):
    from lince.models.evaluation import TFLitePredictor, evaluate as run_evaluation, labelled_files
    from lince.models.report import format_confusion, format_per_class

    out_dir = out_dir or Path(f"{model.stem}-evaluation")
    if out_dir.exists() and any(out_dir.iterdir()) and not overwrite:
        raise click.UsageError(_("{path} already exists; pass --overwrite to replace it or -o to choose another "
                                 "folder").format(path=out_dir))
    if model.suffix.lower() == ".tflite":
        predictor = TFLitePredictor(model, labels=labels, num_threads=threads)
    elif model.suffix.lower() in (".keras", ".h5"):
        predictor = _keras_predictor(model, labels, preprocess, mean, std)
    else:
        raise click.UsageError(_("{path}: give a .tflite or .keras model").format(path=model))
    result = run_evaluation(predictor, labelled_files(data, predictor.classes), progress=not as_json)

    top1, top5 = result.top_k(1), result.top_k(5)
    images = len(result.true)
    if as_json:
        click.echo(json.dumps({"images": images, "top1": top1, "top5": top5, "skipped": len(result.skipped)}))
    else:
        click.echo(_("top-1 accuracy: {value:.2f}% ({right}/{total})").format(
            value=100 * top1, right=int(round(top1 * images)), total=images))
        click.echo(_("top-5 accuracy: {value:.2f}%").format(value=100 * top5))
        if result.skipped:
            click.echo(_("{count} unreadable image(s) skipped").format(count=len(result.skipped)))
        names, matrix = result.confusion()
        if len(names) <= MAX_PRINTED_CLASSES:
            click.echo(_("Per-class accuracy:"))
            click.echo(format_per_class(names, matrix))
        if len(names) <= MAX_PRINTED_CONFUSION:
            click.echo(_("Confusion matrix (rows: true class, columns: predicted):"))
            click.echo(format_confusion(names, matrix))
    _write_report(out_dir, result, model, data)
