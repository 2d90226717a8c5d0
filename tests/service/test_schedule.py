"""Cron expressions mean what crontab means, and bad ones are refused before the service starts."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from auditor.errors import ConfigError
from auditor.service import build_trigger

PARIS = ZoneInfo("Europe/Paris")
# A Wednesday, noon.
NOW = datetime(2026, 11, 25, 12, 0, 0, tzinfo=PARIS)


def fire_times(expression: str, count: int, tz: str = "Europe/Paris") -> list[str]:
    trigger = build_trigger(expression, tz)
    times: list[str] = []
    previous = None
    now = NOW
    for _ in range(count):
        fire = trigger.get_next_fire_time(previous, now)
        assert fire is not None
        times.append(fire.strftime("%a %Y-%m-%d %H:%M:%S"))
        previous, now = fire, fire + timedelta(microseconds=1)
    return times


def test_default_check_schedule_fires_every_four_hours() -> None:
    assert fire_times("0 */4 * * *", 4) == [
        "Wed 2026-11-25 12:00:00",
        "Wed 2026-11-25 16:00:00",
        "Wed 2026-11-25 20:00:00",
        "Thu 2026-11-26 00:00:00",
    ]


def test_default_report_schedule_fires_monday_at_seven() -> None:
    assert fire_times("0 7 * * mon", 2) == ["Mon 2026-11-30 07:00:00", "Mon 2026-12-07 07:00:00"]


@pytest.mark.parametrize(
    ("day_of_week", "expected"),
    [
        ("0", ["Sun"]),
        ("7", ["Sun"]),
        ("1", ["Mon"]),
        ("sun", ["Sun"]),
        ("1-5", ["Mon", "Tue", "Wed", "Thu", "Fri"]),
        ("5-7", ["Fri", "Sat", "Sun"]),
        ("*/2", ["Sun", "Tue", "Thu", "Sat"]),
        ("mon,wed", ["Mon", "Wed"]),
    ],
)
def test_day_of_week_numbers_follow_crontab_where_sunday_is_zero(
    day_of_week: str, expected: list[str]
) -> None:
    days = {t[:3] for t in fire_times(f"0 7 * * {day_of_week}", 14)}
    assert days == set(expected)


def test_day_of_month_and_day_of_week_together_mean_either_as_in_cron() -> None:
    # 1st of the month OR a Sunday, from Wed 25 Nov 2026.
    assert fire_times("0 7 1 * 0", 4) == [
        "Sun 2026-11-29 07:00:00",
        "Tue 2026-12-01 07:00:00",
        "Sun 2026-12-06 07:00:00",
        "Sun 2026-12-13 07:00:00",
    ]


def test_six_fields_put_seconds_first() -> None:
    assert fire_times("*/20 * * * * *", 3) == [
        "Wed 2026-11-25 12:00:00",
        "Wed 2026-11-25 12:00:20",
        "Wed 2026-11-25 12:00:40",
    ]


def test_time_zone_is_the_one_configured() -> None:
    trigger = build_trigger("0 7 * * *", "America/New_York")
    fire = trigger.get_next_fire_time(None, NOW)
    assert fire is not None
    assert fire.utcoffset() == timedelta(hours=-5)
    assert (fire.hour, fire.minute) == (7, 0)


@pytest.mark.parametrize(
    ("expression", "tz", "message"),
    [
        ("* * *", None, "schedule.check: invalid cron expression '* * *': 3 fields; expected 5"),
        ("0 7 * * 8", None, "schedule.check: invalid cron expression '0 7 * * 8': '8' is not a day of week"),
        ("61 * * * *", None, "schedule.check: invalid cron expression '61 * * * *'"),
        ("0 7 * * fri-mon", None, "range 'fri-mon' runs backwards"),
        ("0 * * * *", "Mars/Olympus", "schedule.tz: 'Mars/Olympus' is not a known time zone"),
    ],
)
def test_invalid_schedule_is_a_config_error_naming_key_and_expression(
    expression: str, tz: str | None, message: str
) -> None:
    with pytest.raises(ConfigError) as caught:
        build_trigger(expression, tz)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)
