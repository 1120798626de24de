"""Runtime speed: lince's TFLite exports against Keras and ONNX Runtime, side by side.

For the fixture EfficientNet-Lite0 (ImageNet weights) and the zoo's
MobileNetV2 and MobileNetV3-Large (random weights: speed does not depend on
them), it times one-image inference of:

- lince int8 and float32 exports (LiteRT through ``Classifier.invoke``),
- the Keras model called eagerly (``model(x, training=False)``), as a
  training script would run it,
- the float model converted with tf2onnx, in ONNX Runtime's CPU provider,
- that ONNX model quantized to int8 by ONNX Runtime's own static
  quantization (QDQ, per-channel weights), calibrated on the same photos as
  lince's int8 export: the other engine's best int8 path.

LiteRT and ONNX Runtime get the same thread count, 1 and all cores by default;
TensorFlow keeps its own default (all cores). Engines are timed in
alternating rounds, so a change of load on the machine affects all alike.
It also measures top-1 accuracy on the ImageNet sample for the models that
have real weights (the EfficientNet-Lite0 exports and Google's reference
TFLite models) and stores latency and accuracy for the plot.

Run: ``python bench/runtime_speed.py [--runs N] [--rounds N] [--threads 1,4] [--eval-limit N]``.
"""

import argparse
import logging

import numpy as np

import common

NETWORKS = ("efficientnet-lite0", "mobilenetv2-1.0", "mobilenetv3-large")
# Google's reference quantized models from the fixtures: real accuracy for the plot.
REFERENCE_TFLITE = {
    "MobileNetV2 int8 (Google, QAT)": "mobilenet_v2_1.0_224_quant.tflite",
    "MobileNetV2 int8 (Google, PTQ)": "tf2_mobilenet_v2_1.0_224_ptq.tflite",
    "MobileNetV1 0.25 int8 (Google)": "mobilenet_v1_0.25_128_quant.tflite",
}
REQUIRED_MODES = ("float32", "int8")
LITE0_MODES = ("float32", "float16", "dynamic", "int8")
KERAS = "Keras (TensorFlow, eager)"
logger = logging.getLogger("bench.runtime_speed")


def keras_path(network: str):
    return common.LITE0_KERAS if network == "efficientnet-lite0" else common.zoo_keras(network)


# The crop of every export and of the ONNX Runtime inputs: EfficientNet's evaluation crop.
CROP, CROP_FRACTION = "center", 0.875


def normalization_of(network: str):
    """Return the input normalisation that ``network``'s Keras model expects."""
    if network == "efficientnet-lite0":
        return common.lite0_normalization()
    return common.zoo_normalization(network)


def onnx_preprocessing():
    from lince.runtime.preprocess import Preprocessing

    return Preprocessing(size=(224, 224), crop=CROP, crop_fraction=CROP_FRACTION)


def exports(network: str, modes) -> dict:
    """Return ``{mode: .tflite path}`` of lince's exports of ``network``."""
    from lince.runtime.errors import LinceError

    lite0 = network == "efficientnet-lite0"
    paths = {}
    for mode in modes:
        logger.info("exporting %s to %s", network, mode)
        try:
            paths[mode] = common.export_tflite(
                keras_path(network), network, mode,
                normalization=normalization_of(network), labels=common.IMAGENET_LABELS, crop=CROP,
                crop_fraction=CROP_FRACTION, allow_rejected=not lite0)
        except LinceError as error:
            if mode in REQUIRED_MODES:
                raise
            # The extra modes only add points to the plot; the comparison needs float32 and int8.
            logger.warning("%s %s export skipped: %s", network, mode, error)
    return paths


def onnx_session(network: str, threads: int):
    """Convert the Keras model to ONNX with tf2onnx (cached) and open it in ONNX Runtime."""
    # Raises ImportError before the slow conversion when ONNX Runtime is missing.
    import onnxruntime  # noqa: F401

    path = common.CACHE_DIR / f"{network}.onnx"
    if not path.exists():
        import keras
        import tensorflow as tf
        import tf2onnx

        model = keras.models.load_model(keras_path(network), compile=False)
        spec = (tf.TensorSpec((1, *model.input_shape[1:]), tf.float32, name="image"),)
        function = tf.function(lambda x: model(x, training=False), input_signature=spec)
        proto, _ = tf2onnx.convert.from_function(function, input_signature=spec, opset=17)
        path.write_bytes(proto.SerializeToString())
    return open_onnx(path, threads)


