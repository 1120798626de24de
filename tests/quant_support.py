"""A tiny trained colour classifier and its images, for fast per-mode export tests.

Ten classes, one per hue; each image is noise and random rectangles over a
background of its class's hue. A few epochs teach a small ConvNet to tell
them apart, so its predictions vary and quantization errors show.
"""

from pathlib import Path

import cv2
import numpy as np

CLASSES = [f"hue{index}" for index in range(10)]
SIZE = 32


def colour_image(label: int, rng: np.random.Generator, size: int = 48) -> np.ndarray:
    """Return a BGR uint8 image of class ``label``."""
    hsv = np.zeros((size, size, 3), np.uint8)
    hsv[..., 0] = label * 18  # OpenCV hue is 0-179.
    hsv[..., 1] = 200
    hsv[..., 2] = 200
    image = cv2.cvtColor(hsv, cv2.COLOR_HSV2BGR).astype(np.int16)
    for _ in range(3):
        x, y = rng.integers(0, size - 8, 2)
        image[y:y + 8, x:x + 8] += rng.integers(-60, 60, 3).astype(np.int16)
    image += rng.integers(-20, 20, image.shape).astype(np.int16)
    return np.clip(image, 0, 255).astype(np.uint8)


def write_class_folder(root: Path, per_class: int, seed: int = 0) -> Path:
    """Write ``per_class`` PNG images into ``root/<class>/``; return ``root``."""
    rng = np.random.default_rng(seed)
    for label, name in enumerate(CLASSES):
        folder = root / name
        folder.mkdir(parents=True, exist_ok=True)
        for index in range(per_class):
            cv2.imwrite(str(folder / f"{index:03d}.png"), colour_image(label, rng))
    return root


def train_colour_model(path: Path, rescaling: bool = False) -> Path:
    """Train the tiny classifier on normalised ``(x - 127.5) / 127.5`` pixels and save it to ``path``.

    With ``rescaling`` the model holds that normalisation as a ``Rescaling`` layer.
    """
    import keras

    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(1)
    labels = np.repeat(np.arange(len(CLASSES)), 40)
    images = np.stack([cv2.resize(colour_image(int(label), rng), (SIZE, SIZE))[..., ::-1] for label in labels])
    pixels = images.astype(np.float32)

    inputs = keras.Input((SIZE, SIZE, 3))
    x = keras.layers.Rescaling(1 / 127.5, offset=-1.0)(inputs) if rescaling else inputs
    x = keras.layers.Conv2D(64, 3, activation="relu", padding="same")(x)
    x = keras.layers.Conv2D(128, 3, activation="relu", padding="same")(x)
    x = keras.layers.GlobalAveragePooling2D()(x)
    x = keras.layers.Dense(512, activation="relu")(x)
    outputs = keras.layers.Dense(len(CLASSES), activation="softmax")(x)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy")
    model.fit(pixels if rescaling else (pixels - 127.5) / 127.5, labels, epochs=6, batch_size=32, verbose=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    model.save(path)
    return path


def write_labels(path: Path) -> Path:
    path.write_text("\n".join(CLASSES) + "\n", encoding="utf-8")
    return path
