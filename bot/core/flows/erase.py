"""Data deletion: "delete my data" asks for confirmation, then every eraser runs (bookings,
leads: found through the person's indexes) and the conversation's own keys are deleted through
the key registry. Yes and no work as buttons and as words ("ja", "nej")."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence

from bot.core.content import Content
from bot.core.flows.base import Flow
from bot.core.messages import Reply
from bot.core.payloads import ERASE
from bot.core.store import ConversationStore
from bot.core.turn import Intent, Turn

log = logging.getLogger("lotsen.dialogue")

Eraser = Callable[[str], Awaitable[object]]
YES, NO = ERASE("yes"), ERASE("no")


class ErasureFlow(Flow):
    name = "erase"
    prefix = ERASE
    intents = ("delete_my_data",)
    label = "delete_my_data"

    def __init__(self, content: Content, store: ConversationStore,
                 erasers: Sequence[Eraser] = ()) -> None:
        self.content = content
        self.store = store
        self.erasers = list(erasers)

    def fixed_payloads(self) -> tuple[str, ...]:
        return (YES, NO)

    def accepts(self, payload: str) -> bool:
        return payload in (YES, NO)

    async def on_intent(self, turn: Turn, intent: Intent) -> list[Reply]:
        turn.state.flow = self.name
        return [self.content.reply("delete_my_data", turn.language)]

    async def on_payload(self, turn: Turn, payload: str) -> list[Reply] | None:
        if not self.active(turn) or not self.accepts(payload):
            self.end(turn)
            return None  # a stale yes/no button erases nothing
        return await (self._erase(turn) if payload == YES else self._keep(turn))

    async def on_understood(self, turn: Turn, intent: Intent) -> list[Reply] | None:
        if intent.name == "affirm":
            return await self._erase(turn)
        if intent.name == "deny":
            return await self._keep(turn)
        self.end(turn)
        return None

    async def on_cancel(self, turn: Turn) -> list[Reply]:
        self.end(turn)
        return [self.content.reply("help", turn.language)]

    async def _keep(self, turn: Turn) -> list[Reply]:
        self.end(turn)
        turn.label = "deny"
        return [self.content.reply("erase_cancelled", turn.language)]

    async def _erase(self, turn: Turn) -> list[Reply]:
        self.end(turn)
        for eraser in self.erasers:
            await eraser(turn.conversation_id)
        await self.store.erase(turn.conversation_id)
        turn.erased = True
        log.info("conversation_erased", extra={"channel": turn.message.channel})
        return [self.content.reply("erased", turn.language)]