def open_onnx(path, threads: int):
    """Open an ONNX model in ONNX Runtime's CPU provider with ``threads`` threads and every graph optimisation."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])


def onnx_int8_session(network: str, threads: int):
    """Quantize the float ONNX model with ONNX Runtime's static quantization (cached) and open it."""
    path = common.CACHE_DIR / f"{network}_int8.onnx"
    if not path.exists():
        from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
        from onnxruntime.quantization.shape_inference import quant_pre_process

        float_path = common.CACHE_DIR / f"{network}.onnx"
        prepared = common.CACHE_DIR / f"{network}_preprocessed.onnx"
        quant_pre_process(str(float_path), str(prepared), skip_symbolic_shape=True)
        name = open_onnx(float_path, 1).get_inputs()[0].name
        batches = iter(calibration_inputs(network))

        class Reader(CalibrationDataReader):
            def get_next(self):
                batch = next(batches, None)
                return None if batch is None else {name: batch}

        # U8 activations and S8 per-channel weights: ONNX Runtime's
        # recommended int8 format for x86 CPUs.
        # The quantizer logs a line per adjusted bias scale through the root logger.
        logging.disable(logging.INFO)
        try:
            quantize_static(str(prepared), str(path), Reader(), quant_format=QuantFormat.QDQ, per_channel=True,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
        finally:
            logging.disable(logging.NOTSET)
        prepared.unlink()
    return open_onnx(path, threads)


def calibration_inputs(network: str, count: int = 100):
    """Yield the calibration photos as the Keras model's input: prepared like lince's export, then normalised."""
    from lince.calibration.dataset import load_calibration_images

    normalization = normalization_of(network)
    for image in load_calibration_images(common.PHOTOS, onnx_preprocessing(), count).images:
        yield normalization.apply(image)[np.newaxis].astype(np.float32)


def contenders(network: str, tflite: dict, threads: int, runs: int) -> dict:
    """Return ``{engine: (call, runs)}`` for one network."""
    import keras

    from lince.runtime import Classifier

    calls = {}
    rng = np.random.default_rng(0)
    for mode, path in tflite.items():
        classifier = Classifier(path, num_threads=threads)
        height, width = classifier.preprocessing.size
        classifier.set_input(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))
        calls[f"lince {mode}"] = (classifier.invoke, runs)
        if common.rejected_marker(path).exists():
            logger.warning("%s failed the export's accuracy check (random weights); its speed is still measured",
                           path.name)

    model = keras.models.load_model(keras_path(network), compile=False)
    image = rng.random((1, *model.input_shape[1:]), dtype=np.float32)
    # Eager calls take about 100 ms: fewer of them keep the run short.
    calls[KERAS] = (lambda: model(image, training=False), max(10, runs // 10))
    try:
        session = onnx_session(network, threads)
    except ImportError as error:
        logger.warning("ONNX Runtime skipped: %s (pip install -e '.[bench]')", error)
        return calls
    name = session.get_inputs()[0].name
    calls["ONNX Runtime float32"] = (lambda: session.run(None, {name: image}), runs)
    quantized = onnx_int8_session(network, threads)
    calls["ONNX Runtime int8"] = (lambda: quantized.run(None, {name: image}), runs)
    return calls


def measure_network(network: str, tflite: dict, threads: int, runs: int, rounds: int) -> dict:
    logger.info("timing %s with %d thread(s)", network, threads)
    latencies = common.interleaved_latencies(contenders(network, tflite, threads, runs), rounds=rounds)
    rows = {engine: {"p50_ms": float(np.percentile(times, 50)), "p90_ms": float(np.percentile(times, 90)),
                     "runs": int(times.size)} for engine, times in latencies.items()}
    rejected = [mode for mode, path in tflite.items() if common.rejected_marker(path).exists()]
    return {"network": network, "threads": threads, "engines": rows, "rejected_exports": rejected,
            "tflite": {mode: str(path) for mode, path in tflite.items()},
            "sizes": {mode: path.stat().st_size for mode, path in tflite.items()}}


class OnnxClassifier:
    """The part of lince's ``Classifier`` that ``evaluate`` uses, for an ONNX Runtime session.

    Frames are prepared by lince's own preprocessing, then normalised as the
    Keras model expects, so both engines see the same pixels.
    """

    def __init__(self, session, network: str):
        from lince.runtime.metadata import read_labels_file

        self.session = session
        self.model_path = f"{network} (ONNX Runtime)"
        self.labels = read_labels_file(common.IMAGENET_LABELS)
        self.preprocessing = onnx_preprocessing()
        self.normalization = normalization_of(network)
        self.input_name = session.get_inputs()[0].name

    def classify(self, frame_bgr, top_k: int = 5):
        from types import SimpleNamespace

        from lince.runtime.preprocess import prepare_image

        image = self.normalization.apply(prepare_image(frame_bgr, self.preprocessing))[np.newaxis]
        scores = self.session.run(None, {self.input_name: image.astype(np.float32)})[0].reshape(-1)
        best = np.argsort(-scores, kind="stable")[:top_k]
        return SimpleNamespace(top_k=[SimpleNamespace(index=int(i)) for i in best])


def accuracy_points(lite0_tflite: dict, p50_of: dict, threads: int, eval_limit: int) -> list:
    """Return (name, p50 ms, top-1 %) of the models with real weights, for the plot."""
    from lince.runtime import Classifier
    from lince.runtime.benchmark import measure_model
    from lince.runtime.evaluation import evaluate, load_labelled_images

    samples = load_labelled_images(common.IMAGENET_SAMPLE / "labels.csv", eval_limit)
    points = []
    for mode, path in lite0_tflite.items():
        top1 = evaluate(Classifier(path, num_threads=threads), samples).top1
        points.append({"name": f"EfficientNet-Lite0 {mode} (lince)", "p50_ms": p50_of[mode], "top1": top1})
    if "ONNX Runtime int8" in p50_of:
        classifier = OnnxClassifier(onnx_int8_session("efficientnet-lite0", threads), "efficientnet-lite0")
        points.append({"name": "EfficientNet-Lite0 int8 (ONNX Runtime)", "p50_ms": p50_of["ONNX Runtime int8"],
                       "top1": evaluate(classifier, samples).top1})
    for name, file in REFERENCE_TFLITE.items():
        path = common.FIXTURES / "models" / file
        labels = common.FIXTURES / "models" / "imagenet_labels.txt"
        measured = measure_model(path, threads, runs=50, warmup=5)
        top1 = evaluate(Classifier(path, labels=labels, num_threads=threads), samples).top1
        points.append({"name": name, "p50_ms": measured.p50_ms, "top1": top1})
    return points


def ratio_lines(result: dict) -> list:
    engines = result["engines"]
    int8 = engines["lince int8"]["p50_ms"]
    parts = [f"int8 vs float32 export {engines['lince float32']['p50_ms'] / int8:.2f}x"]
    for engine in ("ONNX Runtime float32", "ONNX Runtime int8"):
        if engine in engines:
            parts.append(f"vs {engine} {engines[engine]['p50_ms'] / int8:.2f}x")
    parts.append(f"vs Keras {engines[KERAS]['p50_ms'] / int8:.0f}x")
    return [f"- {result['network']}, {result['threads']} thread(s): lince int8 speed-up " + ", ".join(parts) + "."]


def goal_lines(results: list) -> list:
    """Return the goal's verdict for the EfficientNet-Lite0 rows: 2x its float32 export, 3x ONNX Runtime."""
    lines, all_met = [], True
    for result in (r for r in results if r["network"] == "efficientnet-lite0"):
        engines = result["engines"]
        int8 = engines["lince int8"]["p50_ms"]
        float_ratio = engines["lince float32"]["p50_ms"] / int8
        ort_ratio = engines.get("ONNX Runtime float32", {}).get("p50_ms", float("nan")) / int8
        met = float_ratio >= 2.0 and ort_ratio >= 3.0
        all_met = all_met and met
        lines.append(f"{result['threads']} thread(s): {float_ratio:.2f}x its float32 export, "
                     f"{ort_ratio:.2f}x ONNX Runtime float32 ({common.verdict(met)})")
    if not lines:
        return []
    return ["", "Goal: int8 EfficientNet-Lite0 at least 2x faster than its float32 export and 3x faster than "
            "ONNX Runtime running the float model, at every thread count measured: "
            f"**{common.verdict(all_met)}**. " + "; ".join(lines) + "."]


def summary(results: list, points: list, rounds: int) -> str:
    rows = []
    for result in results:
        base = result["engines"]["lince int8"]["p50_ms"]
        for engine, figures in result["engines"].items():
            rows.append([result["network"], result["threads"], engine, f"{figures['p50_ms']:.2f}",
                         f"{figures['p90_ms']:.2f}", figures["runs"], f"{figures['p50_ms'] / base:.1f}x"])
    lines = [f"### Runtime speed (one image per call, {rounds} alternating rounds)", "",
             common.markdown_table(["network", "threads", "engine", "p50 ms", "p90 ms", "runs",
                                    "time / lince int8"], rows), ""]
    for result in results:
        lines += ratio_lines(result)
    rejected = sorted({f"{r['network']} {mode}" for r in results for mode in r.get("rejected_exports", [])})
    lines += ["", "MobileNetV2 and MobileNetV3 have random weights (ImageNet weights need a download), so only "
              "their speed means anything."]
    if rejected:
        lines[-1] += (" These exports failed lince's int8 accuracy check and were timed anyway, because their "
                      "operations are those of a good export: " + ", ".join(rejected) + ".")
    lines += goal_lines(results)
    if points:
        lines += ["", "### Latency and top-1 accuracy (ImageNet sample)", "",
                  common.markdown_table(["model", "p50 ms", "top-1 %"],
                                        [[p["name"], f"{p['p50_ms']:.2f}", f"{p['top1']:.1f}"] for p in points])]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=200, help="timed calls per TFLite/ONNX engine")
    parser.add_argument("--rounds", type=int, default=10, help="alternating rounds the runs are spread over")
    parser.add_argument("--threads", default=f"1,{common.threads()}",
                        help="comma-separated thread counts (default: 1 and all cores)")
    parser.add_argument("--eval-limit", type=int, default=500, help="ImageNet sample images for accuracy (0: skip)")
    parser.add_argument("--networks", default=",".join(NETWORKS), help="comma-separated zoo names")
    args = parser.parse_args()
    common.setup_logging()
    common.require_fixtures()
    thread_counts = list(dict.fromkeys(int(part) for part in args.threads.split(",")))

    results, lite0_paths = [], None
    for network in args.networks.split(","):
        tflite = exports(network, LITE0_MODES if network == "efficientnet-lite0" else REQUIRED_MODES)
        if network == "efficientnet-lite0":
            lite0_paths = tflite
        results += [measure_network(network, tflite, threads, args.runs, args.rounds) for threads in thread_counts]
    points = []
    if args.eval_limit and lite0_paths:
        # The plot uses the figures at the largest thread count, as a robot program would run.
        widest = max(thread_counts)
        lite0 = next(r for r in results if r["network"] == "efficientnet-lite0" and r["threads"] == widest)
        p50_of = {mode: lite0["engines"][f"lince {mode}"]["p50_ms"] for mode in lite0_paths}
        if "ONNX Runtime int8" in lite0["engines"]:
            p50_of["ONNX Runtime int8"] = lite0["engines"]["ONNX Runtime int8"]["p50_ms"]
        points = accuracy_points(lite0_paths, p50_of, widest, args.eval_limit)
    text = summary(results, points, args.rounds)
    common.write_result("runtime_speed", {"thread_counts": thread_counts, "runs": args.runs, "rounds": args.rounds,
                                          "results": results, "accuracy_points": points, "markdown": text,
                                          "command": "python bench/runtime_speed.py"})
    print(text)


if __name__ == "__main__":
    main()
