"""Quiet hours: no paid text message that may wake someone between 21:00 and 08:00 Stockholm
time (on the channels whose reach says `quiet_hours`). A message due then waits for the next
08:00. Computed in Stockholm's own time zone, so the daylight-saving nights move nothing."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

STOCKHOLM = ZoneInfo("Europe/Stockholm")
QUIET_FROM = time(21, 0)
QUIET_UNTIL = time(8, 0)


def next_allowed(now: datetime) -> datetime:
    """`now` if a message may go out now, else the next 08:00 in Stockholm."""
    local = now.astimezone(STOCKHOLM)
    if QUIET_UNTIL <= local.time() < QUIET_FROM:
        return now
    day = local.date() if local.time() < QUIET_UNTIL else local.date() + timedelta(days=1)
    return datetime.combine(day, QUIET_UNTIL, tzinfo=STOCKHOLM)


def seconds_until_allowed(now: datetime) -> float:
    """0 outside quiet hours, else the seconds until 08:00."""
    return (next_allowed(now) - now).total_seconds()


def stockholm_day(now: datetime) -> str:
    """The Stockholm date of `now` (the day a daily limit counts in)."""
    return now.astimezone(STOCKHOLM).date().isoformat()
