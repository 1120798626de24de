"""Pipeline cost: the whole camera loop against bare ``invoke()``, and preprocessing per frame size.

- Loop throughput: :class:`lince.runtime.Pipeline` reads the fixture video
  (640x480) as fast as possible (``realtime=False``): decode, crop, resize,
  inference, smoothing. Its frames per second are compared with
  ``Classifier.invoke()`` alone on the same model and thread count, in
  alternating rounds. The ratio is the share of the loop's time that is
  inference.
- Preprocessing: ``prepare_image`` (centre crop 87.5 % and bilinear resize to
  224x224, the EfficientNet-Lite0 export's setting, and a plain resize) on
  640x480, 1280x720 and 1920x1080 frames made from a fixture photo.

Run: ``python bench/pipeline_speed.py [--frames N]``. Needs no TensorFlow
when the int8 EfficientNet-Lite0 export is already cached; without it,
Google's reference int8 MobileNetV2 is used.
"""

import argparse
import time

import cv2
import numpy as np

import common

SIZES = ((640, 480), (1280, 720), (1920, 1080))


def loop_fps(model, threads: int, frames: int) -> float:
    from lince.runtime.pipeline import LoopSettings, Pipeline

    settings = LoopSettings(realtime=False, max_frames=frames, stats_interval=3600.0)
    with Pipeline(model, source=str(common.VIDEO), num_threads=threads, settings=settings) as pipeline:
        start = time.perf_counter()
        count = sum(1 for _result in pipeline)
        return count / (time.perf_counter() - start)


def invoke_fps(model, threads: int, frames: int) -> float:
    from lince.runtime import Classifier

    classifier = Classifier(model, num_threads=threads)
    height, width = classifier.preprocessing.size
    classifier.set_input(np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8))
    for _ in range(5):
        classifier.invoke()
    start = time.perf_counter()
    for _ in range(frames):
        classifier.invoke()
    return frames / (time.perf_counter() - start)


def preprocessing_ms(runs: int) -> list:
    from lince.runtime.image_io import read_image
    from lince.runtime.preprocess import Preprocessing, prepare_image

    photo = read_image(common.PHOTOS / "cat_720p.jpg")
    settings = {"centre crop 87.5 %": Preprocessing(size=(224, 224), crop="center", crop_fraction=0.875),
                "whole frame": Preprocessing(size=(224, 224))}
    rows = []
    for width, height in SIZES:
        frame = cv2.resize(photo, (width, height), interpolation=cv2.INTER_LINEAR)
        contenders = {name: (lambda p=p: prepare_image(frame, p), runs) for name, p in settings.items()}
        times = common.interleaved_latencies(contenders)
        rows.append({"frame": f"{width}x{height}",
                     **{name: float(np.percentile(values, 50)) for name, values in times.items()}})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--frames", type=int, default=150, help="frames per throughput measurement")
    parser.add_argument("--rounds", type=int, default=5, help="alternating rounds of loop and invoke")
    args = parser.parse_args()
    common.setup_logging()
    common.require_fixtures()
    threads = common.threads()

    cached = common.CACHE_DIR / "efficientnet-lite0_int8.tflite"
    model = cached if cached.exists() else common.FIXTURES / "models" / "mobilenet_v2_1.0_224_quant.tflite"
    loop, bare = [], []
    for _ in range(args.rounds):
        loop.append(loop_fps(model, threads, args.frames))
        bare.append(invoke_fps(model, threads, args.frames))
    loop_median, bare_median = float(np.median(loop)), float(np.median(bare))
    rows = preprocessing_ms(runs=200)

    text = "\n".join([
        f"### Camera loop against bare inference ({model.name}, {threads} threads, median of {args.rounds} rounds)",
        "",
        common.markdown_table(["measure", "frames/s"], [
            ["`Pipeline` on the 640x480 video, every frame", f"{loop_median:.1f}"],
            ["`Classifier.invoke()` alone", f"{bare_median:.1f}"],
        ]),
        "",
        f"Loop throughput / invoke throughput: **{loop_median / bare_median:.2f}** "
        f"(1.0 would mean the loop adds nothing to inference). The loop also decodes the H.264 video, "
        f"in a thread that shares the cores with the interpreter; `bench/loop_throughput.py` measures the "
        f"loop on frames already decoded, as a camera delivers them.",
        "",
        "### Preprocessing per frame (`prepare_image` to 224x224, median ms)",
        "",
        common.markdown_table(["frame", "centre crop 87.5 %", "whole frame"],
                              [[r["frame"], f"{r['centre crop 87.5 %']:.2f}", f"{r['whole frame']:.2f}"]
                               for r in rows]),
    ])
    common.write_result("pipeline_speed", {"model": str(model), "threads": threads, "loop_fps": loop_median,
                                           "invoke_fps": bare_median, "preprocessing_ms": rows, "markdown": text,
                                           "command": "python bench/pipeline_speed.py"})
    print(text)


if __name__ == "__main__":
    main()
