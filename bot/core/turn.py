"""The working data of one message as it passes through the dialogue engine and its flows."""

from __future__ import annotations

from dataclasses import dataclass, field

from bot.core.messages import IncomingMessage
from bot.core.redis_types import Command
from bot.core.store import ConversationState


@dataclass(frozen=True)
class Intent:
    """What the person means, however it was recognised."""

    name: str
    confidence: float = 1.0
    district: str | None = None
    text: str = ""
    source: str = "nlu"  # nlu | payload | menu | keyword
    answer: str | None = None  # a specific answer within the intent (`info_sfi/where`)


@dataclass
class Turn:
    """One message being answered; handlers read and change it."""

    message: IncomingMessage
    state: ConversationState
    language: str
    erased: bool = False
    label: str | None = None  # a flow may name the intent to report instead of its own
    completed: str | None = None  # what this turn achieved ("booking"), for flows' follow-ups
    answered: str | None = None  # the specific answer given (`info_sfi/where`), if one was
    district: str | None = None  # a district the message named (for the statistics)
    offer_language: bool = False  # the language was guessed from Arabizi: offer another once
    # Writes that go with the turn's own (state, transcript): sent in the same batch.
    staged: list[Command] = field(default_factory=list)

    @property
    def conversation_id(self) -> str:
        return self.message.conversation_id

    @property
    def short(self) -> bool:
        """Every character costs on this channel, so replies take their short forms."""
        return self.message.capabilities.short_replies
