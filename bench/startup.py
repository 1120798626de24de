"""Start-up cost: time and peak resident memory from process start to the first result.

Compares, on the first frame of the fixture video:

- ``lince run`` with the int8 EfficientNet-Lite0 export (LiteRT, no TensorFlow),
- ``lince classify`` with the same model,
- a TensorFlow loop: import TensorFlow, load the Keras model, classify the frame.

Time is measured to the first result line on stdout; memory is the peak
resident set size of the whole process (``ru_maxrss`` from ``wait4``; the
export runs in another process, because a child's figure starts from its
parent's resident memory). A
second run of ``lince run`` under ``python -X importtime`` lists every module
it imports, to check that TensorFlow is not among them.

Run: ``python bench/startup.py [--repeat N]``.
"""

import argparse
import os
import subprocess
import sys
import textwrap
import time

import numpy as np

import common

RSS_LIMIT_MB = 150.0

TENSORFLOW_LOOP = textwrap.dedent("""
    import sys
    import cv2
    import numpy as np
    import keras

    model_path, video, labels_path = sys.argv[1:4]
    model = keras.models.load_model(model_path, compile=False)
    labels = open(labels_path, encoding="utf-8").read().splitlines()
    capture = cv2.VideoCapture(video)
    ok, frame = capture.read()
    image = cv2.resize(cv2.cvtColor(frame, cv2.COLOR_BGR2RGB), (224, 224)).astype(np.float32)
    probabilities = model((image[np.newaxis] - 127.0) / 128.0, training=False).numpy()[0]
    print("frame 1:", labels[int(probabilities.argmax())], flush=True)
""")


def first_result(command, marker: str) -> dict:
    """Start ``command``; return seconds to its first output line starting with ``marker`` and its peak RSS.

    stdout and stderr are read as one stream, because ``lince run`` prints
    its results on stderr when stdout is not a terminal.
    """
    env = {**os.environ, "LINCE_LANG": "en", "TF_CPP_MIN_LOG_LEVEL": "2", "PYTHONUNBUFFERED": "1"}
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    seconds = None
    output = []
    for line in process.stdout:
        output.append(line)
        if seconds is None and line.startswith(marker):
            seconds = time.perf_counter() - start
    # wait4 reaps the child and returns its resource usage, including the peak RSS.
    _pid, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode != 0 or seconds is None:
        text = "".join(output)[-2000:]
        raise SystemExit(f"bench: {' '.join(map(str, command))} failed ({process.returncode}):\n{text}")
    return {"seconds": seconds, "peak_rss_mb": usage.ru_maxrss / 1024.0}


def export_in_child():
    """Return the int8 EfficientNet-Lite0 export, made (or found in the cache) by another process.

    A child's ``ru_maxrss`` starts from the resident memory its parent had
    when it forked: exporting here would load TensorFlow into this process,
    and every figure below would then read more than a gigabyte.
    """
    code = ("import common; print(common.export_tflite(common.LITE0_KERAS, 'efficientnet-lite0', 'int8', "
            "normalization=common.lite0_normalization(), labels=common.IMAGENET_LABELS, crop='center', "
            "crop_fraction=0.875))")
    done = subprocess.run([sys.executable, "-c", code], cwd=common.BENCH_DIR, capture_output=True, text=True)
    if done.returncode != 0:
        raise SystemExit(f"bench: the int8 export failed:\n{done.stderr[-2000:]}")
    return done.stdout.strip().splitlines()[-1]


def imports_tensorflow(command) -> bool:
    """Run a ``python -m lince`` command with ``-X importtime`` and return whether TensorFlow was imported."""
    done = subprocess.run([sys.executable, "-X", "importtime", *command[1:]], capture_output=True, text=True,
                          env={**os.environ, "LINCE_LANG": "en"}, timeout=300)
    modules = [line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines() if line.startswith("import time")]
    return any(name.split(".")[0] in ("tensorflow", "keras") for name in modules)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3, help="runs of each command (alternating)")
    args = parser.parse_args()
    common.setup_logging()
    common.require_fixtures()

    int8 = export_in_child()
    python = sys.executable
    commands = {
        "lince run (LiteRT)": ([python, "-m", "lince", "run", str(int8), "--source", str(common.VIDEO),
                                "--frames", "1", "--no-realtime", "--print", "all", "--no-window"], "frame "),
        "lince classify (LiteRT)": ([python, "-m", "lince", "classify", str(int8), str(common.PHOTOS / "cat.bmp")],
                                    str(common.PHOTOS)),
        "TensorFlow + Keras loop": ([python, "-c", TENSORFLOW_LOOP, str(common.LITE0_KERAS), str(common.VIDEO),
                                     str(common.IMAGENET_LABELS)], "frame 1"),
    }
    samples = {name: [] for name in commands}
    for _ in range(args.repeat):
        for name, (command, marker) in commands.items():
            samples[name].append(first_result(command, marker))
    figures = {name: {"seconds": float(np.median([s["seconds"] for s in runs])),
                      "peak_rss_mb": float(max(s["peak_rss_mb"] for s in runs))} for name, runs in samples.items()}
    run_command = commands["lince run (LiteRT)"][0]
    run_imports_tf = imports_tensorflow(run_command)

    # This process's memory is the floor of every child's peak figure.
    floor = common.resident_mb()
    if floor > 0.5 * min(f["peak_rss_mb"] for f in figures.values()):
        common.logger.warning("this process uses %.0f MiB, which every peak figure includes", floor)
    text = summary(figures, run_imports_tf, args.repeat)
    common.write_result("startup", {"figures": figures, "lince_run_imports_tensorflow": run_imports_tf,
                                    "repeat": args.repeat, "markdown": text,
                                    "command": "python bench/startup.py"})
    print(text)


def summary(figures: dict, run_imports_tf: bool, repeat: int) -> str:
    tf_loop = figures["TensorFlow + Keras loop"]
    rows = [[name, f"{f['seconds']:.2f}", f"{f['peak_rss_mb']:.0f}",
             f"{tf_loop['seconds'] / f['seconds']:.1f}x", f"{tf_loop['peak_rss_mb'] / f['peak_rss_mb']:.1f}x"]
            for name, f in figures.items()]
    run = figures["lince run (LiteRT)"]
    goal_met = run["peak_rss_mb"] < RSS_LIMIT_MB and not run_imports_tf
    return "\n".join([
        f"### Start-up to the first result (median of {repeat} runs, peak RSS of the whole process)", "",
        common.markdown_table(["program", "seconds", "peak RSS MiB", "TF loop time / this", "TF loop RSS / this"],
                              rows), "",
        f"Goal: `lince run` reaches its first result under {RSS_LIMIT_MB:.0f} MiB "
        f"({run['peak_rss_mb']:.0f} MiB) without importing TensorFlow "
        f"({'imported' if run_imports_tf else 'not imported'}, checked with `python -X importtime`): "
        f"**{common.verdict(goal_met)}**.",
    ])


if __name__ == "__main__":
    main()
