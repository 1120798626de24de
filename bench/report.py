"""Write ``docs/benchmarks.md`` and the latency/accuracy plot from one run of the suite."""

import json
from pathlib import Path
from typing import List

import common

DOC = common.REPO_ROOT / "docs" / "benchmarks.md"
PLOT = common.REPO_ROOT / "docs" / "benchmarks_latency_accuracy.png"


def machine_section(machine: dict) -> str:
    load = machine.get("load_average")
    governors = ", ".join(machine.get("governors") or []) or "not exposed (virtual machine)"
    rows = [
        ["CPU", f"{machine['cpu_model']}, {machine['cores']} logical cores"],
        ["frequency governor", governors],
        ["load average when this page was written (1, 5, 15 min)", ", ".join(f"{v:.2f}" for v in load) if load else "unknown"],
        ["system", machine["system"]],
        ["Python / NumPy / OpenCV", f"{machine['python']} / {machine['numpy']} / {machine['opencv']}"],
        ["TFLite interpreter", machine["litert"]],
        ["TensorFlow / Keras", f"{machine.get('tensorflow')} / {machine.get('keras')}"],
        ["ONNX Runtime / tf2onnx", f"{machine.get('onnxruntime')} / {machine.get('tf2onnx')}"],
    ]
    return common.markdown_table(["", ""], rows)


def plot_latency_accuracy(points: List[dict], path: Path = PLOT) -> bool:
    """Draw top-1 accuracy against median latency, one labelled dot per model; return whether drawn."""
    if not points:
        return False
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(10, 5), dpi=120)
    colors = plt.get_cmap("tab10")
    # A legend instead of text next to each dot: exports of one network lie too close to label in place.
    for number, point in enumerate(points):
        lince_export = "(lince)" in point["name"]
        axes.scatter(point["p50_ms"], point["top1"], s=60, marker="o" if lince_export else "s",
                     color=colors(number % 10),
                     label=f"{point['name']}: {point['p50_ms']:.1f} ms, {point['top1']:.1f} %")
    axes.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, frameon=False)
    axes.set_xscale("log")
    axes.set_xlabel("median latency per image, ms (log scale)")
    axes.set_ylabel("top-1 accuracy on the ImageNet sample, %")
    axes.set_title("Latency against accuracy (LiteRT, same machine, same run)")
    axes.grid(True, which="both", alpha=0.3)
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp.png")
    figure.savefig(temporary)
    plt.close(figure)
    temporary.replace(path)
    return True


def render(sections: List[dict], command: str) -> str:
    """Return the Markdown page; ``sections`` contains each script's name, output, exit code and seconds."""
    machine = common.machine_dict()
    goals = [line for s in sections for line in s["output"].splitlines() if line.startswith("Goal:")]
    parts = [
        "# Benchmarks",
        "",
        "Figures measured by the `bench/` suite. Every script times its contenders side by side in one run, "
        "in alternating rounds, so compare the ratios; absolute times depend on the machine and on its load "
        "at the time.",
        "",
        f"Re-run everything and regenerate this page and its plot with `{command}` (or `make bench`); "
        "it needs the export and bench extras (`pip install -e '.[export,bench]'`) and the shared fixtures "
        "(`LINCE_FIXTURES`). To measure your own models on your robot, use `lince benchmark` (see the end).",
        "",
        "## Machine",
        "",
        machine_section(machine),
        "",
    ]
    if goals:
        parts += ["## Goals", ""] + [f"- {goal[len('Goal:'):].strip()}" for goal in goals] + [""]
    for section in sections:
        quick = ", quick run with few samples" if section.get("quick") else ""
        parts += [f"## {section['name']}", "",
                  f"`python {section['script']}`: run on {section['date']}, {section['seconds']:.0f} s{quick}.", ""]
        output = section["output"].strip()
        if output and section["markdown"]:
            parts += [output, ""]
        elif output:
            parts += ["```text", output, "```", ""]
        if section["returncode"] != 0:
            # The loop and output scripts exit with 1 when they miss a goal, after printing their figures.
            parts += [f"**Exited with code {section['returncode']}** (a missed goal or a failure); the end of its "
                      "error output:", "", "```text", section["errors"].strip()[-1500:], "```", ""]
        if section["name"] == "runtime_speed" and PLOT.exists():
            parts += [f"![Latency against top-1 accuracy]({PLOT.name})", ""]
    parts += [
        "## Measuring your own models",
        "",
        "`lince benchmark` runs on the robot with the runtime alone (no TensorFlow). For example, to compare "
        "three exports of one network at 1 and 4 threads and pick the fastest whose top-1 accuracy stays "
        "within one point of the float model:",
        "",
        "```sh",
        "lince benchmark model_float32.tflite model_float16.tflite model_int8.tflite --threads 1,4 \\",
        "    --eval photos/ --max-drop 1",
        "```",
        "",
        "It warns when the CPU frequency governor is not `performance` or the load average is high, "
        "because both change the figures.",
        "",
    ]
    return "\n".join(parts)


def accuracy_points() -> List[dict]:
    path = common.RESULTS_DIR / "runtime_speed.json"
    if not path.exists():
        return []
    return json.loads(path.read_text()).get("accuracy_points", [])
