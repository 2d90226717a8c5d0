"""One pass at a time: a `check --once` while another process holds the store lock exits 2."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

HOLDER = """
import sys, time
from auditor.store import HistoryStore
store = HistoryStore(sys.argv[1])
with store.pass_lock(timeout=5):
    print("locked", flush=True)
    time.sleep(float(sys.argv[2]))
"""


def test_a_concurrent_check_waits_its_bounded_time_then_exits_2_naming_the_lock(org: Path) -> None:
    config = org / "auditor.toml"
    text = config.read_text(encoding="utf-8")
    config.write_text(
        text.replace('url = "sqlite:///history.db"', 'url = "sqlite:///history.db"\nlock_timeout = 1')
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, f"sqlite:///{org / 'history.db'}", "30"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "locked"
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "auditor.cli", "check", "--once", "-c", str(config)],
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "OTEL_TRACES_EXPORTER": "none"},
        )
        waited = time.monotonic() - started
    finally:
        holder.kill()
        holder.wait()
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "lock" in lines[0]
    assert waited >= 1.0  # it waited for the configured lock_timeout before giving up
    # Once the holder is gone the next pass runs normally.
    again = subprocess.run(
        [sys.executable, "-m", "auditor.cli", "check", "--once", "-c", str(config)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert again.returncode == 1, again.stderr
