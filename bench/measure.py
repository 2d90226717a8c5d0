"""What every bench measures the same way: a process's wall time and peak RSS, ratios, result lines.

Peak RSS is the kernel's high-water mark of the process's resident set (`ru_maxrss` of the child,
from `os.wait4`; `VmHWM` for the bench's own process), so it counts what tracemalloc cannot see:
the interpreter, C extensions, fragmentation, buffers of the database drivers.

A bench prints each ratio it measured on a line of its own starting with `RATIO` (see `ratio_line`)
so that run_all.py can gather them into one summary.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Measured", "fmt_ratio", "peak_rss_mib", "ratio_line", "rss_mib", "run_measured"]

REPO = Path(__file__).resolve().parents[1]


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
    """Run `command` to its end (stdout discarded) and measure it; exits the bench if its status is not in `ok`."""
    environment = {
        **os.environ,
        "OTEL_TRACES_EXPORTER": "none",
        "OTEL_METRICS_EXPORTER": "none",
        **(env or {}),
    }
    started = time.perf_counter()
    process = subprocess.Popen(
        list(command), cwd=cwd, env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    assert process.stderr is not None
    stderr = process.stderr.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - started
    process.returncode = os.waitstatus_to_exitcode(status)
    measured = Measured(label, process.returncode, seconds, usage.ru_maxrss / 1024, stderr)
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
