"""What a copy of one person's data is made of: one `Section` per group, each with its records
and when the last of it expires by itself.

The stores and the channels' connectors write their own sections (an async `export(conversation)`
on each, listed in bot/runtime/wiring.py like the erasers), so what a copy holds is decided where
the data is kept, and a new store adds its collector beside its eraser. A record holds only what
the person wrote, chose or was told, in plain values: no lead id, no job id, no keyed hash, no
staff username, nothing of another person.

Times in records are ISO 8601 strings in UTC (`iso`); `kept_until` is a unix time, computed from
the times stored with the data (a transcript line's time plus the retention period, a booking's
end plus it, a subscription's end), so two copies made at the same moment say the same.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeAlias

# A value in a record: what JSON can hold.
Value: TypeAlias = str | int | float | bool | list["Value"] | dict[str, "Value"] | None
Record = dict[str, Value]

MESSAGES = "messages"          # the conversation's transcript (both sides)
CHAT_LOG = "chat_log"          # what was sent to a web chat session (coach replies, reminders)
BOOKINGS = "bookings"
SUBSCRIPTION = "subscription"  # notices asked for, with the consent record
HANDOVER = "handover"          # a request to talk to a coach, with its messages
CAMPAIGNS = "campaigns"        # notices (campaign messages) received in the last days
CITY_NOTICES = "city_notices"  # the city's notices shown with a reply (bot/core/notices/)
SATISFACTION = "satisfaction"  # the question about the coach chat was asked
OPT_OUT = "opt_out"            # the conversation said STOP
GROUPS = (MESSAGES, CHAT_LOG, BOOKINGS, SUBSCRIPTION, HANDOVER, CAMPAIGNS, CITY_NOTICES,
          SATISFACTION, OPT_OUT)

# Who said a line, as the copy names it (the stores' own words on the left).
SPEAKERS = {"user": "you", "bot": "lotsen", "coach": "coach"}


def iso(instant: float) -> str:
    """A unix time as ISO 8601 in UTC, to the second (`2026-11-23T11:00:00Z`)."""
    moment = datetime.fromtimestamp(int(instant), UTC)
    return moment.isoformat().replace("+00:00", "Z")


def instant(text: str) -> datetime:
    """An `iso` time back as an aware datetime."""
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@dataclass(frozen=True)
class Section:
    """One group of a person's data. `kept_until`: when the last of it expires by itself (unix
    time); None when nothing is kept, or when it has no end (an opt-out is kept until START)."""

    group: str
    items: list[Record] = field(default_factory=list)
    kept_until: float | None = None

    def __post_init__(self) -> None:
        if self.group not in GROUPS:
            raise ValueError(f"unknown group {self.group!r}; one of {', '.join(GROUPS)}")

    def merged(self, other: Section) -> Section:
        """Two collectors' parts of one group, as one section."""
        ends = [t for t in (self.kept_until, other.kept_until) if t is not None]
        return Section(self.group, [*self.items, *other.items], max(ends) if ends else None)


Collector = Callable[[str], Awaitable["Section | None"]]  # a conversation id -> its section


@dataclass(frozen=True)
class PersonalData:
    """Everything Lotsen keeps about one conversation (`<channel>:<address>`), as collected at
    `generated_at`. The address itself is left out: the person knows it, and a web chat's
    session id is the key to the chat."""

    channel: str
    language: str
    generated_at: float
    sections: dict[str, Section]  # every group of GROUPS, in that order

    def section(self, group: str) -> Section:
        return self.sections[group]

    @property
    def stopped(self) -> bool:
        """Whether the conversation said STOP (and has not said START since)."""
        return any(item.get("stopped") is True for item in self.sections[OPT_OUT].items)

    @property
    def empty(self) -> bool:
        """Nothing is kept (an opt-out not given is no data)."""
        return not self.stopped and not any(
            self.sections[group].items for group in GROUPS if group != OPT_OUT)
