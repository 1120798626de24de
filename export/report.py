"""The verification report written next to an exported model, as JSON and Markdown."""

import json
import logging
from pathlib import Path
from typing import Optional, Sequence

from lince.runtime.atomic import write_text_atomic

logger = logging.getLogger(__name__)


def report_paths(model_path: Path):
    """Return the ``(json, markdown)`` report paths of ``model_path``."""
    model_path = Path(model_path)
    base = model_path.with_suffix("")
    return base.with_name(base.name + ".report.json"), base.with_name(base.name + ".report.md")


def build_report(*, model: Path, mode: str, size_bytes: int, tensors, calibration, calibration_source,
                 evaluation, comparison, labels: Sequence[str], max_drop: Optional[float], passed: bool,
                 notes: Sequence[str] = ()) -> dict:
    """Collect everything the verification found into one JSON-ready document."""
    return {
        "model": str(model),
        "quantization": mode,
        "size_bytes": int(size_bytes),
        "tensors": tensors.to_dict() if tensors is not None else None,
        "calibration": None if calibration is None else {
            "source": str(calibration_source),
            "images": len(calibration.images),
            "files": [str(file) for file in calibration.files],
            "skipped": {str(file): reason for file, reason in calibration.skipped.items()},
        },
        "evaluation": None if evaluation is None else {
            "images": len(evaluation.images),
            "held_out": evaluation.held_out,
            "labelled": evaluation.labelled,
            "skipped": {str(file): reason for file, reason in evaluation.skipped.items()},
        },
        "comparison": None if comparison is None else _comparison(comparison, labels),
        "max_drop": max_drop,
        "passed": passed,
        "notes": list(notes),
    }


def _comparison(comparison, labels) -> dict:
    document = comparison.to_dict()
    for row in document["per_class"]:
        row["name"] = labels[row["class"]] if row["class"] < len(labels) else str(row["class"])
    return document


def write_report(document: dict, model_path: Path, overwrite: bool = True):
    """Write the report as JSON and Markdown next to ``model_path``; return both paths."""
    json_path, markdown_path = report_paths(model_path)
    write_text_atomic(json_path, json.dumps(document, indent=2, ensure_ascii=False) + "\n")
    write_text_atomic(markdown_path, render_markdown(document))
    logger.info("Wrote the verification report %s and %s", json_path, markdown_path)
    return json_path, markdown_path


def _percent(value) -> str:
    return "n/a" if value is None else f"{100 * value:.2f} %"


def render_markdown(document: dict) -> str:
    """Return the report as a Markdown page."""
    lines = [f"# Verification of `{Path(document['model']).name}`", "",
             f"- Quantization: **{document['quantization']}**, {document['size_bytes'] / 1e6:.2f} MB",
             f"- Result: **{'passed' if document['passed'] else 'FAILED'}**"
             + (f" (max drop {document['max_drop']} points)" if document["max_drop"] is not None else "")]
    if document.get("warning"):
        lines += ["", f"> **Warning: {document['warning']}**", ""]
    evaluation = document.get("evaluation")
    if evaluation and not evaluation["held_out"]:
        lines.append("- Checked on calibration images, not held-out ones: pass `--eval DIR` with other images "
                     "for a fair check.")
    tensors = document.get("tensors")
    if tensors:
        lines.append(f"- Weight types: {tensors['weights']}; input {tensors['input_type']}, "
                     f"output {tensors['output_type']}")
    for note in document.get("notes", []):
        lines.append(f"- {note}")
    comparison = document.get("comparison")
    if comparison:
        lines += ["", "## Quantized against float", "", "| metric | value |", "|---|---|",
                  f"| images | {comparison['images']} |",
                  f"| top-1 agreement | {_percent(comparison['top1_agreement'])} |",
                  f"| top-5 overlap | {_percent(comparison['top5_overlap'])} |",
                  f"| mean KL divergence | {comparison['mean_kl_divergence']:.5f} |",
                  f"| float top-1 accuracy | {_percent(comparison['source_accuracy'])} |",
                  f"| exported top-1 accuracy | {_percent(comparison['export_accuracy'])} |"]
        changed = [row for row in comparison["per_class"] if row["source_correct"] != row["export_correct"]]
        if changed:
            lines += ["", "## Classes whose accuracy changed", "", "| class | images | float correct | "
                      "exported correct |", "|---|---|---|---|"]
            lines += [f"| {row['name']} | {row['images']} | {row['source_correct']} | {row['export_correct']} |"
                      for row in changed]
    lines += _explain_lines(document)
    calibration = document.get("calibration")
    if calibration:
        lines += ["", "## Calibration", "", f"{calibration['images']} images from `{calibration['source']}`.", ""]
        if calibration["skipped"]:
            lines += ["Skipped:", ""] + [f"- `{file}`: {reason}" for file, reason in calibration["skipped"].items()]
        lines += ["", "<details><summary>Files used</summary>", ""]
        lines += [f"- `{file}`" for file in calibration["files"]] + ["", "</details>"]
    return "\n".join(lines) + "\n"


def _explain_lines(document: dict) -> list:
    lines = []
    if document.get("explain"):
        lines += ["", "## Layers with the largest int8 error", "",
                  "RMS error in quantization steps (rounding alone gives 0.29). Leave the worst in float with "
                  "`--keep-float TENSOR`.", "", "| RMS error / step | op | tensor |", "|---|---|---|"]
        lines += [f"| {layer['rmse_per_step']:.2f} | {layer['op']} | `{layer['tensor']}` |"
                  for layer in document["explain"]]
    tradeoff = document.get("keep_float")
    if tradeoff:
        lines += ["", "## Layers kept in float", "", ", ".join(f"`{name}`" for name in tradeoff["layers"]), "",
                  "| model | top-1 agreement | top-1 accuracy | size (MB) | median latency (ms) |",
                  "|---|---|---|---|---|"]
        for name in ("int8", "keep_float"):
            row = tradeoff[name]
            lines.append(f"| {name} | {_percent(row['top1_agreement'])} | {_percent(row['accuracy'])} | "
                         f"{row['size_bytes'] / 1e6:.2f} | {row['median_ms']:.2f} |")
    return lines
