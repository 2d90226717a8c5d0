"""The long-running service behind `auditor check` without `--once` (APScheduler 3.x).

Two jobs: the audit pass on `schedule.check` and the drift report on `schedule.report`. What the
service promises, and how:

* **One thing at a time.** Each job has `max_instances=1` and `coalesce=True`, so a pass that
  overruns its next slot is never started twice and missed slots collapse into one run; the pass
  and the report also share a lock, so a report never reads the store half-way through a pass.
* **A failing pass is not a dead service.** An exception or exit code 2 is logged and the next slot
  runs as usual (a monitor sees it through the `auditor.snapshot.age` metric, not a crash loop).
* **Clean stop.** SIGTERM or SIGINT sets `stop_requested`; no new job starts; the pass in flight
  sees the event between stages and abandons (its snapshot is never marked complete) or finishes;
  after at most `grace_seconds` we return 0. A second signal stops the wait at once. Jobs run on
  daemon threads, so a pass stuck in I/O past the grace period cannot keep the process alive.

Schedules are cron expressions in the host's local time unless `tz` is set. Five fields are
standard crontab (day of week 0 or 7 = Sunday; day of month and day of week restricted together
means either, as in cron). Six fields put seconds first (`*/10 * * * * *`): useful for tests and
demos. `AUDITOR_TEST_INTERVAL_SECONDS`, when set, replaces the check schedule by a fixed interval:
a hook for end-to-end tests of the real CLI, not meant for production.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import tzinfo
from types import FrameType
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.executors.base import BaseExecutor, run_job
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.combining import OrTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from auditor.errors import AuditorError, ConfigError

__all__ = [
    "TEST_INTERVAL_VARIABLE",
    "ScheduleSettings",
    "build_trigger",
    "request_stop",
    "run_service",
    "stop_requested",
]

log = logging.getLogger(__name__)

TEST_INTERVAL_VARIABLE: Final = "AUDITOR_TEST_INTERVAL_SECONDS"

stop_requested = threading.Event()
"""Set when the service is asked to stop; a pass checks it between stages and abandons cleanly."""


def request_stop() -> None:
    """Ask a running service to stop, as SIGTERM does (for embedding and for tests)."""
    stop_requested.set()


@dataclass(frozen=True)
class ScheduleSettings:
    """What `[schedule]` in the config file says: two cron expressions and an optional zone."""

    check: str = "0 */4 * * *"
    report: str = "0 7 * * mon"
    tz: str | None = None


# --- cron expressions -----------------------------------------------------------------------------

_CRON_DAY_NAMES: Final = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
_DOW_ITEM: Final = re.compile(r"^(?P<range>\*|[a-z0-9]+(?:-[a-z0-9]+)?)(?:/(?P<step>\d+))?$")


def _cron_day(token: str) -> int:
    """A crontab day of week (0-7 or a name) as 0 = Sunday .. 6 = Saturday."""
    if token.isdigit() and 0 <= int(token) <= 7:
        return int(token) % 7
    if token in _CRON_DAY_NAMES:
        return _CRON_DAY_NAMES.index(token)
    raise ValueError(f"{token!r} is not a day of week (0-7 or sun..sat)")


def _day_of_week(field: str) -> str:
    """Translate a crontab day-of-week field to APScheduler 3's, which counts 0 as Monday.

    APScheduler 3 reads `0` as Monday where cron reads Sunday (its issue 286); expanding the field
    to day names removes the ambiguity.
    """
    days: set[int] = set()
    for item in field.lower().split(","):
        match = _DOW_ITEM.match(item)
        if match is None:
            raise ValueError(f"{item!r} is not a day-of-week item")
        span, step = match["range"], int(match["step"] or 1)
        if step < 1:
            raise ValueError("step 0")
        if span == "*":
            first, last = 0, 6
        elif "-" in span:
            low, high = span.split("-")
            first, last = _cron_day(low), _cron_day(high)
            if high in ("7", "sun") and first > 0:
                last = 7
            if first > last:
                raise ValueError(f"range {span!r} runs backwards")
        else:
            first = _cron_day(span)
            last = 6 if match["step"] else first
        days.update(day % 7 for day in range(first, last + 1, step))
    if days == set(range(7)):
        return "*"
    return ",".join(_CRON_DAY_NAMES[day] for day in sorted(days))


def _zone(tz: str | None) -> tzinfo:
    if tz is None:
        import tzlocal

        zone: tzinfo = tzlocal.get_localzone()
        return zone
    try:
        return ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError(f"schedule.tz: {tz!r} is not a known time zone") from exc


def build_trigger(expression: str, tz: str | None = None, *, key: str = "schedule.check") -> BaseTrigger:
    """The APScheduler trigger for a 5-field crontab or 6-field (seconds first) expression.

    Raises ConfigError naming `key` and the expression when it is not valid, so a bad schedule
    stops the service at start rather than at its first slot.
    """
    zone = _zone(tz)
    fields = expression.split()
    try:
        if len(fields) == 5:
            second = "0"
            minute, hour, day, month, dow = fields
        elif len(fields) == 6:
            second, minute, hour, day, month, dow = fields
        else:
            raise ValueError(f"{len(fields)} fields; expected 5 (crontab) or 6 (seconds first)")
        common: dict[str, Any] = {
            "second": second,
            "minute": minute,
            "hour": hour,
            "month": month,
            "timezone": zone,
        }
        days_of_week = _day_of_week(dow)
        if day != "*" and days_of_week != "*":
            # cron: a day matches when either field does; APScheduler requires both.
            return OrTrigger(
                [
                    CronTrigger(day=day, **common),
                    CronTrigger(day_of_week=days_of_week, **common),
                ]
            )
        return CronTrigger(day=day, day_of_week=days_of_week, **common)
    except ValueError as exc:
        raise ConfigError(f"{key}: invalid cron expression {expression!r}: {exc}") from exc


def _check_trigger(schedule: ScheduleSettings, environ: Mapping[str, str]) -> BaseTrigger:
    override = environ.get(TEST_INTERVAL_VARIABLE, "").strip()
    if not override:
        return build_trigger(schedule.check, schedule.tz, key="schedule.check")
    try:
        seconds = float(override)
    except ValueError:
        seconds = 0.0
    if seconds <= 0:
        raise ConfigError(f"{TEST_INTERVAL_VARIABLE}: {override!r} is not a positive number of seconds")
    log.warning("test hook %s=%s replaces schedule.check", TEST_INTERVAL_VARIABLE, override)
    return IntervalTrigger(seconds=seconds, timezone=_zone(schedule.tz))


# --- running jobs ---------------------------------------------------------------------------------


class _DaemonThreadExecutor(BaseExecutor):  # type: ignore[misc]
    """Runs each job on its own daemon thread.

    APScheduler's thread pool uses non-daemon workers that the interpreter joins at exit, so a
    pass hung past the shutdown grace period would keep the process alive.
    """

    def _do_submit_job(self, job: Any, run_times: list[Any]) -> None:
        def work() -> None:
            try:
                events = run_job(job, job._jobstore_alias, run_times, self._logger.name)
            except BaseException as exc:
                self._run_job_error(job.id, exc, exc.__traceback__)
            else:
                self._run_job_success(job.id, events)

        threading.Thread(target=work, name=f"auditor-{job.id}", daemon=True).start()


class _Runner:
    """Wraps the pass and the report: serialises them, logs them, counts what is in flight."""

    def __init__(self, clock: Callable[[], float]) -> None:
        self.clock = clock
        self.on_end: dict[str, Callable[[float, bool], None]] = {}
        self.work_lock = threading.Lock()
        self.idle = threading.Condition()
        self.in_flight = 0

    @contextmanager
    def _tracked(self) -> Iterator[None]:
        with self.idle:
            self.in_flight += 1
        try:
            yield
        finally:
            with self.idle:
                self.in_flight -= 1
                self.idle.notify_all()

    def job(self, name: str, action: Callable[[], int]) -> Callable[[], None]:
        def run() -> None:
            if stop_requested.is_set():
                return
            with self._tracked(), self.work_lock:
                if stop_requested.is_set():
                    return
                self._run_logged(name, action)

        return run

    def _run_logged(self, name: str, action: Callable[[], int]) -> None:
        log.info("%s started", name)
        started = self.clock()
        ok = False
        try:
            code = action()
        except AuditorError as exc:
            elapsed = self.clock() - started
            if stop_requested.is_set():
                log.info("%s abandoned after %.1fs during shutdown: %s", name, elapsed, exc)
            else:
                log.error("%s could not complete after %.1fs: %s", name, elapsed, exc)
        except Exception:
            elapsed = self.clock() - started
            log.exception("%s failed after %.1fs with an unexpected error", name, elapsed)
        else:
            elapsed = self.clock() - started
            ok = code != 2
            if code == 2:
                log.error("%s could not complete after %.1fs (exit 2)", name, elapsed)
            elif stop_requested.is_set():
                log.info("%s ended after %.1fs during shutdown (exit %d)", name, elapsed, code)
            else:
                log.info("%s finished in %.1fs (exit %d)", name, elapsed, code)
        on_end = self.on_end.get(name)
        if on_end is not None:
            try:
                on_end(elapsed, ok)
            except Exception:
                log.exception("recording the end of %s failed", name)

    def wait_idle(self, timeout: float, interrupted: Callable[[], bool]) -> bool:
        """Wait until nothing runs, up to `timeout` seconds; False if something still does."""
        deadline = self.clock() + timeout
        with self.idle:
            while self.in_flight:
                remaining = deadline - self.clock()
                if remaining <= 0 or interrupted():
                    return False
                self.idle.wait(min(remaining, 0.2))
        return True


def _install_signal_handlers(received: list[int]) -> Callable[[], None]:
    """SIGTERM/SIGINT append to `received`; returns a function that restores the old handlers.

    The handler only appends: it runs on the main thread between bytecodes, where taking the
    lock inside `threading.Event.set` could deadlock. The main loop turns it into the event.
    """
    if threading.current_thread() is not threading.main_thread():
        return lambda: None

    def handler(signum: int, _frame: FrameType | None) -> None:
        received.append(signum)

    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}

    def restore() -> None:
        for sig, old in previous.items():
            signal.signal(sig, old)

    return restore


def run_service(
    schedule: ScheduleSettings,
    *,
    run_pass: Callable[[], int],
    send_report: Callable[[], int],
    grace_seconds: float = 300,
    misfire_grace_time: int = 600,
    clock: Callable[[], float] | None = None,
    record_pass: Callable[[float, bool], None] | None = None,
) -> int:
    """Run the audit pass and the report on their schedules until asked to stop; returns 0.

    `run_pass` and `send_report` return an exit code (0, 1, 2) or raise; either way the service
    goes on. Stop with SIGTERM/SIGINT (when called on the main thread) or `request_stop()`.
    `clock` is the monotonic time source for durations and the grace period (default
    `time.monotonic`). `record_pass(duration_s, ok)`, e.g. `Telemetry.record_pass`, is called
    after each audit pass; ok is False when it raised or returned 2. Raises ConfigError for an
    invalid schedule before anything runs.
    """
    check_trigger = _check_trigger(schedule, os.environ)
    report_trigger = build_trigger(schedule.report, schedule.tz, key="schedule.report")
    stop_requested.clear()
    runner = _Runner(clock or time.monotonic)
    if record_pass is not None:
        runner.on_end["audit pass"] = record_pass
    scheduler = BackgroundScheduler(
        executors={"default": _DaemonThreadExecutor()},
        job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": misfire_grace_time},
        timezone=_zone(schedule.tz),
    )
    scheduler.add_job(runner.job("audit pass", run_pass), check_trigger, id="check", name="audit pass")
    scheduler.add_job(
        runner.job("drift report", send_report), report_trigger, id="report", name="drift report"
    )
    received: list[int] = []
    restore_signals = _install_signal_handlers(received)
    try:
        scheduler.start()
        for job in scheduler.get_jobs():
            log.info("scheduled %s: %s, next at %s", job.name, job.trigger, job.next_run_time)
        while not received and not stop_requested.wait(0.2):
            pass
        stop_requested.set()
        why = signal.Signals(received[0]).name if received else "stop requested"
        log.info("%s: stopping; no new pass will start", why)
        scheduler.shutdown(wait=False)
        if not runner.wait_idle(grace_seconds, lambda: len(received) > 1):
            log.warning(
                "a pass is still running after %gs; exiting without it (its snapshot stays incomplete)",
                grace_seconds,
            )
        log.info("service stopped")
        return 0
    finally:
        restore_signals()
