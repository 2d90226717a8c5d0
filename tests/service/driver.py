"""A service process for the tests: the real `run_service` with a pass that writes what it does.

    python driver.py EVENTS_FILE MODE GRACE_SECONDS

MODE `staged`: the pass has ten 0.1 s stages and abandons between them when a stop is requested,
like the real pipeline. MODE `stuck`: the pass ignores the stop and sleeps for a minute.
Every event is one line in EVENTS_FILE: `start N`, `end N`, `abandoned N`.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from auditor import service
from auditor.telemetry import TelemetrySettings, setup_telemetry


def main() -> int:
    events, mode, grace = Path(sys.argv[1]), sys.argv[2], float(sys.argv[3])
    setup_telemetry(TelemetrySettings(exporter="none"))
    passes = 0

    def note(line: str) -> None:
        with events.open("a") as out:
            out.write(line + "\n")

    def run_pass() -> int:
        nonlocal passes
        passes += 1
        number = passes
        note(f"start {number}")
        if mode == "stuck":
            time.sleep(60)
        for _stage in range(10):
            if service.stop_requested.is_set():
                note(f"abandoned {number}")
                return 2
            time.sleep(0.1)
        note(f"end {number}")
        return 0

    return service.run_service(
        service.ScheduleSettings(check="* * * * * *", report="0 0 1 1 *"),
        run_pass=run_pass,
        send_report=lambda: 0,
        grace_seconds=grace,
    )


if __name__ == "__main__":
    sys.exit(main())
