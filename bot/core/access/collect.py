"""Collecting a copy of one person's data: every collector's section, in one `PersonalData`.

Made like erasure (bot/core/flows/erase.py): the wiring gives the list of collectors, one per
store or channel that keeps something about a person, so a copy holds what erasure deletes. The
configuration's ids in the sections (a drop-in's service and location, a coach team) are given
their names here, in the person's language: an id means nothing to the person reading the copy.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from bot.core.access.data import (
    BOOKINGS,
    GROUPS,
    HANDOVER,
    Collector,
    PersonalData,
    Record,
    Section,
)
from bot.core.booking.texts import BookingTexts
from bot.core.clock import Clock
from bot.core.handover.teams import Teams
from bot.core.store import ConversationStore

Namer = Callable[[str, str], str]  # (an id from the configuration, a language) -> its name


def _same(value: str, language: str) -> str:
    return value


@dataclass(frozen=True)
class Names:
    """How the configuration's ids read in a copy: a drop-in service, a location, a team."""

    service: Namer = _same
    location: Namer = _same
    team: Namer = _same

    def of(self, section: Section, language: str) -> Section:
        named: dict[str, dict[str, Namer]] = {
            BOOKINGS: {"service": self.service, "location": self.location},
            HANDOVER: {"team": self.team}}
        fields = named.get(section.group)
        if not fields:
            return section
        items: list[Record] = []
        for item in section.items:
            item = dict(item)
            for name, namer in fields.items():
                value = item.get(name)
                if isinstance(value, str):
                    item[name] = namer(value, language)
            items.append(item)
        return replace(section, items=items)


def configuration_names(texts: BookingTexts, teams: Teams) -> Names:
    """The names the person was shown: a service's title in their language, a location's and
    a team's name from the configuration (an id no longer configured stays as it is)."""
    def service(value: str, language: str) -> str:
        known = value in texts.schedule.services
        return texts.service(value, language) if known else value

    def team(value: str, language: str) -> str:
        return teams.teams[value].name if value in teams.teams else value

    return Names(service=service, location=lambda value, _: texts.location(value), team=team)


class Access:
    """`collect(conversation)`: what Lotsen keeps about one conversation, grouped."""

    def __init__(self, *, conversations: ConversationStore, collectors: Sequence[Collector],
                 names: Names, default_language: str, clock: Clock) -> None:
        self.conversations = conversations
        self.collectors = list(collectors)
        self.names = names
        self.default_language = default_language
        self.clock = clock

    async def language_of(self, conversation: str, fallback: str | None = None) -> str:
        """The conversation's own language, else `fallback` (a web chat session's), else the
        default."""
        state = await self.conversations.load(conversation)
        return state.language or fallback or self.default_language

    async def collect(self, conversation: str, language: str | None = None) -> PersonalData:
        """Every group of the person's data; a group nobody keeps anything of is empty. A
        collector's section for another conversation cannot occur: each is asked for this one
        conversation only, and finds it through its own index."""
        language = language or await self.language_of(conversation)
        found: dict[str, Section] = {}
        for collector in self.collectors:
            section = await collector(conversation)
            if section is None:
                continue
            section = self.names.of(section, language)
            found[section.group] = found[section.group].merged(section) \
                if section.group in found else section
        sections = {group: found.get(group) or Section(group) for group in GROUPS}
        return PersonalData(channel=conversation.partition(":")[0], language=language,
                            generated_at=int(self.clock().timestamp()), sections=sections)
