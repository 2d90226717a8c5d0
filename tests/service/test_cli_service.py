"""`auditor check` as a service, for real: the CLI on the sample organization, stopped by SIGTERM.

The domain export is the sample's plus 10,000 users, so reading it takes a while: two passes
complete; SIGTERM arrives as soon as the third has started, while it is still collecting, and it
must abandon, leaving an incomplete snapshot and never a complete one. (Exports must be regular
files, so a named pipe can no longer hold a pass.)
"""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
from importlib import resources
from pathlib import Path

import pytest

from tests.conftest import bulk_users

pytest.importorskip("auditor.cli")

AUDITOR = str(Path(sys.executable).with_name("auditor"))


class ServiceProcess:
    """`auditor check -c CONFIG` with its stderr lines collected as they come."""

    def __init__(self, config: Path, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            [AUDITOR, "check", "-c", str(config)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self.lines: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, daemon=True).start()

    def _pump(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            self.lines.put(line.rstrip("\n"))

    def wait_for_line(self, fragment: str, timeout: float = 30) -> str:
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no log line with {fragment!r}; got:\n" + "\n".join(self.seen))
            try:
                line = self.lines.get(timeout=remaining)
            except queue.Empty:
                continue
            self.seen.append(line)
            if fragment in line:
                return line

    def drain(self) -> str:
        while True:
            try:
                self.seen.append(self.lines.get(timeout=0.5))
            except queue.Empty:
                return "\n".join(self.seen)


def test_service_passes_complete_and_sigterm_abandons_the_pass_in_flight(tmp_path: Path) -> None:
    sample = Path(str(resources.files("auditor.sample").joinpath("auditor.toml")))
    if not sample.is_file():
        pytest.skip("the sample organization is not installed")
    folder = sample.parent
    domain = tmp_path / "domain.ldf"
    sample_domain = (folder / "contoso-domain.ldf").read_text(encoding="utf-8")
    domain.write_text(sample_domain.rstrip("\r\n") + "\n\n" + bulk_users(10_000), encoding="utf-8")
    text = sample.read_text().replace('= "pop0', f'= "{folder}/pop0')
    text = text.replace('"contoso-domain.ldf"', f'"{domain}"')
    text = text.replace('"contoso-configuration.ldf"', f'"{folder}/contoso-configuration.ldf"')
    text += f'\n[store]\nurl = "sqlite:///{tmp_path / "history.db"}"\n'
    config = tmp_path / "auditor.toml"
    config.write_text(text)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env["AUDITOR_TEST_INTERVAL_SECONDS"] = "0.3"

    service = ServiceProcess(config, env)
    try:
        for _ in range(2):
            service.wait_for_line("audit pass finished in", timeout=120)
        service.wait_for_line("audit pass started")  # the third pass is reading the exports now
        service.process.send_signal(signal.SIGTERM)
        service.wait_for_line("SIGTERM: stopping; no new pass will start")
        service.process.wait(timeout=60)
    finally:
        service.process.kill()
    log = service.drain()
    assert service.process.returncode == 0, log
    assert "audit pass abandoned after" in log
    assert "shutdown requested during collection; pass abandoned" in log
    assert "service stopped" in log
    assert "Traceback" not in log

    history = subprocess.run(
        [AUDITOR, "history", "-c", str(config), "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=True,
    )
    snapshots = json.loads(history.stdout)["snapshots"]  # newest first
    assert [s["complete"] for s in snapshots] == [False, True, True]
    assert snapshots[1]["objects"] == snapshots[2]["objects"] > 0
