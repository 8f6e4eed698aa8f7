"""The "This helped" and "That didn't help" buttons: a discreet way to say whether an answer
hit, counted in the statistics and feeding the inbox.

After every topic or specific answer given to a free-text question, both buttons are added
(not on SMS, where every line costs). The question is remembered redacted in the conversation's
state until the next answer. Either press is counted once per answer (`helped`/`not_helped`,
per channel, language and the answered topic: no id, no text); "That didn't help" also puts the
question in the review inbox and offers a coach instead, "This helped" thanks briefly.
"""

from __future__ import annotations

from bot.core.content import Content
from bot.core.flows.base import Flow
from bot.core.messages import Reply
from bot.core.payloads import HELP, REQUEST_COACH, REVIEW
from bot.core.review.inbox import ReviewInbox
from bot.core.review.redact import redact
from bot.core.stats.counters import Cell
from bot.core.stats.recorder import StatsRecorder
from bot.core.turn import Intent, Turn

UNHELPFUL = REVIEW("unhelpful")
HELPFUL = REVIEW("helpful")


class ReviewFlow(Flow):
    name = "review"
    prefix = REVIEW
    intents = ()
    label = "unhelpful"

    def __init__(self, inbox: ReviewInbox, content: Content,
                 stats: StatsRecorder | None = None) -> None:
        self.inbox = inbox
        self.content = content
        self.stats = stats

    def fixed_payloads(self) -> tuple[str, ...]:
        return (HELPFUL, UNHELPFUL)

    def accepts(self, payload: str) -> bool:
        return payload in (HELPFUL, UNHELPFUL)

    async def on_intent(self, turn: Turn, intent: Intent) -> list[Reply]:
        raise AssertionError("the review flow owns no intent")

    async def on_payload(self, turn: Turn, payload: str) -> list[Reply] | None:
        question, turn.state.review_question = turn.state.review_question, None
        answer, turn.state.review_answer = turn.state.review_answer, None
        helped = payload == HELPFUL
        if answer is not None and self.stats is not None:  # once per answer
            topic = answer.partition("/")[0]
            turn.staged += self.stats.writes("helped" if helped else "not_helped",
                                             Cell(turn.message.channel, turn.language, topic))
        if helped:
            turn.label = "helpful"
            return [self.content.reply("helpful_thanks", turn.language)]
        if question:
            await self.inbox.record(question, turn.language, answer or "", "unhelpful")
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
        pressed = self.content.buttons((HELPFUL, UNHELPFUL), turn.language)
        return [*replies[:-1], Reply(last.text, (*last.buttons, *pressed))]
