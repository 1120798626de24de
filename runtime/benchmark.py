"""Measure a ``.tflite`` classifier: latency, load time, peak memory, size, accuracy.

It uses LiteRT through :class:`~lince.runtime.classifier.Classifier` and no
TensorFlow, so a Raspberry Pi with the runtime alone can measure its own models.

By default every (model, thread count) pair is measured in a fresh Python
process (``python -m lince.runtime.benchmark``). The peak resident memory is
then that of a program that loads and runs this one model, and the load time
is not helped by files or allocations left by an earlier model.
"""

import json
import logging
import math
import os
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy as np

from lince.runtime.errors import LinceError, _
from lince.runtime.evaluation import Accuracy, LabelledImage, evaluate

logger = logging.getLogger(__name__)

# The child process prints its result on one line that starts with this tag,
# so log lines that a library writes to stdout cannot be mistaken for it.
RESULT_TAG = "LINCE-BENCHMARK "


@dataclass(frozen=True)
class BenchmarkSettings:
    """How each model is measured.

    Attributes:
        runs: timed invocations per model and thread count, split evenly
            over the rounds (rounded up).
        warmup: untimed invocations before them, the first one included
            even when this is 0 (first calls allocate and pack weights, so
            they are slower than the steady state).
        threads: interpreter thread counts to measure, each one separately.
        rounds: times every (model, thread count) pair is measured, in
            alternating order; the figures merge all rounds.
        isolate: measure each model in its own process (see the module notes);
            ``False`` measures in this process, where the peak memory is the
            whole process's high-water mark.
        timeout: seconds one isolated measurement may take.
    """

    runs: int = 50
    warmup: int = 5
    threads: Tuple[int, ...] = (1,)
    rounds: int = 1
    isolate: bool = True
    timeout: float = 1800.0

    @property
    def runs_per_round(self) -> int:
        return max(1, math.ceil(self.runs / max(1, self.rounds)))


@dataclass(frozen=True)
class Measurement:
    """The figures of one model at one thread count.

    Attributes:
        model: the ``.tflite`` path.
        threads: interpreter threads.
        quantization: ``float32``, ``float16``, ``dynamic``, ``int8`` or ``int16x8``.
        size_bytes: file size.
        load_ms: time to build the classifier (interpreter, tensors, metadata).
        first_ms: the first invocation, which warm-up excludes from the percentiles.
        p50_ms, p90_ms, p99_ms, mean_ms: latency percentiles of one ``invoke()``.
        throughput: invocations per second over the timed runs, one at a time.
        peak_rss_mb: peak resident memory of the measuring process, in MiB.
        runs: timed invocations.
        accuracy: top-1/top-5 accuracy when an evaluation set was given.
        latencies_ms: the time of each timed invocation, kept for merging
            rounds and left out of :meth:`to_dict`.
    """

    model: str
    threads: int
    quantization: str
    size_bytes: int
    load_ms: float
    first_ms: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    mean_ms: float
    throughput: float
    peak_rss_mb: float
    runs: int
    accuracy: Optional[Accuracy] = None
    latencies_ms: Tuple[float, ...] = field(default=(), repr=False, compare=False)

    def to_dict(self, with_latencies: bool = False) -> dict:
        record = asdict(self)
        record["accuracy"] = self.accuracy.to_dict() if self.accuracy else None
        for key, value in record.items():
            if isinstance(value, float):
                record[key] = round(value, 3)
        if with_latencies:
            record["latencies_ms"] = list(self.latencies_ms)
        else:
            del record["latencies_ms"]
        return record

    @classmethod
    def from_dict(cls, record: dict) -> "Measurement":
        accuracy = record.get("accuracy")
        if accuracy:
            accuracy = Accuracy(**{**accuracy, "unknown_labels": tuple(accuracy["unknown_labels"])})
        return cls(**{**record, "accuracy": accuracy, "latencies_ms": tuple(record.get("latencies_ms", ()))})


def _latency_figures(latencies: np.ndarray, seconds: float) -> dict:
    p50, p90, p99 = np.percentile(latencies, [50, 90, 99])
    return {"p50_ms": float(p50), "p90_ms": float(p90), "p99_ms": float(p99), "mean_ms": float(latencies.mean()),
            "throughput": latencies.size / seconds if seconds > 0 else float("inf"), "runs": int(latencies.size)}


def merge_rounds(rounds: Sequence[Measurement]) -> Measurement:
    """Combine measurements of one model and thread count taken in several rounds.

    Percentiles are recomputed over all timed runs; load and first-call
    times are the medians of the rounds, the peak memory their maximum.
    """
    if len(rounds) == 1:
        return rounds[0]
    latencies = np.concatenate([np.asarray(m.latencies_ms) for m in rounds])
    seconds = sum(m.runs / m.throughput for m in rounds if m.throughput > 0)
    return replace(rounds[0], load_ms=float(np.median([m.load_ms for m in rounds])),
                   first_ms=float(np.median([m.first_ms for m in rounds])),
                   peak_rss_mb=max(m.peak_rss_mb for m in rounds), latencies_ms=tuple(latencies.tolist()),
                   **_latency_figures(latencies, seconds))


