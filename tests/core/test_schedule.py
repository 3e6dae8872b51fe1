"""Digest schedules: parsing, the last and next run, and the period a run covers, across
timezones and DST changes. Pure: every function is given `now`."""

from __future__ import annotations

import datetime as dt

import pytest

from modeltrail.core.digest.schedule import (
    Schedule,
    current_window,
    last_run,
    next_run,
    parse_schedule,
    trailing_window,
    window_for_run,
    zone,
)
from modeltrail.core.errors import ConfigError, UsageError

UTC = zone("UTC")
BERLIN = zone("Europe/Berlin")


def utc(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("text", "weekday", "at"),
    [
        ("mon 09:00", 0, dt.time(9, 0)),
        ("Monday 9:00", 0, dt.time(9, 0)),
        ("  FRI   17:30 ", 4, dt.time(17, 30)),
        ("sun 00:00", 6, dt.time(0, 0)),
        ("daily 08:30", None, dt.time(8, 30)),
        ("08:30", None, dt.time(8, 30)),
    ],
)
def test_schedules_are_parsed(text: str, weekday: int | None, at: dt.time) -> None:
    schedule = parse_schedule(text)
    assert schedule == Schedule(weekday, at)
    assert parse_schedule(str(schedule)) == schedule
    assert schedule.days == (1 if weekday is None else 7)


@pytest.mark.parametrize("text", ["", "mon", "mon 25:00", "mon 9:60", "someday 09:00", "9am"])
def test_bad_schedules_say_what_to_write(text: str) -> None:
    with pytest.raises(ConfigError) as info:
        parse_schedule(text)
    assert "mon 09:00" in str(info.value)


def test_unknown_timezone_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="Mars/Olympus"):
        zone("Mars/Olympus")
    assert zone(None).key == "UTC"


def test_last_and_next_run_of_a_weekly_schedule() -> None:
    monday = parse_schedule("mon 09:00")
    wednesday = utc(2026, 11, 25, 12, 0)
    assert last_run(monday, wednesday, UTC) == utc(2026, 11, 23, 9, 0)
    assert next_run(monday, wednesday, UTC) == utc(2026, 11, 30, 9, 0)
    # At the very minute: that run is due now; the next is a week later.
    at_run = utc(2026, 11, 23, 9, 0)
    assert last_run(monday, at_run, UTC) == at_run
    assert next_run(monday, at_run, UTC) == utc(2026, 11, 30, 9, 0)
    # Monday before 09:00: still last week's run.
    early = utc(2026, 11, 23, 8, 59)
    assert last_run(monday, early, UTC) == utc(2026, 11, 16, 9, 0)
    assert next_run(monday, early, UTC) == at_run


def test_a_run_covers_the_whole_local_days_before_it() -> None:
    monday = parse_schedule("mon 09:00")
    window = current_window(monday, utc(2026, 11, 25, 12, 0), UTC)
    assert (window.first_day, window.last_day) == (dt.date(2026, 11, 16), dt.date(2026, 11, 22))
    assert (window.start, window.end) == (utc(2026, 11, 16), utc(2026, 11, 23))
    assert window.key == "weekly:2026-11-16..2026-11-22"
    assert window.days == 7
    assert window.contains(utc(2026, 11, 22, 23, 59)) and not window.contains(utc(2026, 11, 23))
    # Consecutive periods touch: no gap, no overlap.
    following = window_for_run(monday, utc(2026, 11, 30, 9, 0), UTC)
    assert following.start == window.end


def test_daily_schedule_covers_yesterday() -> None:
    daily = parse_schedule("daily 07:00")
    window = current_window(daily, utc(2026, 11, 25, 6, 0), UTC)  # before today's run
    assert window.key == "daily:2026-11-23..2026-11-23"
    window = current_window(daily, utc(2026, 11, 25, 7, 0), UTC)
    assert (window.start, window.end) == (utc(2026, 11, 24), utc(2026, 11, 25))
    assert next_run(daily, utc(2026, 11, 25, 7, 0), UTC) == utc(2026, 11, 26, 7, 0)


def test_local_time_in_a_timezone_and_across_dst() -> None:
    monday = parse_schedule("mon 09:00")
    # Berlin is UTC+1 in November: 09:00 local is 08:00 UTC.
    assert next_run(monday, utc(2026, 11, 20, 0, 0), BERLIN) == utc(2026, 11, 23, 8, 0)
    window = current_window(monday, utc(2026, 11, 23, 8, 0), BERLIN)
    assert (window.start, window.end) == (utc(2026, 11, 15, 23, 0), utc(2026, 11, 22, 23, 0))
    assert window.timezone == "Europe/Berlin"
    # DST ends on Sunday 2026-10-25: the run on Monday Oct 26 is at 09:00 CET (08:00 UTC),
    # the one before at 09:00 CEST (07:00 UTC); that week is 169 hours long.
    before, after = utc(2026, 10, 19, 7, 0), utc(2026, 10, 26, 8, 0)
    assert next_run(monday, utc(2026, 10, 20, 0, 0), BERLIN) == after
    assert last_run(monday, after - dt.timedelta(minutes=1), BERLIN) == before
    window = window_for_run(monday, after, BERLIN)
    assert window.end - window.start == dt.timedelta(hours=169)
    assert (window.first_day, window.last_day) == (dt.date(2026, 10, 19), dt.date(2026, 10, 25))


def test_trailing_window_for_preview_and_send() -> None:
    now = utc(2026, 11, 22, 15, 30)
    window = trailing_window(now, 7, UTC)
    assert (window.first_day, window.last_day) == (dt.date(2026, 11, 16), dt.date(2026, 11, 22))
    assert (window.start, window.end) == (utc(2026, 11, 16), now)
    assert window.key.startswith("manual:")
    with pytest.raises(UsageError):
        trailing_window(now, 0, UTC)
    with pytest.raises(ValueError, match="aware"):
        trailing_window(dt.datetime(2026, 11, 22), 7, UTC)
