"""Synthetic robot's-view images and videos of signs and shapes (NumPy and OpenCV only).

The demo and the tests need a labelled data set that any machine can make
offline in seconds. It has six classes of signs: a stop octagon, left and
right arrows on a blue disc, a red-ringed circle, a red-bordered triangle
and a blue square. They are drawn over cluttered backgrounds with varied
lighting, pose, scale, blur and sensor noise, like photos a robot takes of
signs on a course.

:func:`make_dataset` writes one folder per class; :func:`make_video`
writes an ``mp4v`` video of a sequence of signs separated by dark gaps and a
CSV of the expected label of every frame (``frame,label``, empty in gaps).
"""

import csv
import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Dict, Sequence, Tuple

import cv2
import numpy as np

from lince.runtime.atomic import atomic_path, check_writable
from lince.runtime.errors import LinceError, _

logger = logging.getLogger(__name__)

CLASSES = ("arrow_left", "arrow_right", "circle", "square", "stop", "triangle")
FORMATS = ("jpg", "png")


@dataclass(frozen=True)
class Scene:
    """Everything that varies between two pictures of a sign.

    Coordinates are fractions of the image side; ``angle`` is in degrees.
    """

    kind: str
    center: Tuple[float, float]
    radius: float
    angle: float
    colour: Tuple[int, int, int]
    gain: float
    light_slope: Tuple[float, float]
    blur: float
    noise: float
    tilt: float
    noise_seed: int = 0


def random_scene(kind: str, rng: np.random.Generator) -> Scene:
    """Draw a random pose, scale and lighting for a sign of class ``kind``."""
    return Scene(
        kind=kind,
        center=(rng.uniform(0.35, 0.65), rng.uniform(0.35, 0.65)),
        radius=rng.uniform(0.2, 0.36),
        angle=rng.uniform(-15, 15),
        # Light interiors with a tint: faded paint, coloured light.
        colour=tuple(int(v) for v in rng.integers(170, 256, 3)),
        gain=rng.uniform(0.55, 1.3),
        light_slope=(rng.uniform(-0.35, 0.35), rng.uniform(-0.35, 0.35)),
        blur=rng.uniform(0, 1.3),
        noise=rng.uniform(2, 10),
        tilt=rng.uniform(-0.18, 0.18),
        noise_seed=int(rng.integers(0, 2 ** 31)),
    )