@dataclass(frozen=True)
class Recommendation:
    """The fastest model whose accuracy stays within ``max_drop`` points of the reference."""

    choice: Measurement
    reference: Measurement
    max_drop: float
    notes: List[str] = field(default_factory=list)

    @property
    def drop(self) -> float:
        return self.reference.accuracy.top1 - self.choice.accuracy.top1

    def to_dict(self) -> dict:
        return {"model": self.choice.model, "threads": self.choice.threads, "p50_ms": round(self.choice.p50_ms, 3),
                "top1": round(self.choice.accuracy.top1, 2), "reference": self.reference.model,
                "reference_top1": round(self.reference.accuracy.top1, 2), "drop": round(self.drop, 2),
                "max_drop": self.max_drop, "notes": self.notes}


def peak_rss_mb() -> float:
    """Return the peak resident memory of this process so far, in MiB."""
    try:
        # VmHWM belongs to the memory of this program. ru_maxrss would also
        # count the parent's memory that a process started by fork or vfork
        # held before exec: a measuring process started from a test runner
        # with TensorFlow loaded reports gigabytes it never used.
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        import resource
    except ImportError:  # Windows has no resource module.
        import psutil

        info = psutil.Process().memory_info()
        return getattr(info, "peak_wset", info.rss) / 2**20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return peak / 2**20 if sys.platform == "darwin" else peak / 1024


def detect_quantization(classifier) -> str:
    """Return the export mode of a model: from lince's metadata, else from its tensor types."""
    if classifier.info is not None and classifier.info.quantization:
        return classifier.info.quantization
    # Classifier keeps its interpreter private; tensor details are read-only.
    types = {np.dtype(detail["dtype"]) for detail in classifier._interpreter.get_tensor_details()}
    if classifier.input_dtype != np.float32:
        return "int16x8" if np.dtype(np.int16) in types else "int8"
    if np.dtype(np.float16) in types:
        return "float16"
    if types & {np.dtype(np.int8), np.dtype(np.uint8)}:
        return "dynamic"
    return "float32"


def _time_invocations(classifier, runs: int, warmup: int) -> Tuple[float, np.ndarray, float]:
    """Return the first call's ms, the ms of each timed run and their wall-clock seconds."""
    height, width = classifier.preprocessing.size
    # Convolution kernels take the same time whatever the pixel values, so random pixels stand in for a frame.
    image = np.random.default_rng(0).integers(0, 256, (height, width, 3), dtype=np.uint8)
    classifier.set_input(image)
    first_ms = classifier.invoke()
    for _step in range(max(0, warmup - 1)):
        classifier.invoke()
    latencies = np.empty(runs)
    start = time.perf_counter()
    for run in range(runs):
        latencies[run] = classifier.invoke()
    return first_ms, latencies, time.perf_counter() - start


def measure_model(model, threads: int, runs: int = 50, warmup: int = 5,
                  samples: Optional[Sequence[LabelledImage]] = None, labels=None,
                  progress: bool = False) -> Measurement:
    """Measure one model at one thread count in this process."""
    from lince.runtime.classifier import Classifier

    if runs < 1:
        raise LinceError(_("runs must be at least 1 (got {runs})").format(runs=runs))
    path = Path(model)
    start = time.perf_counter()
    classifier = Classifier(path, labels=labels, num_threads=threads)
    load_ms = (time.perf_counter() - start) * 1000.0
    first_ms, latencies, seconds = _time_invocations(classifier, runs, warmup)
    # Read before the evaluation, whose decoded photos are not the model's memory.
    peak_mb = peak_rss_mb()
    accuracy = evaluate(classifier, samples, progress=progress) if samples else None
    return Measurement(
        model=str(path), threads=threads, quantization=detect_quantization(classifier),
        size_bytes=path.stat().st_size, load_ms=load_ms, first_ms=first_ms, peak_rss_mb=peak_mb,
        accuracy=accuracy, latencies_ms=tuple(latencies.tolist()), **_latency_figures(latencies, seconds),
    )


