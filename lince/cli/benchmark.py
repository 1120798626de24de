"""``lince benchmark``: latency, memory, size and accuracy of models, side by side."""

import json
import os
from pathlib import Path

import click

from lince.i18n import _

# (header, Measurement -> cell text) of each column of the table.
COLUMNS = (
    ("model", lambda m, name: name),
    ("mode", lambda m, name: m.quantization),
    ("threads", lambda m, name: str(m.threads)),
    ("load ms", lambda m, name: f"{m.load_ms:.1f}"),
    ("p50 ms", lambda m, name: f"{m.p50_ms:.2f}"),
    ("p90 ms", lambda m, name: f"{m.p90_ms:.2f}"),
    ("p99 ms", lambda m, name: f"{m.p99_ms:.2f}"),
    ("inf/s", lambda m, name: f"{m.throughput:.1f}"),
    ("peak MiB", lambda m, name: f"{m.peak_rss_mb:.0f}"),
    ("size MB", lambda m, name: f"{m.size_bytes / 1e6:.2f}"),
)
ACCURACY_COLUMNS = (
    ("top-1 %", lambda m, name: f"{m.accuracy.top1:.1f}" if m.accuracy else "-"),
    ("top-5 %", lambda m, name: f"{m.accuracy.top5:.1f}" if m.accuracy else "-"),
)


def _parse_threads(ctx, param, value):
    """Turn ``"1,2,4"`` into ``(1, 2, 4)``; the default is 1 and the CPU count."""
    if value is None:
        return tuple(dict.fromkeys((1, os.cpu_count() or 1)))
    counts = []
    for part in value.split(","):
        part = part.strip()
        if not part.isdigit() or not 1 <= int(part) <= 64:
            raise click.BadParameter(_("{value!r}: give thread counts from 1 to 64 separated by commas, "
                                       "e.g. 1,2,4").format(value=value))
        counts.append(int(part))
    return tuple(dict.fromkeys(counts))


def display_names(models) -> dict:
    """Return a short name per model path: the file name, or the path when two names clash."""
    names = [Path(model).name for model in models]
    return {str(model): (name if names.count(name) == 1 else str(model)) for model, name in zip(models, names)}


def format_table(measurements, names) -> str:
    """Return the measurements as an aligned text table, one row per model and thread count."""
    columns = COLUMNS + (ACCURACY_COLUMNS if any(m.accuracy for m in measurements) else ())
    rows = [[header for header, _cell in columns]]
    rows += [[cell(m, names[m.model]) for _header, cell in columns] for m in measurements]
    widths = [max(len(row[i]) for row in rows) for i in range(len(columns))]
    lines = []
    for number, row in enumerate(rows):
        # The model name is left-aligned, the figures right-aligned.
        cells = [row[0].ljust(widths[0])] + [text.rjust(width) for text, width in zip(row[1:], widths[1:])]
        lines.append("  ".join(cells).rstrip())
        if number == 0:
            lines.append("  ".join("-" * width for width in widths))
    return "\n".join(lines)


def format_recommendation(recommendation, names) -> str:
    choice, reference = recommendation.choice, recommendation.reference
    if recommendation.drop >= 0:
        template = _("Recommendation: {model} ({mode}, threads={threads}): p50 {p50:.2f} ms, top-1 {top1:.1f} %, "
                     "{drop:.1f} points below {reference} ({reference_top1:.1f} %, allowed drop {max_drop:.1f}).")
    else:
        # A quantized model can score slightly higher than its float source on a small set.
        template = _("Recommendation: {model} ({mode}, threads={threads}): p50 {p50:.2f} ms, top-1 {top1:.1f} %, "
                     "{gain:.1f} points above {reference} ({reference_top1:.1f} %, allowed drop {max_drop:.1f}).")
    return template.format(
        model=names[choice.model], mode=choice.quantization, threads=choice.threads, p50=choice.p50_ms,
        top1=choice.accuracy.top1, drop=recommendation.drop, gain=-recommendation.drop,
        reference=names[reference.model], reference_top1=reference.accuracy.top1,
        max_drop=recommendation.max_drop)


def _speedups(measurements, names) -> list:
    """Return lines comparing each model's best p50 with the slowest model's, when several are measured."""
    best = {}
    for m in measurements:
        if m.model not in best or m.p50_ms < best[m.model].p50_ms:
            best[m.model] = m
    if len(best) < 2:
        return []
    slowest = max(best.values(), key=lambda m: m.p50_ms)
    return [_("{model}: {ratio:.2f}x the speed of {slowest} (best p50 of each)").format(
        model=names[m.model], ratio=slowest.p50_ms / m.p50_ms, slowest=names[slowest.model])
        for m in sorted(best.values(), key=lambda m: m.p50_ms) if m is not slowest]


