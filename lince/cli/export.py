"""``lince export``: Keras model → ``.tflite`` with preprocessing and labels inside."""

from pathlib import Path

import click

from lince.i18n import _


def _floats(ctx, param, value):
    if value is None:
        return None
    try:
        return [float(part) for part in value.split(",")]
    except ValueError:
        raise click.BadParameter(_("give a number or three comma-separated numbers (R,G,B)")) from None


@click.command(help=_("Export a Keras MODEL (.keras, .h5 or SavedModel folder) to TFLite. The exported model "
                      "takes raw RGB pixels: the normalisation, labels and resize settings travel inside it."))
@click.argument("model", type=click.Path(exists=True, path_type=Path))
@click.option("-o", "--output", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help=_("The .tflite file to write."))
@click.option("--quantize", "quantize", type=click.Choice(["none", "float16", "dynamic", "int8", "int16x8"]),
              help=_("Quantization mode: none (float32), float16 weights, dynamic (int8 weights, float "
                     "activations), int8 (full integer, calibrated) or int16x8 (16-bit activations, int8 "
                     "weights, calibrated). Default: none."))
@click.option("--int8", "int8", is_flag=True, help=_("Shortcut for --quantize int8."))
@click.option("--input-type", type=click.Choice(["uint8", "int8", "float32"]), default="uint8",
              show_default=True,
              help=_("Type of the input and output tensors of an int8 model (int16x8 models take float32)."))
@click.option("--calibration", type=click.Path(exists=True, path_type=Path),
              help=_("Folder of representative images (searched recursively) or a video file, for int8 and "
                     "int16x8 calibration."))
@click.option("--calibration-count", type=click.IntRange(1, 1000), default=200, show_default=True,
              help=_("Maximum number of calibration images, sampled evenly across subfolders."))
@click.option("--eval", "eval_dir", type=click.Path(exists=True, path_type=Path),
              help=_("Folder or CSV (file,index or file,label) of held-out images to compare the exported model "
                     "with the source model on (default: calibration-folder images not used for calibration)."))
@click.option("--eval-count", type=click.IntRange(1, 5000), default=200, show_default=True,
              help=_("Maximum number of evaluation images."))
@click.option("--max-drop", type=click.FloatRange(0, 100),
              help=_("Fail, keeping the model as NAME.rejected.tflite, when top-1 accuracy or agreement with "
                     "the float model drops more than this many percentage points."))
@click.option("--explain", is_flag=True,
              help=_("List the int8 layers with the largest quantization error (TensorFlow's quantization "
                     "debugger), in the report and on the terminal."))
@click.option("--keep-float", multiple=True,
              help=_("Leave this int8 operation in float32 (a tensor name from the report); repeat for more."))
@click.option("--labels", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help=_("Label file, one class name per line, in output order."))
@click.option("--mean", callback=_floats, help=_("Mean subtracted from pixels, one value or R,G,B."))
@click.option("--std", callback=_floats, help=_("Standard deviation pixels are divided by, one value or R,G,B."))
@click.option("--preprocess", "preset", help=_("Named normalisation instead of --mean/--std: raw, tf, lite, "
                                                "unit, caffe or torch."))
@click.option("--crop", type=click.Choice(["none", "center"]),
              help=_("How frames are cropped before resizing: none (whole frame) or center."))
@click.option("--crop-fraction", type=click.FloatRange(0.01, 1.0),
              help=_("Side of the centre crop relative to the frame's shorter side (e.g. 0.875)."))
@click.option("--size", type=click.IntRange(8, 4096),
              help=_("Input size in pixels, for models that accept any size."))
@click.option("--overwrite", is_flag=True, help=_("Replace OUTPUT if it exists."))
@click.option("--unsafe-load", is_flag=True,
              help=_("Run Python code stored in Lambda layers while loading. Dangerous: a model file from "
                     "someone else can then run any code on this machine."))
