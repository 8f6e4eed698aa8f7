"""The working data of one message as it passes through the dialogue engine and its flows."""

from __future__ import annotations

from dataclasses import dataclass

from bot.messages import IncomingMessage
from bot.store import ConversationState


@dataclass(frozen=True)
class Intent:
    """What the person means, however it was recognised."""

    name: str
    confidence: float = 1.0
    district: str | None = None
    text: str = ""
    source: str = "nlu"  # nlu | payload | menu | keyword


@dataclass
class Turn:
    """One message being answered; handlers read and change it."""

    message: IncomingMessage
    state: ConversationState
    language: str
    erased: bool = False

    @property
    def conversation_id(self) -> str:
        return self.message.conversation_id

    @property
    def short(self) -> bool:
        """SMS: every segment costs, so replies take their short forms."""
        return self.message.channel == "sms"
