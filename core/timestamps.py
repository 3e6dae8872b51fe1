"""The range of times modeltrail accepts (pure).

Year 9999 is a valid ISO date, but the arithmetic done with times (a time zone, a day added
for "the end of that day", a period's window) overflows past it, so far-future times are
refused where they come in, with a clear message, rather than crashing later.
"""

from __future__ import annotations

import datetime as dt

from modeltrail.core.errors import UsageError

LATEST = dt.datetime(3000, 1, 1, tzinfo=dt.UTC)
LATEST_EPOCH = LATEST.timestamp()


def check_moment(moment: dt.datetime, what: str) -> dt.datetime:
    """`moment` (aware), or a UsageError when it is after the year 2999."""
    if moment.year >= LATEST.year or (
        moment.tzinfo is not None and moment.astimezone(dt.UTC).year >= LATEST.year
    ):
        raise UsageError(f"{what} {moment.isoformat()} is too far in the future (after 2999)")
    return moment
