"""Run every bench/ script and regenerate ``docs/benchmarks.md`` and its plot.

Scripts run one after the other, each in its own process, so that one
script's memory and threads do not affect the next. A script that fails is
reported in the page, and this command then exits with status 1.

Run: ``python bench/run_all.py [--only NAME,...] [--quick]`` (``make bench``).
"""

import argparse
import json
import importlib.util
import subprocess
import sys
import time
from pathlib import Path

import common
import report

# Modules of the suite that are not benchmarks themselves.
HELPERS = {"common", "report", "run_all"}
# These print Markdown; any other script's output is shown as plain text.
MARKDOWN_SCRIPTS = ("runtime_speed", "pipeline_speed", "startup", "export_time")
# Fewer runs, for checking that the suite works rather than for the figures.
QUICK_ARGUMENTS = {
    "runtime_speed": ["--runs", "40", "--eval-limit", "100"],
    "pipeline_speed": ["--frames", "100", "--rounds", "1"],
    "startup": ["--repeat", "1"],
    "export_time": ["--models", "tiny-cnn,mobilenetv3-small"],
}
COMMAND = "python bench/run_all.py"


def discover() -> list:
    """Return the bench scripts: lince's own first, in a fixed order, then the others by name."""
    found = sorted(path.stem for path in common.BENCH_DIR.glob("*.py") if path.stem not in HELPERS)
    return [name for name in MARKDOWN_SCRIPTS if name in found] + [n for n in found if n not in MARKDOWN_SCRIPTS]


def run_script(name: str, quick: bool) -> dict:
    script = Path("bench") / f"{name}.py"
    command = [sys.executable, str(common.BENCH_DIR / f"{name}.py")]
    if quick:
        command += QUICK_ARGUMENTS.get(name, [])
    print(f"== {script}", file=sys.stderr, flush=True)
    common.RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    start = time.perf_counter()
    done = subprocess.run(command, cwd=common.REPO_ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    seconds = time.perf_counter() - start
    print(done.stdout, flush=True)
    if done.returncode != 0:
        print(done.stderr[-3000:], file=sys.stderr, flush=True)
    return {"name": name, "script": str(script), "output": done.stdout, "errors": done.stderr[-3000:],
            "returncode": done.returncode, "seconds": seconds, "markdown": name in MARKDOWN_SCRIPTS, "quick": quick,
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", help="comma-separated script names (default: all)")
    parser.add_argument("--quick", action="store_true", help="few runs: checks the suite, not the figures")
    parser.add_argument("--report-only", action="store_true",
                        help="rewrite the page from the figures of the last run, running nothing")
    args = parser.parse_args()
    common.require_fixtures()
    missing = [module for module in ("onnxruntime", "tf2onnx", "matplotlib") if importlib.util.find_spec(module) is None]
    if missing:
        print(f"run_all: {', '.join(missing)} not installed: the ONNX Runtime comparison or the plot will be "
              "missing; install them with: pip install -e '.[export,bench]'", file=sys.stderr)

    names = discover()
    if args.only:
        wanted = args.only.split(",")
        unknown = sorted(set(wanted) - set(names))
        if unknown:
            sys.exit(f"run_all: unknown script(s) {', '.join(unknown)}; choose from {', '.join(names)}")
        names = [name for name in names if name in wanted]
    sections = []
    for name in discover():
        if name in names and not args.report_only:
            section = run_script(name, args.quick)
            (common.RESULTS_DIR / f"{name}.section.json").write_text(json.dumps(section, indent=2) + "\n")
            sections.append(section)
            continue
        # With --only, the other scripts keep the figures of their last run, each section dated.
        saved = common.RESULTS_DIR / f"{name}.section.json"
        if saved.exists():
            sections.append(json.loads(saved.read_text()))

    # The plot shows this run's figures only: a failed or skipped runtime_speed leaves no plot.
    report.PLOT.unlink(missing_ok=True)
    speed = next((s for s in sections if s["name"] == "runtime_speed"), None)
    if speed is not None and speed["returncode"] == 0:
        report.plot_latency_accuracy(report.accuracy_points())
    from lince.runtime.atomic import write_text_atomic

    write_text_atomic(report.DOC, report.render(sections, COMMAND))
    print(f"wrote {report.DOC.relative_to(common.REPO_ROOT)}", file=sys.stderr)
    return 1 if any(s["returncode"] != 0 for s in sections) else 0


if __name__ == "__main__":
    sys.exit(main())
