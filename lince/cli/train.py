"""``lince train``: transfer learning from a folder of photos (one subfolder per class)."""

from pathlib import Path

import click

from lince.i18n import _


@click.command(help=_("Train a classifier on DATA_DIR (one subfolder of photos per class) with a pretrained "
                      "backbone and a new head, and write the model, its labels and a report to the --output folder."))
@click.argument("data_dir", type=click.Path(path_type=Path))
@click.option("-o", "--output", "out_dir", required=True, type=click.Path(path_type=Path),
              help=_("Output folder for model.keras, labels.txt, lince.json and the report."))
@click.option("-b", "--backbone", default="mobilenetv2-0.35", show_default=True,
              help=_("Backbone name (see `lince models`)."))
@click.option("--size", type=click.IntRange(32, 1024), help=_("Input side in pixels (default: the backbone's)."))
@click.option("--epochs", default=20, show_default=True, type=click.IntRange(1, 10000),
              help=_("Maximum epochs of the first stage (frozen backbone)."))
@click.option("--fine-tune", default=0, show_default=True, type=click.IntRange(0, 10000),
              help=_("Unfreeze the top N backbone layers for a second stage with a lower learning rate "
                     "(0: no second stage)."))
@click.option("--fine-tune-epochs", type=click.IntRange(1, 10000),
              help=_("Maximum epochs of the second stage (default: --epochs)."))
@click.option("--batch-size", default=32, show_default=True, type=click.IntRange(1, 4096),
              help=_("Images per training step."))
@click.option("--learning-rate", default=1e-3, show_default=True, type=click.FloatRange(0, min_open=True),
              help=_("Learning rate of the first stage."))
@click.option("--fine-tune-rate", default=1e-5, show_default=True, type=click.FloatRange(0, min_open=True),
              help=_("Learning rate of the second stage."))
@click.option("--weights", default="imagenet", show_default=True,
              help=_("Backbone weights: 'imagenet' (Keras cache, else download), 'none' (train from scratch) "
                     "or a .keras/.h5 file of the same architecture."))
@click.option("--validation-split", default=0.2, show_default=True, type=click.FloatRange(0, 1, min_open=True,
                                                                                          max_open=True),
              help=_("Share of each class kept for validation."))
@click.option("--validation-dir", type=click.Path(path_type=Path),
              help=_("Separate validation folder with the same class subfolders (instead of a split)."))
@click.option("--patience", default=5, show_default=True, type=click.IntRange(1, 1000),
              help=_("Stop after this many epochs without a lower validation loss."))
@click.option("--flip/--no-flip", default=False, show_default=True,
              help=_("Mirror training images left-right; only when a mirrored photo keeps its class "
                     "(not for arrows or text)."))
@click.option("--no-augment", is_flag=True, help=_("Train without random brightness, contrast, rotation, zoom "
                                                   "and translation."))
@click.option("--no-class-weights", is_flag=True, help=_("Do not weight classes by the inverse of their "
                                                         "image count."))
@click.option("--skip-unreadable", is_flag=True, help=_("Skip images that cannot be decoded instead of stopping."))
@click.option("--seed", default=0, show_default=True, type=int, help=_("Seed of the split, shuffling, "
                                                                         "augmentation and initial weights."))
@click.option("--overwrite", is_flag=True, help=_("Replace the output folder if it exists."))
def train(data_dir, out_dir, backbone, size, epochs, fine_tune, fine_tune_epochs, batch_size, learning_rate,
          fine_tune_rate, weights, validation_split, validation_dir, patience, flip, no_augment, no_class_weights,
          skip_unreadable, seed, overwrite):
    from lince.models.pipeline import Augmentation
    from lince.models.training import TrainConfig, check_output_dir
    from lince.models.zoo import get_backbone

    entry = get_backbone(backbone)  # Fails fast on a bad name, before TensorFlow loads.
    check_output_dir(out_dir, overwrite)
    augmentation = Augmentation(flip=flip)
    if no_augment:
        augmentation = Augmentation(flip=flip, brightness=0, contrast=0, rotation=0, zoom=0, translation=0)
    config = TrainConfig(
        backbone=entry.name, size=size, epochs=epochs, fine_tune=fine_tune, fine_tune_epochs=fine_tune_epochs,
        batch_size=batch_size, learning_rate=learning_rate, fine_tune_rate=fine_tune_rate,
        validation_split=validation_split, validation_dir=validation_dir,
        weights=None if weights.lower() == "none" else weights, patience=patience, augmentation=augmentation,
        class_weights=not no_class_weights, skip_unreadable=skip_unreadable, seed=seed, progress=True,
        overwrite=overwrite)
    click.echo(_("Training {backbone} on {data} ...").format(backbone=entry.name, data=data_dir), err=True)
    from lince.models.training import train_with_config

    result = train_with_config(data_dir, out_dir, config)
    if result.interrupted:
        click.echo(_("Interrupted: kept the best model so far (epoch {epoch})").format(epoch=result.best_epoch),
                   err=True)
    click.echo(_("Validation accuracy {accuracy:.1f}% after {epochs} epoch(s), best epoch {best}, {seconds:.0f} s")
               .format(accuracy=100 * result.val_accuracy, epochs=result.epochs_run, best=result.best_epoch,
                       seconds=result.seconds))
    click.echo(_("Wrote {path}; export it with: lince export {model} --int8 --calibration {data}").format(
        path=result.out_dir, model=result.model_path, data=data_dir))
