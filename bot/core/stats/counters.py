"""What the statistics count. The names are fixed (PRODUCT.md §8): the JSON, the CSV and the
report use them as they are."""

from __future__ import annotations

from dataclasses import dataclass

COUNTERS: tuple[str, ...] = (
    "conversations", "new_conversations", "returning_conversations", "messages", "answered",
    "specific_answers", "clarified", "not_understood", "nlu_busy", "nlu_down",
    "handovers_requested", "handovers_consented", "handovers_claimed", "handovers_closed",
    "bookings_made", "bookings_cancelled", "attended", "no_show",
    "subscriptions_started", "subscriptions_ended",
    "campaign_sent", "campaign_delivered", "campaign_replied",
)
# Beyond the fixed list: the buttons under an answer, conversation-days with an answer, and
# questions referred to another authority (topic: `out_of_scope/<authority>`).
EXTRA: tuple[str, ...] = ("helped", "not_helped", "conversations_answered", "referred")
SCORES: tuple[str, ...] = ("1", "2", "3", "4", "5")
SATISFACTION_PREFIX = "satisfaction_"
ALL: frozenset[str] = frozenset((*COUNTERS, *EXTRA, *(SATISFACTION_PREFIX + s for s in SCORES)))

SEPARATOR = "|"
SMALL = 5  # counts under this are shown as "<5" in the CSV and the report


def satisfaction(score: int) -> str:
    """The counter of one satisfaction answer (1 to 5)."""
    if not 1 <= score <= 5:
        raise ValueError(f"a satisfaction score is 1 to 5, not {score}")
    return f"{SATISFACTION_PREFIX}{score}"


@dataclass(frozen=True)
class Cell:
    """Where a count belongs besides its day: never a person, only what many people share."""

    channel: str
    language: str
    topic: str = ""     # the intent (`info_sfi`), or "" when none applies
    district: str = ""  # where known

    def field(self, counter: str) -> str:
        """The hash field of `counter` in this cell (the separator cannot occur in a part)."""
        if counter not in ALL:
            raise ValueError(f"unknown statistics counter {counter!r}")
        parts = (counter, self.channel, self.language, self.topic, self.district)
        return SEPARATOR.join(part.replace(SEPARATOR, "/") for part in parts)

    @classmethod
    def parse(cls, field: str) -> tuple[str, Cell]:
        counter, channel, language, topic, district = field.split(SEPARATOR)
        return counter, cls(channel, language, topic, district)