def _measure_isolated(job: dict, timeout: float) -> Measurement:
    """Run one measurement in a new Python process and return its result."""
    command = [sys.executable, "-m", "lince.runtime.benchmark"]
    try:
        done = subprocess.run(command, input=json.dumps(job), capture_output=True, text=True, timeout=timeout,
                              env={**os.environ, "PYTHONUNBUFFERED": "1"})
    except subprocess.TimeoutExpired:
        raise LinceError(_("{path}: the measurement took more than {seconds:.0f} s and was stopped").format(
            path=job["model"], seconds=timeout)) from None
    for line in reversed(done.stdout.splitlines()):
        if line.startswith(RESULT_TAG):
            reply = json.loads(line[len(RESULT_TAG):])
            if "error" in reply:
                raise LinceError(reply["error"])
            return Measurement.from_dict(reply)
    details = (done.stderr.strip().splitlines() or ["no output"])[-1]
    raise LinceError(_("{path}: the measuring process failed with exit code {code}: {details}").format(
        path=job["model"], code=done.returncode, details=details))


def _measure_pair(path: Path, threads: int, settings: "BenchmarkSettings", samples, labels,
                  progress: bool) -> Measurement:
    runs = settings.runs_per_round
    if not settings.isolate:
        return measure_model(path, threads, runs, settings.warmup, samples, labels, progress)
    job = {"model": str(path), "threads": threads, "runs": runs, "warmup": settings.warmup,
           "labels": None if labels is None else str(labels),
           "samples": [asdict(sample) for sample in samples] if samples else None}
    return _measure_isolated(job, settings.timeout)


def benchmark(models: Sequence, settings: BenchmarkSettings = BenchmarkSettings(),
              samples: Optional[Sequence[LabelledImage]] = None, labels=None,
              progress: bool = False) -> List[Measurement]:
    """Measure every model at every thread count of ``settings``, in ``settings.rounds`` rounds.

    Each round measures every pair once, in the same order, so that a change
    of load on the machine affects all models alike; the rounds of a pair are
    then merged. Accuracy does not depend on the thread count, so the
    evaluation set runs once per model, in the first round at its first
    thread count, and that figure is copied to the model's other rows.
    """
    from tqdm import tqdm

    pairs = [(Path(model), threads) for model in models for threads in settings.threads]
    rounds = {pair: [] for pair in pairs}
    accuracy_of = {}
    steps = [pair for _round in range(settings.rounds) for pair in pairs]
    # disable=None lets tqdm turn itself off when stderr is not a terminal.
    for path, threads in tqdm(steps, desc="benchmark", unit="run", disable=None if progress else True, leave=False):
        with_eval = samples if path not in accuracy_of else None
        result = _measure_pair(path, threads, settings, with_eval, labels, progress)
        if with_eval:
            accuracy_of[path] = result.accuracy
        elif samples:
            result = replace(result, accuracy=accuracy_of[path])
        rounds[(path, threads)].append(result)
    return [merge_rounds(rounds[pair]) for pair in pairs]


def _is_float(measurement: Measurement) -> bool:
    return measurement.quantization == "float32"


def recommend(measurements: Sequence[Measurement], max_drop: float,
              reference: Optional[str] = None) -> Optional[Recommendation]:
    """Pick the fastest model (at its best thread count) within ``max_drop`` top-1 points of the reference.

    The reference is the model named ``reference``, else the most accurate
    float32 model, else the most accurate model. Returns ``None`` without
    accuracy figures.
    """
    scored = [m for m in measurements if m.accuracy is not None and m.accuracy.images > 0]
    if not scored:
        return None
    fastest = {}
    for measurement in scored:
        best = fastest.get(measurement.model)
        if best is None or measurement.p50_ms < best.p50_ms:
            fastest[measurement.model] = measurement
    notes = []
    if reference is not None:
        chosen = [m for m in fastest.values() if Path(m.model) == Path(reference)]
        if not chosen:
            raise LinceError(_("--reference {path}: not among the measured models").format(path=reference))
        base = chosen[0]
    else:
        floats = [m for m in fastest.values() if _is_float(m)]
        if not floats:
            notes.append(_("no float32 model was measured; the most accurate model is the reference"))
        base = max(floats or fastest.values(), key=lambda m: m.accuracy.top1)
    within = [m for m in fastest.values() if base.accuracy.top1 - m.accuracy.top1 <= max_drop]
    choice = min(within, key=lambda m: m.p50_ms)
    return Recommendation(choice=choice, reference=base, max_drop=max_drop, notes=notes)


def _child_main() -> int:
    """Measure the job read from stdin and print the result on one tagged line."""
    # The language of the parent's command line, for error messages.
    from lince.i18n import setup_language

    setup_language()
    job = json.loads(sys.stdin.read())
    samples = [LabelledImage(**sample) for sample in job["samples"]] if job.get("samples") else None
    try:
        result = measure_model(job["model"], job["threads"], job["runs"], job["warmup"], samples, job["labels"])
    except LinceError as error:
        sys.stdout.write(RESULT_TAG + json.dumps({"error": str(error)}) + "\n")
        return 1
    sys.stdout.write(RESULT_TAG + json.dumps(result.to_dict(with_latencies=True)) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(_child_main())
