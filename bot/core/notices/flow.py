"""Notices on channels that have no page of their own to show them (Telegram, SMS, WhatsApp):
each live notice that applies to the person is sent once per conversation, before the next
answer (first, so that the answer's buttons stay the last reply's and so the menu).

Which notices a conversation was sent is kept in its state (`ConversationState.notices_shown`:
ids only, pruned to the live ones), which is all a notice adds to a person's data. A channel
that shows the notices on its page (`Capabilities.notices_in_page`: the web chat) gets none
here. The person's district, where the conversation has named one (this message, or the
booking or handover under way), narrows the notices to those meant for it.
"""

from __future__ import annotations

from collections.abc import Iterable

from bot.core.content import Content
from bot.core.flows.base import Flow
from bot.core.messages import Reply
from bot.core.notices.board import NoticeBoard
from bot.core.payloads import Prefix
from bot.core.turn import Intent, Turn

NOTICE = Prefix("/notice:")  # no buttons: the prefix only names the flow's family
TEXT_KEY = "city_notice"     # replies.yml: "Message from the City of Stockholm: {text}"


def known_district(turn: Turn) -> str | None:
    """The district the conversation has named, if any ("other" is none)."""
    named = turn.district or turn.state.flow_data.get("district")
    return named if isinstance(named, str) and named and named != "other" else None


class NoticeFlow(Flow):
    name = "notices"
    prefix = NOTICE
    intents = ()
    label = "notice"

    def __init__(self, board: NoticeBoard, content: Content) -> None:
        self.board = board
        self.content = content

    def accepts(self, payload: str) -> bool:
        return False

    async def on_intent(self, turn: Turn, intent: Intent) -> list[Reply]:
        return []  # answers no intent

    async def on_payload(self, turn: Turn, payload: str) -> list[Reply] | None:
        return None  # shows no buttons

    async def on_cancel(self, turn: Turn) -> list[Reply]:
        self.end(turn)  # never active, so never engaged
        return []

    async def follow_up(self, turn: Turn, intent: str | None,
                        replies: list[Reply]) -> list[Reply]:
        if turn.message.capabilities.notices_in_page:
            return replies
        now = self.board.clock().timestamp()
        live = await self.board.current(now)
        state = turn.state
        live_ids = {notice.id for notice in live}
        state.notices_shown = [i for i in state.notices_shown if i in live_ids]
        district = known_district(turn)
        fresh = [n for n in live if n.id not in state.notices_shown
                 and n.applies_to(district, self.board.teams)]
        if not fresh:
            return replies
        state.notices_shown = [*state.notices_shown, *(n.id for n in fresh)]
        notes = [self._reply(turn, n.text_in(turn.language, self.board.fallback)[1])
                 for n in fresh]
        return [*notes, *replies]

    def _reply(self, turn: Turn, text: str) -> Reply:
        """The notice with its sender named, in its short form where characters cost."""
        template = self.content.templates[TEXT_KEY]
        form = template.short if turn.short and template.short else template.text
        return Reply(self.content.catalogs.gettext(turn.language, form).format(text=text))


def notice_board(flows: Iterable[Flow]) -> NoticeBoard | None:
    """The engine's notice board (None where the notice flow is not wired)."""
    return next((f.board for f in flows if isinstance(f, NoticeFlow)), None)
