"""The "That didn't help" button: a discreet way to say an answer missed, feeding the inbox.

After every topic or specific answer given to a free-text question, the button is added (not
on SMS, where every line costs). The question is remembered redacted in the conversation's
state until the next answer; pressing the button puts it in the review inbox once and offers a
coach instead.
"""

from __future__ import annotations

from bot.core.content import Content
from bot.core.flows.base import Flow
from bot.core.messages import Reply
from bot.core.payloads import HELP, REQUEST_COACH, REVIEW
from bot.core.review.inbox import ReviewInbox
from bot.core.review.redact import redact
from bot.core.turn import Intent, Turn

UNHELPFUL = REVIEW("unhelpful")


class ReviewFlow(Flow):
    name = "review"
    prefix = REVIEW
    intents = ()
    label = "unhelpful"

    def __init__(self, inbox: ReviewInbox, content: Content) -> None:
        self.inbox = inbox
        self.content = content

    def fixed_payloads(self) -> tuple[str, ...]:
        return (UNHELPFUL,)

    def accepts(self, payload: str) -> bool:
        return payload == UNHELPFUL

    async def on_intent(self, turn: Turn, intent: Intent) -> list[Reply]:
        raise AssertionError("the review flow owns no intent")

    async def on_payload(self, turn: Turn, payload: str) -> list[Reply] | None:
        question, turn.state.review_question = turn.state.review_question, None
        if question:
            await self.inbox.record(question, turn.language, turn.state.review_answer or "",
                                    "unhelpful")
        return [self.content.reply("unhelpful_thanks", turn.language,
                                   buttons=[REQUEST_COACH, HELP])]

    async def on_cancel(self, turn: Turn) -> list[Reply]:
        return []

    async def follow_up(self, turn: Turn, intent: str | None,
                        replies: list[Reply]) -> list[Reply]:
        answered = intent or ""
        if not answered.startswith("info_") or not turn.message.text or turn.message.payload:
            return replies
        turn.state.review_question = redact(turn.message.text, self.inbox.shared_words)
        turn.state.review_answer = turn.answered or answered
        if turn.short:
            return replies
        last = replies[-1]
        return [*replies[:-1],
                Reply(last.text, (*last.buttons, self.content.button(UNHELPFUL, turn.language)))]
