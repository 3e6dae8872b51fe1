"""Digest schedules and the periods they cover: pure functions of a schedule, `now` and a zone.

A schedule is `mon 09:00` (weekly: every Monday at 09:00), `daily 08:30` or `08:30` (every
day). It runs in one timezone (zoneinfo name, e.g. `Europe/Berlin`; default UTC), in wall-clock
time, so a `mon 09:00` digest goes out at 09:00 local time on both sides of a DST change.

A run covers the whole local days before the day it runs on: `mon 09:00` on Monday Nov 23
covers Monday Nov 16 00:00 to Sunday Nov 22 24:00 local time; a daily run covers yesterday.
Consecutive runs' periods touch without a gap or an overlap, and each has a key
(`weekly:2026-11-16..2026-11-22`) that every process computes alike, which is what the
delivery ledger is keyed by.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from modeltrail.core.errors import ConfigError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_NAMES = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAILY = ("daily", "day", "everyday", "every day")
_PATTERN = re.compile(r"^(?:(?P<day>[a-z ]+?)\s+)?(?P<hour>\d{1,2}):(?P<minute>\d{2})$")


@dataclass(frozen=True)
class Schedule:
    """`weekday` 0 (Monday) … 6 (Sunday), or None for every day."""

    weekday: int | None
    at: dt.time

    @property
    def days(self) -> int:
        """How many days one run covers."""
        return 1 if self.weekday is None else 7

    @property
    def kind(self) -> str:
        return "daily" if self.weekday is None else "weekly"

    def __str__(self) -> str:
        day = "daily" if self.weekday is None else WEEKDAYS[self.weekday]
        return f"{day} {self.at.strftime('%H:%M')}"


@dataclass(frozen=True)
class Window:
    """A period a digest covers: `[start, end)` in UTC, and the local days it spans.

    `first_day` and `last_day` are inclusive local dates (for the subject line, "Nov 16–22").
    `key` names the period for the delivery ledger.
    """

    start: dt.datetime
    end: dt.datetime
    first_day: dt.date
    last_day: dt.date
    timezone: str
    key: str

    @property
    def days(self) -> int:
        return (self.last_day - self.first_day).days + 1

    def contains(self, moment: dt.datetime) -> bool:
        return self.start <= moment < self.end


def zone(name: str | None) -> ZoneInfo:
    """A zoneinfo timezone; `None` or empty means UTC."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"unknown timezone {name!r}", hint="use an IANA name such as Europe/Berlin or UTC"
        ) from None


def parse_schedule(text: str) -> Schedule:
    """`mon 09:00`, `Monday 9:00`, `daily 08:30`, `08:30` (daily)."""
    cleaned = " ".join((text or "").strip().lower().split())
    match = _PATTERN.match(cleaned)
    hint = "use e.g. 'mon 09:00' (weekly) or 'daily 08:30'"
    if not match:
        raise ConfigError(f"cannot read the digest schedule {text!r}", hint=hint)
    hour, minute = int(match["hour"]), int(match["minute"])
    if hour > 23 or minute > 59:
        raise ConfigError(f"{text!r} has no valid time of day", hint=hint)
    day = match["day"]
    weekday: int | None
    if day is None or day in _DAILY:
        weekday = None
    elif day in WEEKDAYS:
        weekday = WEEKDAYS.index(day)
    elif day in _FULL_NAMES:
        weekday = _FULL_NAMES.index(day)
    else:
        raise ConfigError(f"{day!r} in the digest schedule is not a day", hint=hint)
    return Schedule(weekday, dt.time(hour, minute))


def _at(day: dt.date, time: dt.time, tz: ZoneInfo) -> dt.datetime:
    """The UTC instant of a local wall-clock time (fold 0 for the repeated hour)."""
    return dt.datetime.combine(day, time, tzinfo=tz).astimezone(dt.UTC)


def _runs_on(schedule: Schedule, day: dt.date) -> bool:
    return schedule.weekday is None or day.weekday() == schedule.weekday


def last_run(schedule: Schedule, now: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """The latest scheduled run at or before `now` (UTC)."""
    _check_aware(now)
    day = now.astimezone(tz).date()
    for back in range(9):
        candidate_day = day - dt.timedelta(days=back)
        if _runs_on(schedule, candidate_day):
            candidate = _at(candidate_day, schedule.at, tz)
            if candidate <= now:
                return candidate
    raise AssertionError("a weekly schedule runs within 8 days")  # pragma: no cover


def next_run(schedule: Schedule, now: dt.datetime, tz: ZoneInfo) -> dt.datetime:
    """The first scheduled run strictly after `now` (UTC)."""
    _check_aware(now)
    day = now.astimezone(tz).date()
    for ahead in range(9):
        candidate_day = day + dt.timedelta(days=ahead)
        if _runs_on(schedule, candidate_day):
            candidate = _at(candidate_day, schedule.at, tz)
            if candidate > now:
                return candidate
    raise AssertionError("a weekly schedule runs within 8 days")  # pragma: no cover


def window_for_run(schedule: Schedule, run_at: dt.datetime, tz: ZoneInfo) -> Window:
    """The period the run at `run_at` covers: the `schedule.days` whole local days before it."""
    run_day = run_at.astimezone(tz).date()
    first = run_day - dt.timedelta(days=schedule.days)
    last = run_day - dt.timedelta(days=1)
    return Window(
        start=_at(first, dt.time(0), tz),
        end=_at(run_day, dt.time(0), tz),
        first_day=first,
        last_day=last,
        timezone=tz.key,
        key=f"{schedule.kind}:{first.isoformat()}..{last.isoformat()}",
    )


def current_window(schedule: Schedule, now: dt.datetime, tz: ZoneInfo) -> Window:
    """The period of the latest run due at or before `now`."""
    return window_for_run(schedule, last_run(schedule, now, tz), tz)


def trailing_window(now: dt.datetime, days: int, tz: ZoneInfo) -> Window:
    """The `days` local days up to `now`, today included (`digest preview` / `digest send`):
    from midnight `days - 1` days ago until `now`."""
    _check_aware(now)
    if days < 1:
        from modeltrail.core.errors import UsageError

        raise UsageError(f"--days must be 1 or more, not {days}")
    last = now.astimezone(tz).date()
    first = last - dt.timedelta(days=days - 1)
    start = _at(first, dt.time(0), tz)
    end = now.astimezone(dt.UTC)
    return Window(
        start=start,
        end=end,
        first_day=first,
        last_day=last,
        timezone=tz.key,
        key=f"manual:{start.isoformat()}..{end.isoformat()}",
    )


def _check_aware(now: dt.datetime) -> None:
    if now.tzinfo is None:
        raise ValueError("pass an aware datetime for now")
