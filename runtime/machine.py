"""Describe the machine a benchmark runs on, and what would skew its figures.

Everything is read from ``/proc`` and ``/sys`` on Linux. A file that is absent
(another OS, a container without cpufreq) leaves its field empty instead of
failing, because a benchmark must still run there.
"""

import logging
import os
import platform
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import List, Optional, Tuple

from lince.runtime.errors import _

logger = logging.getLogger(__name__)

CPUFREQ_DIR = Path("/sys/devices/system/cpu")
CPUINFO = Path("/proc/cpuinfo")
LOADAVG = Path("/proc/loadavg")

# A one-minute load average above this fraction of the cores means other work
# competes with the benchmark for CPU time.
BUSY_LOAD_PER_CORE = 0.5


@dataclass(frozen=True)
class MachineInfo:
    """The hardware and software a measurement was taken on.

    Attributes:
        cpu_model: the CPU name from ``/proc/cpuinfo`` (or ``platform.processor()``).
        cores: logical CPUs the OS reports.
        governors: distinct CPU frequency governors of all cores (empty when
            cpufreq is not exposed, as in most virtual machines).
        load_average: the 1, 5 and 15-minute load averages, or ``None``.
        system: OS name, release and machine architecture.
        python, numpy, opencv, litert: versions of the software that runs the model.
    """

    cpu_model: str
    cores: int
    governors: Tuple[str, ...]
    load_average: Optional[Tuple[float, float, float]]
    system: str
    python: str
    numpy: str
    opencv: str
    litert: str

    def to_dict(self) -> dict:
        return asdict(self)


def _read_text(path: Path) -> Optional[str]:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


def cpu_model() -> str:
    """Return the CPU's marketing name, or the best substitute the OS offers."""
    text = _read_text(CPUINFO) or ""
    for line in text.splitlines():
        key, _sep, value = line.partition(":")
        # x86 says "model name"; Raspberry Pi kernels say "Model" (the board) and
        # some ARM kernels only "Hardware".
        if key.strip() in ("model name", "Model", "Hardware") and value.strip():
            return value.strip()
    return platform.processor() or platform.machine() or "unknown"


def cpu_governors(cpufreq_dir: Path = CPUFREQ_DIR) -> Tuple[str, ...]:
    """Return the distinct ``scaling_governor`` values of all CPUs (empty if not exposed)."""
    found = set()
    for path in sorted(cpufreq_dir.glob("cpu[0-9]*/cpufreq/scaling_governor")):
        value = _read_text(path)
        if value and value.strip():
            found.add(value.strip())
    return tuple(sorted(found))


def load_average(loadavg_path: Path = LOADAVG) -> Optional[Tuple[float, float, float]]:
    """Return the 1, 5 and 15-minute load averages, or ``None`` when unknown."""
    text = _read_text(loadavg_path)
    if text is not None:
        try:
            one, five, fifteen = (float(value) for value in text.split()[:3])
            return one, five, fifteen
        except ValueError:
            logger.debug("%s: unexpected content %r", loadavg_path, text)
    try:
        return os.getloadavg()
    except OSError:
        return None


def _distribution_version(distribution: str) -> str:
    from importlib import metadata

    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "unknown version"


def describe_machine() -> MachineInfo:
    """Collect the CPU, OS and library versions of this machine."""
    from lince.runtime.errors import MissingDependencyError
    from lince.runtime.interpreter import interpreter_class

    try:
        _cls, distribution = interpreter_class()
        litert = f"{distribution} {_distribution_version(distribution)}"
    except MissingDependencyError:
        # Describing the machine must work even where no model can run.
        litert = "not installed"
    import cv2
    import numpy

    return MachineInfo(
        cpu_model=cpu_model(),
        cores=os.cpu_count() or 1,
        governors=cpu_governors(),
        load_average=load_average(),
        system=f"{platform.system()} {platform.release()} {platform.machine()}",
        python=platform.python_version(),
        numpy=numpy.__version__,
        opencv=cv2.__version__,
        litert=litert,
    )


def measurement_warnings(machine: MachineInfo) -> List[str]:
    """Return the conditions of ``machine`` that make timings unreliable, as messages."""
    warnings = []
    slow_governors = [name for name in machine.governors if name != "performance"]
    if slow_governors:
        warnings.append(_(
            "the CPU frequency governor is {governors}, not 'performance': the clock may change during "
            "the run; for steady figures run 'echo performance | sudo tee "
            "/sys/devices/system/cpu/cpu*/cpufreq/scaling_governor'").format(governors=", ".join(slow_governors)))
    if machine.load_average is not None:
        one_minute = machine.load_average[0]
        if one_minute > BUSY_LOAD_PER_CORE * machine.cores:
            warnings.append(_(
                "the load average is {load:.2f} on {cores} cores: other programs compete for the CPU and "
                "will slow the figures down; close them or compare ratios from one run").format(
                    load=one_minute, cores=machine.cores))
    return warnings
