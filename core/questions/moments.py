"""Reading moments and periods in a question: `read_when(words, now, tz) -> WhenReading` (pure).

A small hand-written reader over a fixed grammar, not a date-parsing library: dateparser (the
well-kept one that reads free text in many languages) is not installed here and costs well
over 0.1 s to import, a third of the `ask` start-up budget, and it guesses — "may" or "sat"
become dates. This grammar covers what teams write about a registry, and anything that looks
like a time but does not fit it is reported back (`unread`), never silently dropped:

    moments   at 7:02 | 07:05 | 7am | 7:02 pm | noon | midnight      (today, or on the date)
              on Dec 1 | December 1st | 1 Dec | 2026-12-01 | 2026-12-01T07:02 | Dec 1, 2026
              yesterday | today | N minutes/hours/days/weeks ago | (last) monday
    periods   this week | last week | this month | last month | today | yesterday | this year
              in November | during Nov | since Monday | since Dec 1 | since 7:00
              (in the) past/last N hours/days/weeks | over the last week

Wall-clock words are read in `tz` (MODELTRAIL_TIMEZONE); the datetimes returned are aware.
`now` is passed in; nothing here reads a clock.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

MONTHS = {
    "jan": 1, "january": 1, "feb": 2, "february": 2, "mar": 3, "march": 3, "apr": 4,
    "april": 4, "may": 5, "jun": 6, "june": 6, "jul": 7, "july": 7, "aug": 8, "august": 8,
    "sep": 9, "sept": 9, "september": 9, "oct": 10, "october": 10, "nov": 11, "november": 11,
    "dec": 12, "december": 12,
}  # fmt: skip
WEEKDAYS = {
    "mon": 0, "monday": 0, "tue": 1, "tues": 1, "tuesday": 1, "wed": 2, "wednesday": 2,
    "thu": 3, "thur": 3, "thurs": 3, "thursday": 3, "fri": 4, "friday": 4, "sat": 5,
    "saturday": 5, "sun": 6, "sunday": 6,
}  # fmt: skip
UNITS = {
    "min": "minutes", "mins": "minutes", "minute": "minutes", "minutes": "minutes",
    "hr": "hours", "hrs": "hours", "hour": "hours", "hours": "hours", "day": "days",
    "days": "days", "week": "weeks", "weeks": "weeks", "wk": "weeks", "wks": "weeks",
}  # fmt: skip
COUNTS = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
          "seven": 7, "ten": 10, "couple of": 2, "few": 3}  # fmt: skip

_MONTH = r"(?P<mon>" + "|".join(sorted(MONTHS, key=len, reverse=True)) + r")"
_WEEKDAY = r"(?P<wd>" + "|".join(sorted(WEEKDAYS, key=len, reverse=True)) + r")"
_UNIT = r"(?P<unit>" + "|".join(sorted(UNITS, key=len, reverse=True)) + r")"
_COUNT = r"(?P<n>\d{1,3}|" + "|".join(sorted(COUNTS, key=len, reverse=True)) + r")"
_DAY = r"(?P<day>[0-3]?\d)(?:st|nd|rd|th)?"
_YEAR = r"(?:,?\s+(?P<year>20\d\d))?"
_CLOCK = (
    r"(?:(?:at|@|around|about|by)\s+)?(?P<h>[0-2]?\d)(?::(?P<m>[0-5]\d))(?::(?P<s>[0-5]\d))?"
    r"(?:\s*(?P<ap>am|pm|a\.m\.?|p\.m\.?))?"
    r"|(?:(?:at|@|around|about|by)\s+)?(?P<h2>1[0-2]|0?[1-9])\s*(?P<ap2>am|pm|a\.m\.?|p\.m\.?)"
    r"|(?:(?:at|@|around|about)\s+)(?P<h3>[0-2]?\d)(?=\s|$)(?!\s*(?:days?|hours?|weeks?|mins?|minutes?|versions?))"
    r"|(?:(?:at|@|around|about)\s+)(?P<h4>[0-2]?\d)[.h](?P<m4>[0-5]\d)(?![.\d])"
    r"|(?:at\s+)?(?P<word>noon|midday|midnight)"
)

# Words that say "a time" without a form this grammar reads: reported as unread, so a question
# about a moment is never answered for now.
TIME_WORDS = re.compile(
    r"\b(?:" + "|".join(sorted(set(MONTHS) | set(WEEKDAYS), key=len, reverse=True)) + r"|"
    r"tomorrow|tonight|morning|afternoon|evening|night|weekend|ago|o'?clock|"
    r"quarter|q[1-4]|sprint|release day|last (?:time|year)|\d{1,2}/\d{1,2}(?:/\d{2,4})?|"
    r"\d{1,2}:\d{2}|\d{4}-\d{2}(?:-\d{2})?|\d+(?:st|nd|rd|th)|"
    r"(?:before|after|until|till|between|since)(?!\s+(?:v?\d+\.\d+|that|this|it|then|the (?:latest|"
    r"previous|current|last)|production|prod|staging|golden|baseline|champion|candidate|latest|previous|we|i|you|they))|"
    r"during|as of|back in|earlier today|"
    r"week|weeks|month|months|year|years|hours?|minutes?|days)\b"
)


@dataclass(frozen=True)
class When:
    """A moment (`start == end`) or a period [start, end) the question asks about.

    `label` is how the answer states it, in the configured timezone; `words` the text it was
    read from."""

    start: dt.datetime
    end: dt.datetime
    label: str
    words: str
    moment: bool  # True: "at 7:02"; False: "last week"

    @property
    def point(self) -> dt.datetime:
        """The instant a "what was in production then?" question uses: a moment itself, the
        end of a period (the last instant in it)."""
        if self.moment:
            return self.start
        return self.end - dt.timedelta(microseconds=1)

    def to_dict(self) -> dict[str, object]:
        return {
            "start": _iso(self.start),
            "end": _iso(self.end),
            "label": self.label,
            "words": self.words,
            "moment": self.moment,
        }


@dataclass(frozen=True)
class WhenReading:
    when: When | None
    rest: str  # the words with the time expression taken out
    unread: tuple[str, ...] = ()  # time-like words the grammar did not read
    future: bool = False  # it read a time after `now`


def zone(name: str | None) -> dt.tzinfo:
    if not name or name.upper() == "UTC":
        return dt.UTC
    from zoneinfo import ZoneInfo  # only for a named zone: its import reads sysconfig

    try:
        return ZoneInfo(name)
    except (KeyError, ValueError):
        return dt.UTC


def read_when(words: str, now: dt.datetime, tz: dt.tzinfo = dt.UTC) -> WhenReading:
    """The first moment or period in `words` (lower-case text), read against `now`."""
    local_now = now.astimezone(tz)
    today = local_now.date()
    for reader in (_since, _relative_period, _ago, _absolute):
        found = reader(words, local_now, today, tz)
        if found is not None:
            when, span = found
            rest = (words[: span[0]] + " " + words[span[1] :]).strip()
            rest = " ".join(rest.split())
            future = when.start > now + dt.timedelta(minutes=1)
            leftover = tuple(m.group(0) for m in TIME_WORDS.finditer(rest))
            return WhenReading(when, rest, leftover, future)
    leftover = tuple(m.group(0) for m in TIME_WORDS.finditer(words))
    return WhenReading(None, words, leftover)


# -- readers: each returns (When, (start, end) of the words read) or None -------------------------


def _since(words: str, now: dt.datetime, today: dt.date, tz: dt.tzinfo):
    match = re.search(r"\b(?:since|from|starting)\s+", words)
    if not match:
        return None
    tail = words[match.end() :]
    inner = _absolute(tail, now, today, tz, allow_bare_month=True) or _ago(tail, now, today, tz)
    if inner is None:
        period = _relative_period(tail, now, today, tz)
        if period is None or period[1][0] != 0:
            return None
        inner = period
    when, (s, e) = inner
    if s != 0:  # "since" must be followed by the time it names
        return None
    text = words[match.start() : match.end() + e].strip()
    start = when.start
    label = f"since {_label(start, tz, with_time=not _midnight(start, tz))}"
    return When(start, _after(now), label, text, False), (match.start(), match.end() + e)


def _relative_period(words: str, now: dt.datetime, today: dt.date, tz: dt.tzinfo):
    match = re.search(
        r"\b(?:(?:in|during|over|for|within)\s+)?(?:the\s+)?(?P<which>this|last|past|previous|"
        r"current)\s+(?:(?P<count>\d{1,3}|"
        + "|".join(k for k in COUNTS if " " not in k)
        + r"|couple of|few)\s+)?(?P<unit>weeks?|months?|days?|hours?|hrs?|mins?|minutes?|"
        r"year|wk)\b|\b(?P<day>today|yesterday)\b",
        words,
    )
    if not match:
        return None
    span = match.span()
    if match.group("day"):
        day = today if match.group("day") == "today" else today - dt.timedelta(days=1)
        start = _at(day, dt.time(0), tz)
        end = _after(now) if day == today else _at(day + dt.timedelta(days=1), dt.time(0), tz)
        label = f"{match.group('day')} ({day.isoformat()})"
        clock = _clock_near(words, span, now, day, tz)
        if clock is not None:
            moment, cspan = clock
            both = (min(span[0], cspan[0]), max(span[1], cspan[1]))
            return When(moment, moment, _label(moment, tz), words[both[0] : both[1]], True), both
        return When(start, end, label, match.group(0).strip(), False), span
    which, unit = match.group("which"), match.group("unit")
    count_text = match.group("count")
    unit = UNITS.get(unit, unit if unit.endswith("s") else unit + "s")
    if unit == "year":
        unit = "years"
    if count_text or which in ("past",) or unit in ("hours", "minutes"):
        n = _count(count_text) if count_text else 1
        if unit in ("months", "years"):
            start = now - dt.timedelta(days=(30 if unit == "months" else 365) * n)
        else:
            start = now - dt.timedelta(**{unit: n})
        label = f"the last {n} {unit if n != 1 else unit[:-1]} (since {_label(start, tz)})"
        return When(start, _after(now), label, match.group(0).strip(), False), span
    if unit == "days":
        return None
    previous = which in ("last", "previous")
    if unit == "weeks":
        monday = today - dt.timedelta(days=today.weekday())
        first = monday - dt.timedelta(days=7) if previous else monday
        start = _at(first, dt.time(0), tz)
        end = _at(first + dt.timedelta(days=7), dt.time(0), tz) if previous else _after(now)
        name = "last week" if previous else "this week"
        last_day = first + dt.timedelta(days=6)
        label = f"{name} ({first.isoformat()} to {last_day.isoformat()})"
    elif unit == "months":
        first = today.replace(day=1)
        if previous:
            first = (first - dt.timedelta(days=1)).replace(day=1)
        start = _at(first, dt.time(0), tz)
        end = _at(_next_month(first), dt.time(0), tz) if previous else _after(now)
        label = f"{'last month' if previous else 'this month'} ({first.strftime('%B %Y')})"
    else:  # years
        first = dt.date(today.year - (1 if previous else 0), 1, 1)
        start = _at(first, dt.time(0), tz)
        end = _at(dt.date(first.year + 1, 1, 1), dt.time(0), tz) if previous else _after(now)
        label = str(first.year)
    return When(start, end, label, match.group(0).strip(), False), span


def _ago(words: str, now: dt.datetime, today: dt.date, tz: dt.tzinfo):
    match = re.search(r"\b" + _COUNT + r"\s+" + _UNIT + r"\s+(?:ago|back|before now)\b", words)
    if not match:
        return None
    n = _count(match.group("n"))
    unit = UNITS[match.group("unit")]
    if unit in ("days", "weeks"):
        day = today - dt.timedelta(days=n * (7 if unit == "weeks" else 1))
        clock = _clock_near(words, match.span(), now, day, tz)
        if clock is not None:
            moment, cspan = clock
            both = (min(match.start(), cspan[0]), max(match.end(), cspan[1]))
            return When(moment, moment, _label(moment, tz), words[both[0] : both[1]], True), both
        if unit == "days":
            start = _at(day, dt.time(0), tz)
            end = _at(day + dt.timedelta(days=1), dt.time(0), tz)
            label = f"{day.isoformat()} ({n} day{'s' if n != 1 else ''} ago)"
            return When(start, end, label, match.group(0), False), match.span()
    moment = now - dt.timedelta(**{unit: n})
    return When(moment, moment, _label(moment, tz), match.group(0), True), match.span()


def _absolute(
    words: str, now: dt.datetime, today: dt.date, tz: dt.tzinfo, *, allow_bare_month: bool = False
):
    """A date (ISO, month-day, day-month, a weekday, a month) with an optional time of day,
    or a time of day alone (today)."""
    date_match, day = _date(words, today)
    if date_match is not None and day is not None:
        span = date_match.span()
        if date_match.groupdict().get("iso_h"):
            h, m = int(date_match.group("iso_h")), int(date_match.group("iso_m"))
            moment = _at(day, dt.time(h, m), tz)
            return When(moment, moment, _label(moment, tz), date_match.group(0), True), span
        clock = _clock_near(words, span, now, day, tz)
        if clock is not None:
            moment, cspan = clock
            both = (min(span[0], cspan[0]), max(span[1], cspan[1]))
            return When(moment, moment, _label(moment, tz), words[both[0] : both[1]], True), both
        start = _at(day, dt.time(0), tz)
        end = _at(day + dt.timedelta(days=1), dt.time(0), tz)
        end = min(end, _after(now)) if day == today else end
        return When(start, end, day.isoformat(), date_match.group(0).strip(), False), span
    month = re.search(
        r"\b(?:(?:in|during|for|of|over|through|throughout)\s+)?(?:(?:the\s+)?month\s+of\s+)?"
        + _MONTH
        + r"(?:\s+(?P<year>20\d\d))?\b",
        words,
    )
    lead = ("in", "during", "for", "of", "over", "through", "throughout")
    if month and (allow_bare_month or month.group(0).split()[0] in lead or month.group("year")):
        number = MONTHS[month.group("mon")]
        year = int(month.group("year")) if month.group("year") else today.year
        if not month.group("year") and number > today.month:
            year -= 1  # "in November" asked in March means last November
        first = dt.date(year, number, 1)
        start = _at(first, dt.time(0), tz)
        end = _at(_next_month(first), dt.time(0), tz)
        if first.year == today.year and first.month == today.month:
            end = _after(now)
        return When(
            start, end, first.strftime("%B %Y"), month.group(0).strip(), False
        ), month.span()
    clock = _clock(words, now, today, tz)
    if clock is not None:
        moment, span = clock
        if moment > now and not re.search(r"\btoday\b", words):
            moment -= dt.timedelta(days=1)  # "at 23:00" asked at 9:00 means last night
        return When(moment, moment, _label(moment, tz), words[span[0] : span[1]], True), span
    return None


def _date(words: str, today: dt.date) -> tuple[re.Match[str] | None, dt.date | None]:
    patterns = (
        r"\b(?:on\s+)?(?P<iso>(?P<y>20\d\d)-(?P<mo>[01]?\d)-(?P<d>[0-3]?\d))"
        r"(?:[t ](?P<iso_h>[0-2]\d):(?P<iso_m>[0-5]\d)(?::\d\d(?:\.\d+)?)?(?:z|[+-]\d\d:?\d\d)?)?",
        r"\b(?:on\s+)?(?:(?:the\s+)?)?" + _MONTH + r"\.?\s+" + _DAY + r"\b" + _YEAR,
        r"\b(?:on\s+)?(?:the\s+)?" + _DAY + r"\s+(?:of\s+)?" + _MONTH + r"\b" + _YEAR,
        r"\b(?:on\s+|last\s+|this\s+|past\s+)?" + _WEEKDAY + r"\b",
    )
    for pattern in patterns:
        match = re.search(pattern, words)
        if not match:
            continue
        groups = match.groupdict()
        try:
            if groups.get("iso"):
                return match, dt.date(int(groups["y"]), int(groups["mo"]), int(groups["d"]))
            if groups.get("wd"):
                back = (today.weekday() - WEEKDAYS[groups["wd"]]) % 7
                if match.group(0).startswith("last") and back == 0:
                    back = 7
                return match, today - dt.timedelta(days=back)
            year = int(groups["year"]) if groups.get("year") else today.year
            day = dt.date(year, MONTHS[groups["mon"]], int(groups["day"]))
            if not groups.get("year") and day > today:
                day = day.replace(year=year - 1)  # "Dec 5" asked on Dec 1 means last year's
            return match, day
        except ValueError:  # "Feb 30": not a date; left for the caller to report
            return None, None
    return None, None


def _clock(words: str, now: dt.datetime, day: dt.date, tz: dt.tzinfo):
    match = re.search(r"(?<![\w.:])(?:" + _CLOCK + r")(?![\w:])", words)
    if not match:
        return None
    g = match.groupdict()
    if g["word"]:
        hour, minute, second = (0 if g["word"] == "midnight" else 12), 0, 0
    else:
        hour = int(g["h"] or g["h2"] or g["h3"] or g["h4"])
        minute, second = int(g["m"] or g["m4"] or 0), int(g["s"] or 0)
        ampm = (g["ap"] or g["ap2"] or "").replace(".", "")
        if ampm == "pm" and hour < 12:
            hour += 12
        elif ampm == "am" and hour == 12:
            hour = 0
        if hour > 23:
            return None
    return _at(day, dt.time(hour, minute, second), tz), match.span()


def _clock_near(words: str, span: tuple[int, int], now: dt.datetime, day: dt.date, tz: dt.tzinfo):
    """A time of day right before or after a date ("Dec 1 at 7:02", "7:02 yesterday")."""
    after = _clock(words[span[1] :], now, day, tz)
    if after is not None and not words[span[1] : span[1] + after[1][0]].strip(" ,"):
        moment, (s, e) = after
        return moment, (span[1] + s, span[1] + e)
    before = words[: span[0]]
    found = None
    for match in re.finditer(r"(?<![\w.:])(?:" + _CLOCK + r")(?![\w:])", before):
        found = match
    if found is not None and not before[found.end() :].strip(" ,").removesuffix("on").strip():
        clock = _clock(before[found.start() : found.end()], now, day, tz)
        if clock is not None:
            return clock[0], (found.start(), found.end())
    return None


# -- helpers -------------------------------------------------------------------------------------


def _count(text: str) -> int:
    return int(text) if text.isdigit() else COUNTS.get(text, 1)


def _at(day: dt.date, time: dt.time, tz: dt.tzinfo) -> dt.datetime:
    return dt.datetime.combine(day, time, tzinfo=tz)


def _after(now: dt.datetime) -> dt.datetime:
    """The end of a period that runs until now (exclusive, so `now` itself is inside)."""
    return now + dt.timedelta(microseconds=1)


def _next_month(first: dt.date) -> dt.date:
    return dt.date(first.year + (first.month == 12), first.month % 12 + 1, 1)


def _midnight(moment: dt.datetime, tz: dt.tzinfo) -> bool:
    local = moment.astimezone(tz)
    return local.hour == local.minute == local.second == 0


def _label(moment: dt.datetime, tz: dt.tzinfo, *, with_time: bool = True) -> str:
    local = moment.astimezone(tz)
    name = local.tzname() or "UTC"
    if not with_time:
        return local.date().isoformat()
    return local.strftime("%Y-%m-%d %H:%M") + f" {name}"


def _iso(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")
