"""The city's notices a conversation was shown, for a copy of the person's data: nothing but
"was shown notice X" (its text in the person's language), read from the conversation's state
(`ConversationState.notices_shown`, which keeps the live ones only)."""

from __future__ import annotations

from bot.core.access.data import CITY_NOTICES, Record, Section
from bot.core.keys import CONV_STATE
from bot.core.notices.board import NoticeBoard
from bot.core.store import ConversationStore


async def shown_export(conversations: ConversationStore, board: NoticeBoard,
                       conversation: str) -> Section:
    state = await conversations.load(conversation)
    if not state.notices_shown:
        return Section(CITY_NOTICES)
    now = conversations.clock().timestamp()
    live = {notice.id: notice for notice in await board.current(now, cached=False)}
    language = state.language or board.fallback
    items: list[Record] = [
        {"text": live[shown].texts.get(language) or live[shown].texts.get(board.fallback, "")}
        for shown in state.notices_shown if shown in live]
    ttl = await conversations.redis.ttl(conversations.keys(CONV_STATE,
                                                           conversation=conversation))
    return Section(CITY_NOTICES, items, now + ttl if items and ttl > 0 else None)
