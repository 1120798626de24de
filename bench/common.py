"""Helpers shared by the bench/ scripts: fixture paths, cached exports, timing, results.

Every script measures its contenders side by side in one process and one
run, interleaving them in rounds, so that a load change on a shared machine
slows every contender alike and the printed ratios stay meaningful.
Each script writes its figures to ``bench/results/<name>.json`` and prints a
Markdown section; ``bench/run_all.py`` turns both into ``docs/benchmarks.md``.
"""

import dataclasses
import json
import logging
import os
import sys
import time
from pathlib import Path
from typing import Callable, Dict, List, Optional, Tuple

import numpy as np

BENCH_DIR = Path(__file__).resolve().parent
REPO_ROOT = BENCH_DIR.parent
RESULTS_DIR = BENCH_DIR / "results"
# Exports and converted models are cached here between runs (not in git).
CACHE_DIR = Path(os.environ.get("LINCE_BENCH_CACHE", BENCH_DIR / ".cache"))
FIXTURES = Path(os.environ.get("LINCE_FIXTURES", REPO_ROOT.parent / "shared" / "fixtures"))
LITE0_KERAS = FIXTURES / "models" / "efficientnet_lite0_imagenet.keras"
IMAGENET_LABELS = FIXTURES / "models" / "imagenet1000_labels.txt"
IMAGENET_SAMPLE = FIXTURES / "imagenet-sample"
PHOTOS = FIXTURES / "images"
VIDEO = FIXTURES / "videos" / "slideshow_640x480_30fps.mp4"

logger = logging.getLogger("bench")


