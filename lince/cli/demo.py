"""``lince demo``: the whole path from photos to a camera loop, offline."""

from pathlib import Path

import click

from lince.i18n import _


@click.command(help=_("Generate a labelled image set of signs, train a small classifier on it, export it to "
                      "int8 and run the camera loop on a generated video. Needs no download."))
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("demo-output"),
              show_default=True, help=_("Folder for everything the demo writes (replaced on the next run)."))
@click.option("--per-class", type=click.IntRange(20, 2000), default=100, show_default=True,
              help=_("Generated photos per class."))
@click.option("--epochs", type=click.IntRange(1, 200), default=30, show_default=True,
              help=_("Maximum training epochs (training stops early when validation loss stops improving)."))
@click.option("--seed", type=int, default=0, show_default=True, help=_("Seed of the generated data and training."))
def demo(out_dir, per_class, epochs, seed):
    from lince import demo as steps

    # Fail before writing anything when the training packages are missing.
    import keras  # noqa: F401
    import tensorflow  # noqa: F401

    paths = steps.prepare_folder(out_dir)
    click.echo(_("1/4 Drawing {count} photos per class and a test video in {path}").format(
        count=per_class, path=paths.root))
    steps.make_data(paths, per_class, seed)

    click.echo(_("2/4 Training {backbone} from scratch").format(backbone=steps.BACKBONE))
    trained = steps.train_model(paths, epochs, seed)
    click.echo(_("    validation accuracy {accuracy:.1%} after {epochs} epochs").format(
        accuracy=trained.val_accuracy, epochs=trained.epochs_run))

    click.echo(_("3/4 Exporting to int8, calibrated on the training photos"))
    exported = steps.export_int8(paths)
    click.echo(_("    {path}: {size:.0f} kB, top-1 agreement with the Keras model {agreement:.1%}").format(
        path=exported.path, size=exported.size_bytes / 1e3, agreement=exported.comparison.top1_agreement))

    click.echo(_("4/4 Running the camera loop on {video}").format(video=paths.video))
    from lince.cli.run import run

    run.main(args=[str(paths.int8_model), "--source", str(paths.video), "--no-window", "--stats-interval", "2"],
             prog_name="lince run", standalone_mode=False)
    accuracy = steps.video_accuracy(paths)
    click.echo(_("Video frames classified right: {accuracy:.1%}. Try it yourself: lince run {model} --source 0")
               .format(accuracy=accuracy, model=paths.int8_model))
