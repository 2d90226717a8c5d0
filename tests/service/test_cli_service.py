"""`auditor check` as a service, for real: the CLI on the sample organization, stopped by SIGTERM.

The Configuration partition export is a named pipe that the test writes, so the test decides when
each pass can read it: two passes get it at once and complete; the third is still reading it when
SIGTERM arrives and must abandon, leaving an incomplete snapshot and never a complete one.
"""

from __future__ import annotations

import errno
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


def open_fifo_for_writing(fifo: Path, service: ServiceProcess, timeout: float = 30) -> int:
    """Wait until a pass opens the pipe for reading (ENXIO until then), fail if the service died."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno != errno.ENXIO:
                raise
            if service.process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError("no pass opened the export:\n" + service.drain()) from None
            time.sleep(0.02)
            continue
        os.set_blocking(fd, True)
        return fd


def write_and_close(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
    os.close(fd)


def test_service_passes_complete_and_sigterm_abandons_the_pass_in_flight(tmp_path: Path) -> None:
    sample = Path(str(resources.files("auditor.sample").joinpath("auditor.toml")))
    if not sample.is_file():
        pytest.skip("the sample organization is not installed")
    folder = sample.parent
    configuration = (folder / "contoso-configuration.ldf").read_bytes()
    fifo = tmp_path / "configuration.ldf"
    os.mkfifo(fifo)
    text = sample.read_text().replace('= "pop0', f'= "{folder}/pop0')
    text = text.replace('"contoso-domain.ldf"', f'"{folder}/contoso-domain.ldf"')
    text = text.replace('"contoso-configuration.ldf"', f'"{fifo}"')
    text += f'\n[store]\nurl = "sqlite:///{tmp_path / "history.db"}"\n'
    config = tmp_path / "auditor.toml"
    config.write_text(text)
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env["AUDITOR_TEST_INTERVAL_SECONDS"] = "0.3"

    service = ServiceProcess(config, env)
    try:
        for _ in range(2):
            write_and_close(open_fifo_for_writing(fifo, service), configuration)
            service.wait_for_line("audit pass finished in")
        fd = open_fifo_for_writing(fifo, service)  # the third pass is reading the export now
        service.process.send_signal(signal.SIGTERM)
        service.wait_for_line("SIGTERM: stopping; no new pass will start")
        write_and_close(fd, configuration)
        service.process.wait(timeout=30)
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