@click.command(help=_("Measure TFLite MODEL files side by side: latency percentiles, throughput, load time, "
                      "peak memory, size and, with --eval, accuracy. Each model and thread count runs in its "
                      "own process, after warm-up runs."))
@click.argument("models", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--threads", callback=_parse_threads,
              help=_("Interpreter thread counts to measure, separated by commas (default: 1 and the CPU count)."))
@click.option("--runs", default=60, show_default=True, type=click.IntRange(1, 100000),
              help=_("Timed inferences per model and thread count, split over the rounds."))
@click.option("--rounds", default=3, show_default=True, type=click.IntRange(1, 100),
              help=_("Measure every model and thread count in this many turns, in alternating order, and merge "
                     "them, so that a change of load on the machine affects every model alike."))
@click.option("--warmup", default=5, show_default=True, type=click.IntRange(0, 10000),
              help=_("Untimed inferences before the timed ones."))
@click.option("--eval", "eval_data", type=click.Path(exists=True, path_type=Path),
              help=_("Labelled photos to measure top-1 accuracy on: a folder with one subfolder per class, or a "
                     "CSV file with 'file' and 'label' columns."))
@click.option("--eval-limit", type=click.IntRange(1), help=_("Use at most this many images of --eval."))
@click.option("--max-drop", default=1.0, show_default=True, type=click.FloatRange(0, 100),
              help=_("Top-1 accuracy, in percentage points, that the recommended model may lose against the "
                     "float model."))
@click.option("--reference", type=click.Path(path_type=Path),
              help=_("The model whose accuracy the others are compared with (default: the most accurate "
                     "float32 model)."))
@click.option("--labels", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help=_("Label file, one class name per line (default: the labels inside each model)."))
@click.option("--in-process", is_flag=True,
              help=_("Measure every model in this process instead of one process each (faster to start; the "
                     "peak memory then covers all models measured so far)."))
@click.option("--json", "as_json", is_flag=True, help=_("Print the results as one JSON object."))
def benchmark(models, threads, runs, rounds, warmup, eval_data, eval_limit, max_drop, reference, labels, in_process,
              as_json):
    from lince.runtime.benchmark import BenchmarkSettings, recommend
    from lince.runtime.benchmark import benchmark as run_benchmark
    from lince.runtime.errors import LinceError
    from lince.runtime.evaluation import load_labelled_images
    from lince.runtime.machine import describe_machine, measurement_warnings

    for model in models:
        if not model.is_file():
            raise LinceError(_("{path}: model file not found").format(path=model))
    if reference is not None and reference not in models:
        raise click.BadParameter(_("{path}: give one of the MODEL arguments").format(path=reference),
                                 param_hint="--reference")
    machine = describe_machine()
    warnings = measurement_warnings(machine)
    for warning in warnings:
        click.echo(_("Warning: {message}").format(message=warning), err=True)

    samples = load_labelled_images(eval_data, eval_limit) if eval_data else None
    settings = BenchmarkSettings(runs=runs, warmup=warmup, threads=threads, rounds=rounds, isolate=not in_process)
    results = run_benchmark(models, settings, samples=samples, labels=labels, progress=not as_json)
    recommendation = recommend(results, max_drop, reference) if samples else None
    names = display_names(models)

    if as_json:
        click.echo(json.dumps({
            "machine": machine.to_dict(), "warnings": warnings, "runs": runs, "rounds": rounds, "warmup": warmup,
            "results": [m.to_dict() for m in results],
            "recommendation": recommendation.to_dict() if recommendation else None,
        }, ensure_ascii=False))
        return
    click.echo(_("{cpu}, {cores} cores; {litert}; {runs} runs after {warmup} warm-up runs, {rounds} round(s).")
               .format(cpu=machine.cpu_model, cores=machine.cores, litert=machine.litert, runs=runs, warmup=warmup,
                       rounds=rounds))
    click.echo(format_table(results, names))
    for line in _speedups(results, names):
        click.echo(line)
    if recommendation is not None:
        for note in recommendation.notes:
            click.echo(_("Note: {message}").format(message=note))
        click.echo(format_recommendation(recommendation, names))
