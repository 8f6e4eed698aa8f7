"""A team's opening hours: intervals per weekday in Stockholm's local time, closed on the
calendar's holidays (bot/core/hours/holidays.py) and on the dates operators add.

Every instant is built from a local date and a wall-clock time in Europe/Stockholm, and instants
are compared and subtracted as timestamps (Python compares two datetimes of the same zone by
their wall-clock times), so the nights daylight-saving time changes move nothing: Monday 08:00
is 08:00 whatever the offset, and an open day of 00:00-24:00 on the night clocks go forward
lasts 23 hours.

A team without hours (none in config/teams.yml, neither its own nor the default) is always
staffed: Lotsen then knows nothing of when its coaches work and behaves as before hours existed
(`hours is None` below).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Protocol
from zoneinfo import ZoneInfo

from bot.core.hours.holidays import SWEDEN, SwedishHolidays

TIMEZONE = ZoneInfo("Europe/Stockholm")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_MINUTES = 24 * 60
SEARCH_DAYS = 800  # how far ahead `next_opening` looks (closed dates can be long ranges)


@dataclass(frozen=True)
class Interval:
    """Open from `start` to `end`, in minutes after local midnight (`end` may be 1440: 24:00)."""

    start: int
    end: int

    def __str__(self) -> str:
        return f"{_clock(self.start)}-{_clock(self.end)}"


def _clock(minutes: int) -> str:
    return f"{minutes // 60:02d}:{minutes % 60:02d}"


def _at(day: date, minutes: int) -> datetime:
    """The aware instant of `minutes` after midnight on the local date `day` (24:00 is the next
    day's midnight)."""
    if minutes >= DAY_MINUTES:
        return datetime.combine(day + timedelta(days=1), time(0), tzinfo=TIMEZONE)
    return datetime.combine(day, time(minutes // 60, minutes % 60), tzinfo=TIMEZONE)


@dataclass(frozen=True)
class OpeningHours:
    """`week[0]` is Monday's intervals (sorted, not overlapping), `week[6]` Sunday's."""

    week: tuple[tuple[Interval, ...], ...]
    closed_dates: frozenset[date] = frozenset()
    holidays: SwedishHolidays = field(default=SWEDEN, compare=False)

    def closed_on(self, day: date) -> bool:
        """Closed all day: a holiday, a closed date, or a weekday without hours."""
        return day in self.closed_dates or day in self.holidays or not self.week[day.weekday()]

    def intervals_on(self, day: date) -> list[tuple[datetime, datetime]]:
        """The day's open intervals as aware instants ([] on a closed day)."""
        if self.closed_on(day):
            return []
        return [(_at(day, i.start), _at(day, i.end)) for i in self.week[day.weekday()]]

    def is_open(self, at: datetime) -> bool:
        now = at.timestamp()
        return any(start.timestamp() <= now < end.timestamp()
                   for start, end in self.intervals_on(at.astimezone(TIMEZONE).date()))

    def next_opening(self, after: datetime) -> datetime | None:
        """The first instant at or after `after` when the team is open (`after` itself when it
        is open then); None if it is closed for the next 800 days."""
        first, now = after.astimezone(TIMEZONE).date(), after.timestamp()
        for offset in range(SEARCH_DAYS):
            for start, end in self.intervals_on(first + timedelta(days=offset)):
                if end.timestamp() > now:
                    return start if start.timestamp() > now else after
        return None

    def closes(self, at: datetime) -> datetime | None:
        """When the local day of `at` has its last open minute (the end of its last interval),
        if that is after `at`; None when the team opens no more that day."""
        intervals = self.intervals_on(at.astimezone(TIMEZONE).date())
        if intervals and intervals[-1][1].timestamp() > at.timestamp():
            return intervals[-1][1]
        return None

    def open_seconds(self, start: datetime, end: datetime) -> float:
        """How many seconds between `start` and `end` the team is open."""
        first, last = start.timestamp(), end.timestamp()
        if last <= first:
            return 0.0
        total = 0.0
        day, final = start.astimezone(TIMEZONE).date(), end.astimezone(TIMEZONE).date()
        while day <= final:
            for opens, closes in self.intervals_on(day):
                total += max(0.0, min(closes.timestamp(), last) - max(opens.timestamp(), first))
            day += timedelta(days=1)
        return total


class HasHours(Protocol):
    """A team, as far as its hours go (bot/core/handover/teams.py Team)."""

    @property
    def hours(self) -> OpeningHours | None: ...


def is_open(team: HasHours, at: datetime) -> bool:
    """Whether `team` is open at `at` (a team without hours always is)."""
    return team.hours is None or team.hours.is_open(at)


def next_opening(team: HasHours, after: datetime) -> datetime | None:
    """The first instant at or after `after` when `team` is open (`after` when it is open)."""
    return after if team.hours is None else team.hours.next_opening(after)


def staffed_seconds(team: HasHours, start: datetime, end: datetime) -> float:
    """The seconds between `start` and `end` that count for the SLA: the team's open time (all
    of it for a team without hours). Presence is not recorded over time, and a lead waiting
    while the team is open but nobody is at the panel is exactly what the SLA should flag."""
    if team.hours is None:
        return max(0.0, end.timestamp() - start.timestamp())
    return team.hours.open_seconds(start, end)
