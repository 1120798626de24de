"""The ``tf.data`` input pipeline of training: augmentation, then normalisation.

Augmentation happens here, on the decoded 0-255 pixels, and never inside
the saved model, so the exported model does only what the camera needs.
The augmentations imitate a robot's camera: lighting (brightness,
contrast), a slightly tilted or moved camera (rotation, translation) and
distance (zoom). Horizontal flips are optional because they change the
meaning of signs such as arrows.
"""

from dataclasses import dataclass

import numpy as np

from lince.models.preprocessing import Normalization


@dataclass(frozen=True)
class Augmentation:
    """Strength of each random augmentation (0 turns one off).

    Attributes:
        flip: mirror left-right half of the images.
        brightness: largest brightness change, as a fraction of 255.
        contrast: largest contrast change factor (0.2 means 0.8x to 1.2x).
        rotation: largest rotation, as a fraction of a full turn.
        zoom: largest zoom in or out, as a fraction of the image side.
        translation: largest shift, as a fraction of the image side.
    """

    flip: bool = False
    brightness: float = 0.2
    contrast: float = 0.2
    rotation: float = 0.03
    zoom: float = 0.15
    translation: float = 0.1


def _augmentation_layers(augmentation: Augmentation, seed: int):
    from keras import layers

    steps = []
    if augmentation.flip:
        steps.append(layers.RandomFlip("horizontal", seed=seed))
    if augmentation.rotation:
        steps.append(layers.RandomRotation(augmentation.rotation, fill_mode="reflect", seed=seed + 1))
    if augmentation.zoom:
        steps.append(layers.RandomZoom(augmentation.zoom, fill_mode="reflect", seed=seed + 2))
    if augmentation.translation:
        steps.append(layers.RandomTranslation(augmentation.translation, augmentation.translation,
                                              fill_mode="reflect", seed=seed + 3))
    if augmentation.brightness:
        steps.append(layers.RandomBrightness(augmentation.brightness, value_range=(0, 255), seed=seed + 4))
    if augmentation.contrast:
        steps.append(layers.RandomContrast(augmentation.contrast, value_range=(0, 255), seed=seed + 5))
    return steps


def normalise_tensor(pixels, normalization: Normalization):
    """Apply ``normalization`` to a float tensor of RGB pixels, as the export folds it."""
    import tensorflow as tf

    if normalization.bgr:
        pixels = tf.gather(pixels, [2, 1, 0], axis=-1)
    if normalization.is_identity:
        return pixels
    mean = tf.constant(normalization.mean, tf.float32)
    std = tf.constant(normalization.std, tf.float32)
    return (pixels - mean) / std


def make_dataset(images: np.ndarray, labels: np.ndarray, normalization: Normalization, batch_size: int,
                 augmentation: Augmentation = None, shuffle: bool = False, seed: int = 0):
    """Return a batched ``tf.data.Dataset`` of ``(normalised images, labels)``.

    ``augmentation`` None means no augmentation (validation data).
    """
    import tensorflow as tf

    dataset = tf.data.Dataset.from_tensor_slices((images, labels))
    if shuffle:
        dataset = dataset.shuffle(len(images), seed=seed, reshuffle_each_iteration=True)
    dataset = dataset.batch(batch_size)
    steps = _augmentation_layers(augmentation, seed) if augmentation is not None else []

    def transform(batch, batch_labels):
        pixels = tf.cast(batch, tf.float32)
        for step in steps:
            pixels = step(pixels, training=True)
        pixels = tf.clip_by_value(pixels, 0.0, 255.0)
        return normalise_tensor(pixels, normalization), batch_labels

    return dataset.map(transform, num_parallel_calls=tf.data.AUTOTUNE).prefetch(tf.data.AUTOTUNE)
