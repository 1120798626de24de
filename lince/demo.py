"""The offline demo: from generated photos to a classifier watching a video.

Every step runs on this machine with no download. lince draws a labelled set
of traffic signs and shapes on varied backgrounds and trains a small CNN from
scratch. It then exports the CNN to int8, calibrated on the same photos, draws
a video of the signs and runs the camera loop on it.
"""

import csv
import logging
import shutil
from dataclasses import dataclass
from pathlib import Path

from lince.runtime.errors import LinceError, _

logger = logging.getLogger(__name__)

# A folder holding this file was made by the demo and may be replaced by it.
MARKER = ".lince-demo"
BACKBONE = "tiny-cnn"


@dataclass(frozen=True)
class DemoPaths:
    """Output paths of each demo step."""

    root: Path

    @property
    def dataset(self) -> Path:
        return self.root / "dataset"

    @property
    def training(self) -> Path:
        return self.root / "model"

    @property
    def int8_model(self) -> Path:
        return self.root / "signs_int8.tflite"

    @property
    def video(self) -> Path:
        return self.root / "robot_view.mp4"

    @property
    def video_labels(self) -> Path:
        return self.video.with_suffix(".csv")


def prepare_folder(root: Path) -> DemoPaths:
    """Create ``root``, replacing an earlier demo's output but never other files."""
    root = Path(root)
    if root.exists():
        if not (root / MARKER).exists():
            raise LinceError(_("{path} exists and was not made by the demo; choose another --out folder")
                             .format(path=root))
        shutil.rmtree(root)
    root.mkdir(parents=True)
    (root / MARKER).write_text("Made by 'lince demo'; replaced when the demo runs again.\n")
    return DemoPaths(root)


def make_data(paths: DemoPaths, per_class: int, seed: int) -> None:
    from lince.synthetic import make_dataset, make_video

    make_dataset(paths.dataset, per_class=per_class, seed=seed)
    make_video(paths.video, seed=seed + 1)


def train_model(paths: DemoPaths, epochs: int, seed: int):
    from lince.models.training import train

    # Small batches and patient early stopping: a net trained from scratch on
    # a few hundred photos needs many steps to converge.
    return train(paths.dataset, paths.training, backbone=BACKBONE, weights=None, epochs=epochs, seed=seed,
                 batch_size=16, patience=10, progress=True)


def export_int8(paths: DemoPaths):
    from lince.export import ExportConfig, export_model

    return export_model(ExportConfig(
        model_path=paths.training / "model.keras", output_path=paths.int8_model, quantization="int8",
        calibration_dir=paths.dataset))


def video_accuracy(paths: DemoPaths) -> float:
    """Return the share of labelled video frames whose top-1 class is right."""
    import cv2

    from lince.runtime import Classifier

    with open(paths.video_labels, newline="", encoding="utf-8") as file:
        expected = [row["label"] for row in csv.DictReader(file)]
    classifier = Classifier(paths.int8_model)
    capture = cv2.VideoCapture(str(paths.video))
    labelled = correct = 0
    try:
        for label in expected:
            ok, frame = capture.read()
            if not ok:
                break
            if label:
                labelled += 1
                correct += classifier.classify(frame).label == label
    finally:
        capture.release()
    if not labelled:
        raise LinceError(_("{path}: no labelled frame could be read").format(path=paths.video))
    return correct / labelled
