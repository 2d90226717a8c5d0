"""The long-running service: passes on schedule, never twice at once, survives failures, stops cleanly."""

from __future__ import annotations

import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from auditor import service
from auditor.errors import ConfigError, StoreError
from auditor.service import ScheduleSettings, request_stop, run_service

DRIVER = Path(__file__).with_name("driver.py")
NEVER = "0 0 1 1 *"


def wait_for(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(0.02)


class ServiceThread:
    """`run_service` on a thread (signals are for the main thread; the tests use request_stop)."""

    def __init__(
        self,
        schedule: ScheduleSettings,
        run_pass: Callable[[], int],
        send_report: Callable[[], int] = lambda: 0,
        record_pass: Callable[[float, bool], None] | None = None,
    ) -> None:
        self.result: int | None = None
        self.thread = threading.Thread(
            target=self._run, args=(schedule, run_pass, send_report, record_pass), name="service-under-test"
        )

    def _run(
        self,
        schedule: ScheduleSettings,
        run_pass: Callable[[], int],
        send_report: Callable[[], int],
        record_pass: Callable[[float, bool], None] | None,
    ) -> None:
        self.result = run_service(
            schedule, run_pass=run_pass, send_report=send_report, record_pass=record_pass
        )

    def stop(self, timeout: float = 10) -> int | None:
        request_stop()
        self.thread.join(timeout)
        assert not self.thread.is_alive(), "service did not stop"
        return self.result


@pytest.fixture
def fast_interval(monkeypatch: pytest.MonkeyPatch) -> Iterator[float]:
    """The documented test hook: the check pass every 0.25 s instead of its cron schedule."""
    monkeypatch.setenv(service.TEST_INTERVAL_VARIABLE, "0.25")
    yield 0.25


def test_overrunning_pass_never_runs_twice_at_once() -> None:
    lock = threading.Lock()
    running = 0
    most = 0
    finished = 0

    def slow_pass() -> int:
        nonlocal running, most, finished
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(1.3)  # longer than the one-second schedule
        with lock:
            running -= 1
            finished += 1
        return 0

    svc = ServiceThread(ScheduleSettings(check="* * * * * *", report=NEVER), slow_pass)
    svc.thread.start()
    wait_for(lambda: finished >= 2, 8, "two slow passes")
    assert svc.stop() == 0
    assert most == 1
    assert running == 0


def test_failing_pass_keeps_the_service_running(
    fast_interval: float, caplog: pytest.LogCaptureFixture
) -> None:
    outcomes: list[int | Exception] = [
        RuntimeError("bug in a check"),
        2,
        StoreError("store.url: database is locked"),
        1,
        0,
    ]
    calls = 0

    def flaky_pass() -> int:
        nonlocal calls
        outcome = outcomes[min(calls, len(outcomes) - 1)]
        calls += 1
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    recorded: list[bool] = []
    caplog.set_level(logging.INFO, logger="auditor.service")
    svc = ServiceThread(
        ScheduleSettings(check="0 */4 * * *", report=NEVER),
        flaky_pass,
        record_pass=lambda _seconds, ok: recorded.append(ok),
    )
    svc.thread.start()
    wait_for(lambda: len(recorded) >= 6, 6, "six passes")
    assert svc.stop() == 0
    assert recorded[:6] == [False, False, False, True, True, True]
    messages = [r.getMessage() for r in caplog.records if r.name == "auditor.service"]
    assert any(m.startswith("audit pass failed after") and "unexpected error" in m for m in messages)
    assert any(
        m.startswith("audit pass could not complete after") and m.endswith("(exit 2)") for m in messages
    )
    assert any(m.endswith(": store.url: database is locked") for m in messages)
    assert any(m.startswith("audit pass finished in") and m.endswith("(exit 1)") for m in messages)
    assert any(m.startswith("audit pass finished in") and m.endswith("(exit 0)") for m in messages)
    assert sum(m == "audit pass started" for m in messages) == calls


def test_report_and_pass_never_overlap(fast_interval: float) -> None:
    lock = threading.Lock()
    active: set[str] = set()
    overlaps = 0
    runs = {"pass": 0, "report": 0}

    def work(name: str) -> int:
        nonlocal overlaps
        with lock:
            if active:
                overlaps += 1
            active.add(name)
        time.sleep(0.2)
        with lock:
            active.discard(name)
            runs[name] += 1
        return 0

    svc = ServiceThread(
        ScheduleSettings(check=NEVER, report="* * * * * *"),
        lambda: work("pass"),
        send_report=lambda: work("report"),
    )
    svc.thread.start()
    wait_for(lambda: runs["report"] >= 2 and runs["pass"] >= 2, 6, "two reports and two passes")
    assert svc.stop() == 0
    assert overlaps == 0


def test_stop_before_the_first_slot_returns_at_once_without_a_pass() -> None:
    calls = 0

    def never_called() -> int:
        nonlocal calls
        calls += 1
        return 0

    svc = ServiceThread(ScheduleSettings(check=NEVER, report=NEVER), never_called)
    started = time.monotonic()
    svc.thread.start()
    wait_for(lambda: svc.thread.is_alive(), 2, "the service thread")
    time.sleep(0.3)
    assert svc.stop() == 0
    assert time.monotonic() - started < 2
    assert calls == 0


@pytest.mark.parametrize(
    ("schedule", "message"),
    [
        (ScheduleSettings(check="every hour"), "schedule.check: invalid cron expression 'every hour'"),
        (
            ScheduleSettings(report="0 7 * * funday"),
            "schedule.report: invalid cron expression '0 7 * * funday'",
        ),
        (ScheduleSettings(tz="Nowhere/Town"), "schedule.tz: 'Nowhere/Town' is not a known time zone"),
    ],
)
def test_invalid_schedule_fails_before_anything_runs(schedule: ScheduleSettings, message: str) -> None:
    with pytest.raises(ConfigError, match="^" + re.escape(message)):
        run_service(schedule, run_pass=lambda: 0, send_report=lambda: 0)


def test_test_interval_hook_must_be_a_positive_number(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(service.TEST_INTERVAL_VARIABLE, "soon")
    with pytest.raises(ConfigError, match=r"^AUDITOR_TEST_INTERVAL_SECONDS: 'soon' is not a positive number"):
        run_service(ScheduleSettings(), run_pass=lambda: 0, send_report=lambda: 0)


def _start_driver(tmp_path: Path, mode: str, grace: float) -> tuple[subprocess.Popen[str], Path]:
    events = tmp_path / "events.txt"
    events.touch()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.pop(service.TEST_INTERVAL_VARIABLE, None)
    process = subprocess.Popen(
        [sys.executable, str(DRIVER), str(events), mode, str(grace)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    return process, events


def _lines(events: Path) -> list[str]:
    return events.read_text().splitlines()


def test_sigterm_abandons_the_pass_in_flight_and_exits_zero(tmp_path: Path) -> None:
    process, events = _start_driver(tmp_path, "staged", grace=30)
    try:
        wait_for(lambda: sum(line.startswith("end ") for line in _lines(events)) >= 2, 10, "two passes")
        wait_for(lambda: _lines(events)[-1].startswith("start "), 5, "a pass in flight")
        in_flight = _lines(events)[-1].split()[1]
        process.send_signal(signal.SIGTERM)
        _stdout, stderr = process.communicate(timeout=10)
    finally:
        process.kill()
    assert process.returncode == 0, stderr
    lines = _lines(events)
    assert lines[-1] == f"abandoned {in_flight}"
    started = {line.split()[1] for line in lines if line.startswith("start ")}
    settled = {line.split()[1] for line in lines if line.split()[0] in ("end", "abandoned")}
    assert started == settled
    assert "SIGTERM: stopping; no new pass will start" in stderr
    assert "service stopped" in stderr
    assert "Traceback" not in stderr


def test_sigint_between_passes_exits_zero(tmp_path: Path) -> None:
    process, events = _start_driver(tmp_path, "staged", grace=30)
    try:
        wait_for(lambda: any(line.startswith("end ") for line in _lines(events)), 10, "one pass")
        process.send_signal(signal.SIGINT)
        _stdout, stderr = process.communicate(timeout=10)
    finally:
        process.kill()
    assert process.returncode == 0, stderr
    assert "SIGINT: stopping" in stderr
    assert "KeyboardInterrupt" not in stderr


def test_pass_stuck_past_the_grace_period_does_not_keep_the_process_alive(tmp_path: Path) -> None:
    process, events = _start_driver(tmp_path, "stuck", grace=0.5)
    try:
        wait_for(lambda: _lines(events) == ["start 1"], 10, "the stuck pass")
        signalled = time.monotonic()
        process.send_signal(signal.SIGTERM)
        _stdout, stderr = process.communicate(timeout=10)
        took = time.monotonic() - signalled
    finally:
        process.kill()
    assert process.returncode == 0, stderr
    assert took < 3
    assert "a pass is still running after 0.5s; exiting without it (its snapshot stays incomplete)" in stderr
    assert _lines(events) == ["start 1"]
