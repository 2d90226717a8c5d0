"""What every bench measures the same way: a process's wall time and peak RSS, ratios, result lines.

Peak RSS is the kernel's high-water mark of the process's resident set (`%M` of GNU time for a
child, see `run_measured`; `VmHWM` for the bench's own process), so it counts what tracemalloc
cannot see: the interpreter, C extensions, fragmentation, buffers of the database drivers.

A bench prints each ratio it measured on a line of its own starting with `RATIO` (see `ratio_line`)
so that run_all.py can gather them into one summary.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Measured", "fmt_ratio", "peak_rss_mib", "ratio_line", "rss_mib", "run_measured"]

REPO = Path(__file__).resolve().parents[1]
GNU_TIME = "/usr/bin/time" if Path("/usr/bin/time").exists() else shutil.which("time") or ""


@dataclass(frozen=True, slots=True)
class Measured:
    """One process run: exit status, wall seconds, peak RSS in MiB, and what it wrote on stderr."""

    label: str
    status: int
    seconds: float
    peak_rss_mib: float
    stderr: str

    def line(self) -> str:
        return f"{self.label:<34} {self.seconds:8.2f} s   peak RSS {self.peak_rss_mib:7.1f} MiB   (exit {self.status})"


def run_measured(
    label: str,
    command: Sequence[str],
    *,
    cwd: Path,
    ok: Sequence[int] = (0,),
    env: dict[str, str] | None = None,
) -> Measured:
    """Run `command` to its end (stdout discarded) and measure it; exits the bench if its status is not in `ok`.

    The peak RSS comes from GNU time, which starts the command itself: a process forked from a
    large one inherits that one's resident set in its own high-water mark (`ru_maxrss` survives
    exec), so a bench holding 800 MiB of records would see every child "peak" at 800 MiB. Forked
    from `time` (1 MiB), the command's figure is its own. Without /usr/bin/time, os.wait4 is used.
    """
    environment = {
        **os.environ,
        "OTEL_TRACES_EXPORTER": "none",
        "OTEL_METRICS_EXPORTER": "none",
        **(env or {}),
    }
    with tempfile.NamedTemporaryFile("r", prefix="auditor-bench-time-") as report:
        wrapped = [GNU_TIME, "-f", "%M", "-o", report.name, *command] if GNU_TIME else list(command)
        started = time.perf_counter()
        process = subprocess.Popen(
            wrapped, cwd=cwd, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        assert process.stderr is not None
        stderr = process.stderr.read()
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        kib = float(usage.ru_maxrss)
        if GNU_TIME:
            lines = [line for line in report.read().splitlines() if line.strip()]
            if lines and lines[-1].strip().isdigit():
                kib = float(lines[-1])
    measured = Measured(label, process.returncode, seconds, kib / 1024, stderr)
    if measured.status not in ok:
        raise SystemExit(f"{label}: {' '.join(command)} exited {measured.status}:\n{stderr.strip()}")
    return measured


def _status_kib(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return float(line.split()[1])
    return 0.0


def rss_mib() -> float:
    """This process's resident set now."""
    return _status_kib("VmRSS") / 1024


def peak_rss_mib() -> float:
    """This process's resident-set high-water mark so far."""
    return _status_kib("VmHWM") / 1024


def fmt_ratio(numerator: float, denominator: float) -> str:
    return f"{numerator / denominator:.2f}" if denominator else "n/a"


def ratio_line(name: str, numerator: float, denominator: float, detail: str = "") -> str:
    """`RATIO name = value   (detail)`: one measured ratio, gathered by run_all.py into its summary."""
    text = f"RATIO {name:<52} {fmt_ratio(numerator, denominator):>6}"
    return f"{text}   ({detail})" if detail else text


def python() -> str:
    return sys.executable