def export(model, output, quantize, int8, input_type, calibration, calibration_count, eval_dir, eval_count,
           max_drop, explain, keep_float, labels, mean, std, preset, crop, crop_fraction, size, overwrite, unsafe_load):
    if int8 and quantize not in (None, "int8"):
        raise click.UsageError(_("--int8 and --quantize {mode} contradict each other").format(mode=quantize))
    mode = "int8" if int8 else (quantize or "none")
    normalization = _normalization(mean, std, preset)
    try:
        from lince.export import ExportConfig, export_model
    except ImportError as error:
        raise click.ClickException(_("export needs TensorFlow: pip install 'lince[export]' ({reason})").format(
            reason=error)) from None

    config = ExportConfig(
        model_path=model, output_path=output, quantization=mode, io_type=input_type,
        calibration_dir=calibration, calibration_count=calibration_count, eval_dir=eval_dir, eval_count=eval_count,
        labels_path=labels,
        max_drop=max_drop, keep_float=tuple(keep_float), explain=explain,
        normalization=normalization, crop=crop, crop_fraction=crop_fraction,
        image_size=(size, size) if size else None, overwrite=overwrite, unsafe_load=unsafe_load)
    result = export_model(config)
    _print_summary(result)


def _normalization(mean, std, preset):
    from lince.models.preprocessing import custom_normalization, get_preset

    if preset and (mean or std):
        raise click.UsageError(_("give either --preprocess or --mean/--std, not both"))
    if preset:
        return get_preset(preset)
    if mean is not None or std is not None:
        if mean is None or std is None:
            raise click.UsageError(_("--mean and --std go together"))
        return custom_normalization(mean, std)
    return None


def _print_summary(result):
    click.echo(_("Wrote {path} ({mode}, {size:.2f} MB, {labels} labels) in {seconds:.1f} s").format(
        path=result.path, mode=result.quantization, size=result.size_bytes / 1e6, labels=len(result.labels),
        seconds=result.timings.get("total_s", 0.0)))
    if result.calibration is not None:
        click.echo(_("Calibrated on {count} images ({skipped} skipped)").format(
            count=len(result.calibration.images), skipped=len(result.calibration.skipped)))
    comparison = result.comparison
    if comparison is not None:
        click.echo(_("Check against the source model on {count} images: top-1 agreement {agreement:.1%}, "
                     "top-5 overlap {overlap:.1%}, mean KL divergence {kl:.4f}, mean |Δp| {difference:.4f}").format(
            count=comparison.images, agreement=comparison.top1_agreement, overlap=comparison.top5_overlap,
            kl=comparison.mean_kl_divergence, difference=comparison.mean_abs_difference))
        if comparison.source_accuracy is not None:
            click.echo(_("Top-1 accuracy: float {source:.2%}, {mode} {export:.2%} ({drop:+.2f} points)").format(
                source=comparison.source_accuracy, mode=result.quantization, export=comparison.export_accuracy,
                drop=-comparison.accuracy_drop))
    report = result.report or {}
    if report.get("explain"):
        click.echo(_("Layers with the largest int8 error (RMS error in quantization steps; rounding alone gives "
                     "0.29):"))
        for layer in report["explain"]:
            click.echo(f"  {layer['rmse_per_step']:8.2f}  {layer['op']:<20s} {layer['tensor']}")
    tradeoff = report.get("keep_float")
    if tradeoff:
        for name in ("int8", "keep_float"):
            row = tradeoff[name]
            click.echo(_("{name}: agreement {agreement:.1%}, accuracy {accuracy}, {size:.2f} MB, {ms:.2f} ms").format(
                name=name, agreement=row["top1_agreement"],
                accuracy="n/a" if row["accuracy"] is None else f"{row['accuracy']:.1%}",
                size=row["size_bytes"] / 1e6, ms=row["median_ms"]))
    for path in result.report_paths:
        click.echo(_("Report: {path}").format(path=path))
    if report.get("warning"):
        # Printed last, on stderr, so that it ends the output where it stands out.
        click.secho(_("WARNING: {message}").format(message=report["warning"]), fg="yellow", bold=True, err=True)
