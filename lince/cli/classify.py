"""``lince classify``: classify image files with a ``.tflite`` model."""

import json
from pathlib import Path

import click

from lince.i18n import _
from lince.runtime.classifier import Classifier
from lince.runtime.errors import ImageDecodeError


@click.command(help=_("Classify IMAGE files with a TFLite MODEL and print the best classes."))
@click.argument("model", type=click.Path(path_type=Path))
@click.argument("images", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("-k", "--top-k", default=1, show_default=True, type=click.IntRange(1, 100),
              help=_("Number of classes to show per image."))
@click.option("--labels", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help=_("Label file, one class name per line (default: the labels inside the model)."))
@click.option("--threads", type=click.IntRange(1, 64), help=_("Interpreter threads (default: the CPU count)."))
@click.option("--json", "as_json", is_flag=True, help=_("Print one JSON object per image."))
def classify(model, images, top_k, labels, threads, as_json):
    classifier = Classifier(model, labels=labels, num_threads=threads)
    failures = 0
    for image in images:
        try:
            result = classifier.classify_file(image, top_k=top_k)
        except ImageDecodeError as error:
            click.echo(_("Error: {message}").format(message=error), err=True)
            failures += 1
            continue
        if as_json:
            record = {
                "image": str(image),
                "top_k": [{"index": p.index, "label": p.label, "score": round(p.score, 6)} for p in result.top_k],
                "inference_ms": round(result.inference_ms, 3),
            }
            click.echo(json.dumps(record, ensure_ascii=False))
            continue
        best = ", ".join(f"{p.label} ({p.score:.2f})" for p in result.top_k)
        click.echo(f"{image}: {best}")
    if failures:
        raise click.exceptions.Exit(1)
