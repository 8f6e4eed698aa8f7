"""The interface every flow implements, so the engine routes by asking, not by name.

A flow owns a payload prefix (its buttons), a name (its value in `ConversationState.flow` while
it is active), and the intents that start or answer it. When the engine calls which hook is
the order of its stages, written once in the docstring of bot/core/dialogue.py.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import ClassVar

from bot.core.messages import Reply
from bot.core.payloads import Prefix
from bot.core.turn import Intent, Turn


class Flow(ABC):
    name: ClassVar[str]
    prefix: ClassVar[Prefix]
    intents: ClassVar[tuple[str, ...]]
    label: ClassVar[str]  # the intent reported (metrics, logs) for this flow's buttons

    def fixed_payloads(self) -> tuple[str, ...]:
        """Payloads this flow shows with a title from `replies.yml` (checked at start-up)."""
        return ()

    def accepts(self, payload: str) -> bool:
        """Whether `payload` (of this flow's prefix) is one this flow understands."""
        return self.prefix.owns(payload)

    def active(self, turn: Turn) -> bool:
        return turn.state.flow == self.name

    def engaged(self, turn: Turn) -> bool:
        """Whether a cancel word is meant for this flow (active, or holding the chat)."""
        return self.active(turn)

    def end(self, turn: Turn) -> None:
        turn.state.flow, turn.state.flow_data = None, {}

    @abstractmethod
    async def on_intent(self, turn: Turn, intent: Intent) -> list[Reply]:
        """One of `intents` was recognised (by NLU, a button or a menu number)."""

    @abstractmethod
    async def on_payload(self, turn: Turn, payload: str) -> list[Reply] | None:
        """A button of this flow; None: not now (the engine answers with the help menu)."""

    @abstractmethod
    async def on_cancel(self, turn: Turn) -> list[Reply]:
        """A cancel word ("avbryt") while this flow is engaged."""

    def holds(self, turn: Turn) -> bool:
        """Whether this flow takes every text message now (a coach chat), before menus and NLU
        (intents the engine always answers, such as deleting one's data, still get through)."""
        return False

    async def intercept(self, turn: Turn, text: str) -> list[Reply] | None:
        """A text message while `holds`; None lets it through after all."""
        return None

    async def on_text(self, turn: Turn, text: str) -> list[Reply] | None:
        """Free text while this flow is active, before NLU; None lets NLU decide."""
        return None

    async def on_understood(self, turn: Turn, intent: Intent) -> list[Reply] | None:
        """What NLU understood while this flow is active; None lets the engine act on it."""
        return None

    async def follow_up(self, turn: Turn, intent: str | None,
                        replies: list[Reply]) -> list[Reply]:
        """The replies to a message answered as `intent` (any flow's, not a fallback), with
        anything this flow adds to them (an offer); unchanged by default."""
        return replies
