"""Quiet hours: no paid text message that may wake someone between 21:00 and 08:00 Stockholm
time (on the channels whose reach says `quiet_hours`). A message due then waits for the next
08:00. Computed in Stockholm's own time zone, so the daylight-saving nights move nothing.

A campaign starts on such a channel only if all of its messages there can go out by 20:30
(`release_at`): a campaign invites replies, and the bot's answers to them should come before
21:00 too; and a campaign is never split over a night (half tonight, half tomorrow)."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

STOCKHOLM = ZoneInfo("Europe/Stockholm")
QUIET_FROM = time(21, 0)
QUIET_UNTIL = time(8, 0)
CAMPAIGN_CUTOFF = time(20, 30)


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


def release_at(now: datetime, duration_seconds: float) -> datetime:
    """When a campaign's messages on a quiet-hours channel may start, given how long sending
    them all takes: now, if they all go out by 20:30; else the next 08:00 (from 08:00 on, a
    campaign longer than the day starts anyway and waits out the night where it must)."""
    start = next_allowed(now)
    local = start.astimezone(STOCKHOLM)
    cutoff = datetime.combine(local.date(), CAMPAIGN_CUTOFF, tzinfo=STOCKHOLM)
    if start.timestamp() + duration_seconds <= cutoff.timestamp() or start != now:
        return start
    return datetime.combine(local.date() + timedelta(days=1), QUIET_UNTIL, tzinfo=STOCKHOLM)