def random_background(rng: np.random.Generator, size: Tuple[int, int]) -> np.ndarray:
    """Return a cluttered BGR background: a colour gradient, blobs and lines (floor, walls, objects)."""
    height, width = size
    top, bottom = rng.integers(40, 220, 3), rng.integers(40, 220, 3)
    ramp = np.linspace(0, 1, height, dtype=np.float32)[:, None, None]
    image = (top * (1 - ramp) + bottom * ramp).astype(np.float32) * np.ones((1, width, 1), np.float32)
    image = image.astype(np.uint8)
    for _ in range(int(rng.integers(3, 9))):
        colour = tuple(int(v) for v in rng.integers(0, 256, 3))
        if rng.random() < 0.5:
            centre = (int(rng.integers(0, width)), int(rng.integers(0, height)))
            axes = (int(rng.integers(width // 12, width // 3)), int(rng.integers(height // 12, height // 3)))
            cv2.ellipse(image, centre, axes, float(rng.uniform(0, 180)), 0, 360, colour, -1, cv2.LINE_AA)
        else:
            start = (int(rng.integers(0, width)), int(rng.integers(0, height)))
            end = (int(rng.integers(0, width)), int(rng.integers(0, height)))
            cv2.line(image, start, end, colour, int(rng.integers(1, max(2, width // 20))), cv2.LINE_AA)
    return cv2.GaussianBlur(image, (0, 0), 1.5)


def _polygon(sides: int, centre, radius: float, rotation: float) -> np.ndarray:
    angles = np.deg2rad(rotation) + np.arange(sides) * 2 * np.pi / sides
    return np.stack([centre[0] + radius * np.cos(angles), centre[1] + radius * np.sin(angles)], axis=1)


def _arrow(centre, radius: float, pointing_right: bool) -> np.ndarray:
    # A block arrow inside a disc of ``radius``, pointing right, then mirrored.
    shape = np.array([[-0.6, -0.15], [0.05, -0.15], [0.05, -0.42], [0.62, 0.0],
                      [0.05, 0.42], [0.05, 0.15], [-0.6, 0.15]])
    if not pointing_right:
        shape[:, 0] *= -1
    return centre + radius * shape


def _draw_sign(canvas: np.ndarray, scene: Scene) -> None:
    """Draw the sign, upright and centred, on a square canvas (BGR).

    Colours are 30 or more in some channel, so every sign pixel is non-zero
    and the canvas doubles as its own mask.
    """
    side = canvas.shape[0]
    centre = np.array([side / 2, side / 2])
    radius = side * 0.45
    white, red, blue = (245, 245, 245), (30, 30, 200), (190, 90, 20)

    def fill(points, colour):
        cv2.fillPoly(canvas, [np.round(points * 16).astype(np.int32)], colour, cv2.LINE_AA, shift=4)

    if scene.kind == "stop":
        fill(_polygon(8, centre, radius, 22.5), white)
        fill(_polygon(8, centre, radius * 0.88, 22.5), red)
        cv2.putText(canvas, "STOP", (int(side * 0.2), int(side * 0.58)), cv2.FONT_HERSHEY_SIMPLEX,
                    side / 190, white, max(1, side // 45), cv2.LINE_AA)
    elif scene.kind in ("arrow_left", "arrow_right"):
        cv2.circle(canvas, tuple(int(v) for v in centre), int(radius), blue, -1, cv2.LINE_AA)
        fill(_arrow(centre, radius, scene.kind == "arrow_right"), white)
    elif scene.kind == "circle":
        # A prohibitory sign: red ring around a light disc.
        cv2.circle(canvas, tuple(int(v) for v in centre), int(radius), red, -1, cv2.LINE_AA)
        cv2.circle(canvas, tuple(int(v) for v in centre), int(radius * 0.72), scene.colour, -1, cv2.LINE_AA)
    elif scene.kind == "triangle":
        # A warning sign: red border around a light triangle.
        fill(_polygon(3, centre + [0, radius * 0.15], radius * 1.05, -90), red)
        fill(_polygon(3, centre + [0, radius * 0.15], radius * 0.62, -90), scene.colour)
    elif scene.kind == "square":
        # An information sign: white border around a blue square.
        fill(_polygon(4, centre, radius * 1.05, 45), white)
        fill(_polygon(4, centre, radius * 0.9, 45), blue)
    else:
        raise LinceError(_("unknown synthetic class {name!r}: use one of {choices}").format(
            name=scene.kind, choices=", ".join(CLASSES)))


def render(scene: Scene, background: np.ndarray) -> np.ndarray:
    """Return ``background`` with the sign of ``scene`` placed, lit and degraded like a camera photo."""
    height, width = background.shape[:2]
    side = 256
    sign = np.zeros((side, side, 3), np.uint8)
    _draw_sign(sign, scene)
    mask = np.where(np.any(sign > 0, axis=2), 255, 0).astype(np.uint8)

    # Map the sign's square onto the image: scale, rotate and tilt (a perspective view).
    target = scene.radius * min(height, width) / 0.45 / 2
    cx, cy = scene.center[0] * width, scene.center[1] * height
    corners = np.float32([[0, 0], [side, 0], [side, side], [0, side]])
    squeeze = np.array([1 - scene.tilt, 1 + scene.tilt, 1 + scene.tilt, 1 - scene.tilt])
    offsets = (corners - side / 2) / (side / 2) * target
    offsets[:, 1] *= squeeze
    rotation = cv2.getRotationMatrix2D((0, 0), scene.angle, 1.0)[:, :2]
    placed = np.float32(offsets @ rotation.T + [cx, cy])
    transform = cv2.getPerspectiveTransform(corners, placed)
    warped = cv2.warpPerspective(sign, transform, (width, height), flags=cv2.INTER_LINEAR)
    alpha = cv2.warpPerspective(mask, transform, (width, height), flags=cv2.INTER_LINEAR)[..., None] / 255.0
    image = background.astype(np.float32) * (1 - alpha) + warped.astype(np.float32) * alpha
    return _camera_effects(image, scene)


def _camera_effects(image: np.ndarray, scene: Scene) -> np.ndarray:
    height, width = image.shape[:2]
    ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
    light = scene.gain * (1 + scene.light_slope[0] * (xs / width - 0.5) + scene.light_slope[1] * (ys / height - 0.5))
    image = image * light[..., None]
    if scene.blur > 0.3:
        image = cv2.GaussianBlur(image, (0, 0), scene.blur)
    noise = np.random.default_rng(scene.noise_seed).normal(0, scene.noise, image.shape)
    return np.clip(image + noise, 0, 255).astype(np.uint8)


def _check_classes(classes: Sequence[str]) -> Tuple[str, ...]:
    unknown = [name for name in classes if name not in CLASSES]
    if unknown or not classes:
        raise LinceError(_("unknown synthetic class(es) {names}: use some of {choices}").format(
            names=", ".join(unknown) or "-", choices=", ".join(CLASSES)))
    return tuple(classes)


def make_dataset(out_dir, classes: Sequence[str] = CLASSES, per_class: int = 100, size: Tuple[int, int] = (120, 160),
                 seed: int = 0, image_format: str = "jpg") -> Dict[str, int]:
    """Write ``per_class`` images of each class into ``out_dir/<class>/``; return the counts.

    ``size`` is ``(height, width)``. The default 4:3 shape matches the
    :func:`make_video` frames, so a model that resizes whole frames sees
    signs squeezed the same way in training and on video. The same ``seed``
    writes the same images.
    """
    classes = _check_classes(classes)
    if image_format not in FORMATS:
        raise LinceError(_("invalid image format {value!r}: use jpg or png").format(value=image_format))
    if per_class < 1:
        raise LinceError(_("per_class must be at least 1, got {value}").format(value=per_class))
    out_dir = Path(out_dir)
    rng = np.random.default_rng(seed)
    for name in classes:
        folder = out_dir / name
        folder.mkdir(parents=True, exist_ok=True)
        for index in range(per_class):
            image = render(random_scene(name, rng), random_background(rng, size))
            quality = int(rng.integers(70, 96))
            options = [cv2.IMWRITE_JPEG_QUALITY, quality] if image_format == "jpg" else []
            ok, encoded = cv2.imencode(f".{image_format}", image, options)
            if not ok:
                raise LinceError(_("could not encode a synthetic image as {format}").format(format=image_format))
            with atomic_path(folder / f"{name}_{index:04d}.{image_format}") as temporary:
                temporary.write_bytes(encoded.tobytes())
    logger.info("Wrote %d images of %d classes to %s", per_class * len(classes), len(classes), out_dir)
    return {name: per_class for name in classes}


def _segment_frames(scene: Scene, background: np.ndarray, frames: int):
    """Yield frames of one sign with a slow zoom and pan across the segment."""
    for frame in range(frames):
        progress = frame / max(frames - 1, 1)
        moving = replace(scene, radius=scene.radius * (0.9 + 0.2 * progress),
                         center=(scene.center[0] + 0.06 * (progress - 0.5), scene.center[1]),
                         angle=scene.angle + 4 * (progress - 0.5), noise_seed=scene.noise_seed + frame)
        yield render(moving, background)


def make_video(path, classes: Sequence[str] = CLASSES, fps: int = 30, size: Tuple[int, int] = (480, 640),
               seconds_per_sign: float = 1.5, gap_seconds: float = 0.5, repeats: int = 1, seed: int = 0,
               overwrite: bool = False) -> Path:
    """Write an ``mp4v`` video of each class in turn (``repeats`` rounds) and its label CSV.

    ``size`` is ``(height, width)``. The CSV is written next to the video
    with the suffix ``.csv``. It has one ``frame,label`` row per frame, and
    the label is empty in the dark gaps between signs. Returns the CSV path.
    """
    classes = _check_classes(classes)
    path = check_writable(Path(path), overwrite)
    csv_path = check_writable(path.with_suffix(".csv"), overwrite)
    rng = np.random.default_rng(seed)
    height, width = size
    sign_frames, gap_frames = max(1, round(seconds_per_sign * fps)), max(0, round(gap_seconds * fps))
    labels = []
    with atomic_path(path) as temporary:
        # OpenCV picks the container from the suffix, so it writes to "<temporary>.mp4" first.
        video_file = temporary.with_suffix(".mp4")
        writer = cv2.VideoWriter(str(video_file), cv2.VideoWriter_fourcc(*"mp4v"), fps, (width, height))
        try:
            if not writer.isOpened():
                raise LinceError(_("{path}: OpenCV cannot write mp4v video here").format(path=path))
            for _round in range(repeats):
                for name in classes:
                    scene = replace(random_scene(name, rng), radius=rng.uniform(0.28, 0.36))
                    for frame in _segment_frames(scene, random_background(rng, size), sign_frames):
                        writer.write(frame)
                        labels.append(name)
                    for _gap in range(gap_frames):
                        writer.write(rng.normal(12, 4, (height, width, 3)).clip(0, 255).astype(np.uint8))
                        labels.append("")
            writer.release()
            video_file.replace(temporary)
        finally:
            writer.release()
            video_file.unlink(missing_ok=True)
    rows = "frame,label\n" + "".join(f"{i},{label}\n" for i, label in enumerate(labels))
    with atomic_path(csv_path) as temporary:
        temporary.write_text(rows, encoding="utf-8")
    logger.info("Wrote %d frames to %s and their labels to %s", len(labels), path, csv_path)
    return csv_path