def resident_mb() -> float:
    """Return this process's resident memory in MiB."""
    with open("/proc/self/statm") as file:
        pages = int(file.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def require_fixtures() -> None:
    """Exit with a clear message when the shared fixtures are absent."""
    if not LITE0_KERAS.exists():
        sys.exit(f"bench: fixtures not found at {FIXTURES}; set LINCE_FIXTURES to the shared fixtures folder")


def setup_logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stderr)
    for noisy in ("tensorflow", "absl", "h5py", "matplotlib", "PIL", "tf2onnx", "lince"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


def threads() -> int:
    """Thread count every engine gets: all cores, as a robot program would use."""
    return int(os.environ.get("LINCE_BENCH_THREADS", os.cpu_count() or 1))


def export_tflite(keras_path: Path, name: str, mode: str, normalization=None, labels: Optional[Path] = None,
                  calibration: Path = PHOTOS, calibration_count: int = 100, crop: Optional[str] = None,
                  crop_fraction: Optional[float] = None, allow_rejected: bool = False) -> Path:
    """Export ``keras_path`` with lince in ``mode``, reusing a cached file from an earlier run."""
    output = CACHE_DIR / f"{name}_{mode}.tflite"
    if output.exists() and output.stat().st_mtime >= keras_path.stat().st_mtime:
        return output
    from lince.export import ExportConfig, export_model
    from lince.runtime.errors import LinceError

    options = dict(model_path=keras_path, output_path=output, quantization=mode, labels_path=labels,
                   normalization=normalization, overwrite=True, crop=crop, crop_fraction=crop_fraction)
    if mode in ("int8", "int16x8"):
        options.update(calibration_dir=calibration, calibration_count=calibration_count)
    fields = {field.name for field in dataclasses.fields(ExportConfig)}
    if "max_drop" in fields:
        # Random-weight networks agree poorly with their int8 copy; speed is what is measured here.
        options["max_drop"] = 100.0
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    rejected = output.with_name(output.stem + ".rejected.tflite")
    rejected.unlink(missing_ok=True)
    rejected_marker(output).unlink(missing_ok=True)
    try:
        export_model(ExportConfig(**{k: v for k, v in options.items() if k in fields}))
    except LinceError as error:
        if not (allow_rejected and rejected.exists()):
            raise
        # The export keeps a model that fails its accuracy check; its graph and
        # kernels are those of a good export, so its speed is representative.
        logger.warning("%s: export rejected by the accuracy check; timing the rejected model", output.name)
        rejected.replace(output)
        rejected_marker(output).write_text(str(error) + "\n")
    return output


def rejected_marker(output: Path) -> Path:
    """Return the file that records that ``output`` failed the export's accuracy check."""
    return output.with_name(output.name + ".rejected.txt")


def lite0_normalization():
    from lince.models.preprocessing import custom_normalization

    return custom_normalization([127.0], [128.0])


def zoo_normalization(name: str):
    """Return the input normalisation preset of the zoo network ``name``."""
    from lince.models import get_backbone
    from lince.models.preprocessing import get_preset

    return get_preset(get_backbone(name).preprocess)


def zoo_keras(name: str) -> Path:
    """Save the zoo network ``name`` with random weights (ImageNet weights need a download) as .keras.

    With freshly initialised BatchNorm statistics a random network saturates
    and gives the same class for every photo, which the export's check rejects
    as a wrongly normalised model. The statistics are therefore set from one
    batch of the fixture photos, so outputs vary with the input; the weights
    stay random, which does not change the speed.
    """
    path = CACHE_DIR / f"{name}_random.keras"
    if path.exists():
        return path
    import cv2
    import keras

    from lince.models import get_backbone
    from lince.models.backbones import build_keras_model

    backbone = get_backbone(name)
    model = build_keras_model(backbone, include_top=True, weights=None)
    height, width = model.input_shape[1:3]
    photos = [cv2.imread(str(photo)) for photo in sorted(PHOTOS.iterdir())]
    batch = np.stack([cv2.resize(image, (width, height))[:, :, ::-1] for image in photos if image is not None])
    norms = [layer for layer in model.layers if isinstance(layer, keras.layers.BatchNormalization)]
    momentums = [layer.momentum for layer in norms]
    for layer in norms:
        layer.momentum = 0.0
    model(zoo_normalization(name).apply(batch), training=True)
    for layer, momentum in zip(norms, momentums):
        layer.momentum = momentum
    CACHE_DIR.mkdir(parents=True, exist_ok=True)
    model.save(path)
    return path


def interleaved_latencies(contenders: Dict[str, Tuple[Callable[[], None], int]], rounds: int = 5,
                          warmup: int = 3) -> Dict[str, np.ndarray]:
    """Time each contender ``(call, runs)`` in ``rounds`` alternating rounds; return ms per call.

    A contender with few runs (a slow engine) is spread over the same rounds
    as the fast ones, so every engine sees the same load on the machine.
    """
    for call, _runs in contenders.values():
        for _ in range(warmup):
            call()
    times = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, (call, runs) in contenders.items():
            for _ in range(max(1, runs // rounds)):
                start = time.perf_counter()
                call()
                times[name].append((time.perf_counter() - start) * 1000.0)
    return {name: np.array(values) for name, values in times.items()}


def machine_dict() -> dict:
    """Describe this machine and the versions of every engine the suite uses."""
    from importlib import metadata

    from lince.runtime.machine import describe_machine

    info = describe_machine().to_dict()
    versions = {}
    for distribution in ("tensorflow", "keras", "onnxruntime", "tf2onnx"):
        try:
            versions[distribution] = metadata.version(distribution)
        except metadata.PackageNotFoundError:
            versions[distribution] = "not installed"
    return {**info, **versions}


def write_result(name: str, payload: dict) -> Path:
    """Store a script's figures as ``bench/results/<name>.json`` with the machine described."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    record = {"script": f"bench/{name}.py", "machine": machine_dict(),
              "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), **payload}
    path.write_text(json.dumps(record, indent=2) + "\n")
    return path


def markdown_table(header: List[str], rows: List[List]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def verdict(goal_met: bool) -> str:
    return "MET" if goal_met else "NOT MET"
