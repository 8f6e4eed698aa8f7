"""One question after a coach closes a handover: how was it, 1 to 5, in the person's language
and on their channel; then an optional comment for the review inbox.

`ask_satisfaction` asks it (for the coach API's close): buttons where the channel has them,
else a short "reply 1–5" text without a numbered menu. It remembers the question in the
conversation's state like `ask_renewal` (bot/core/outreach/flow.py), so a pressed button, a
typed "4" or a typed "٤" (any script's digit) reaches this flow and not the closed coach chat.

Never asked: a conversation with no state (a campaign recipient who never wrote), one that said
STOP (the opt-out check is given in, the core names no channel), a lead the person left, and a
conversation asked in the last 7 days (`conv:{conversation}:satisfaction`, SET NX EX).

The answer is counted in the day's statistics (`satisfaction_<score>` in the cell of the lead's
channel, language, topic and district: no id, no text). A comment typed next, within an hour,
goes to the review inbox, redacted like every other entry and without a conversation id.
Payloads (`/satisfaction:`): `1` to `5` answer, `no` declines the comment.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Awaitable, Callable, Iterable
from enum import StrEnum

from bot.core.access.data import SATISFACTION as SATISFACTION_GROUP
from bot.core.access.data import Section, iso
from bot.core.content import Content
from bot.core.flows.base import Flow
from bot.core.handover.leads import Lead
from bot.core.keys import CONV_STATE, Erasure, Owner, declare
from bot.core.messages import Capabilities, Reply
from bot.core.payloads import SATISFACTION
from bot.core.places import fold
from bot.core.review.inbox import ReviewInbox
from bot.core.stats.counters import SCORES, Cell, satisfaction
from bot.core.stats.recorder import StatsRecorder
from bot.core.store import ConversationState, ConversationStore
from bot.core.turn import Intent, Turn

ASKED_DAYS = 7
COMMENT_SECONDS = 3600  # a text later than this after the score is a new message, not a comment
SCORE = {int(score): SATISFACTION(score) for score in SCORES}
NO_COMMENT = SATISFACTION("no")
ASKED = declare("conv:{conversation}:satisfaction", owner=Owner.CONVERSATION,
                expiry=f"{ASKED_DAYS} days", erasure=Erasure.WITH_CONVERSATION,
                note="the satisfaction question was asked (at most once a week)")

OptedOut = Callable[[str], Awaitable[bool]]  # whether a conversation said STOP


class Step(StrEnum):
    """What the flow waits for (`flow_data["step"]`)."""

    SCORE = "score"
    COMMENT = "comment"


def typed_score(text: str) -> int | None:
    """A score typed as one digit from 1 to 5 in any script ("4", "٤", "۴", "４"), perhaps
    with a full stop; None for anything else."""
    typed = text.strip().rstrip(".!")
    if len(typed) != 1:
        return None
    value = unicodedata.digit(typed, -1)
    return value if 1 <= value <= 5 else None


def _letters(text: str) -> str:
    return "".join(ch for ch in fold(text) if ch.isalnum())


class SatisfactionFlow(Flow):
    name = "satisfaction"
    prefix = SATISFACTION
    intents = ()
    label = "satisfaction"

    def __init__(self, content: Content, conversations: ConversationStore, inbox: ReviewInbox,
                 opted_out: OptedOut, stats: StatsRecorder | None = None) -> None:
        self.content = content
        self.conversations = conversations
        self.inbox = inbox
        self.opted_out = opted_out
        self.stats = stats
        titles = [content.button(NO_COMMENT, code).title for code in content.languages.enabled]
        # "No thanks" typed instead of pressed, in any language (or its first word: "nej").
        self.declines = {_letters(t) for t in titles} | {_letters(t.split()[0]) for t in titles}

    def fixed_payloads(self) -> tuple[str, ...]:
        return (*SCORE.values(), NO_COMMENT)

    def accepts(self, payload: str) -> bool:
        return payload in SCORE.values() or payload == NO_COMMENT

    def _step(self, turn: Turn) -> str | None:
        return turn.state.flow_data.get("step") if self.active(turn) else None

    def _reply(self, turn: Turn, key: str) -> Reply:
        """A reply in the short form and without a menu where every character costs."""
        return self.content.reply(key, turn.language, short=turn.short,
                                  buttons=() if turn.short else None)

    # ------------------------------------------------------------------ entry points
    async def on_intent(self, turn: Turn, intent: Intent) -> list[Reply]:
        raise AssertionError("the satisfaction flow owns no intent")

    async def on_cancel(self, turn: Turn) -> list[Reply]:
        self.end(turn)
        return [self._reply(turn, "satisfaction_done")]

    async def on_payload(self, turn: Turn, payload: str) -> list[Reply] | None:
        """A score while the question is open, or "No thanks" while a comment is; any other
        press (a button from a question already answered) is not an answer: None."""
        step = self._step(turn)
        score = next((n for n, p in SCORE.items() if p == payload), None)
        if score is not None and step == Step.SCORE:
            return self.scored(turn, score)
        if payload == NO_COMMENT and step == Step.COMMENT:
            self.end(turn)
            return [self._reply(turn, "satisfaction_done")]
        return None

    async def on_text(self, turn: Turn, text: str) -> list[Reply] | None:
        """A typed digit answers the question; the next text after it is the comment. None lets
        the engine read anything else as an ordinary message."""
        step = self._step(turn)
        if step == Step.SCORE:
            score = typed_score(text)
            return self.scored(turn, score) if score is not None else None
        if step != Step.COMMENT:
            return None
        data = turn.state.flow_data
        if turn.message.received_at.timestamp() - float(data["at"]) > COMMENT_SECONDS:
            return None
        self.end(turn)
        if _letters(text) in self.declines:
            return [self._reply(turn, "satisfaction_done")]
        await self.inbox.record(text, turn.language, f"satisfaction_{data['score']}", "comment")
        return [self._reply(turn, "satisfaction_comment_thanks")]

    # ------------------------------------------------------------------ steps
    def scored(self, turn: Turn, score: int) -> list[Reply]:
        data = turn.state.flow_data
        if self.stats is not None:
            cell = Cell(turn.message.channel, str(data.get("language") or turn.language),
                        str(data.get("topic", "")), str(data.get("district", "")))
            turn.staged += self.stats.writes(satisfaction(score), cell)
        turn.state.flow_data = {"step": Step.COMMENT, "score": score,
                                "at": turn.message.received_at.timestamp()}
        return [self._reply(turn, "satisfaction_thanks")]

    async def ask(self, lead: Lead, capabilities: Capabilities) -> list[Reply]:
        """The question for the person of a lead just closed, or nothing (see the module)."""
        conversation = lead.conversation
        if lead.fields.get("user_left"):
            return []
        redis, keys = self.conversations.redis, self.conversations.keys
        raw = await redis.get(keys(CONV_STATE, conversation=conversation))
        if raw is None or await self.opted_out(conversation):
            return []  # never wrote (or the state has expired), or said STOP
        asked_at = repr(self.conversations.clock().timestamp())  # for a copy of one's data
        if not await redis.set(keys(ASKED, conversation=conversation), asked_at, nx=True,
                               ex=ASKED_DAYS * 86400):
            return []  # asked already this week
        language = lead.fields.get("language") or "sv"
        if not self.content.languages.is_enabled(language):
            language = self.content.languages.default
        district = lead.fields.get("district", "")
        state = ConversationState.from_json(raw)
        state.flow = self.name
        state.flow_data = {"step": Step.SCORE, "language": language,
                           "topic": lead.fields.get("topic", ""),
                           "district": "" if district == "other" else district}
        state.menu = list(SCORE.values())  # a typed number picks its score
        if state.handover_lead == lead.id:
            state.handover_lead = None  # closed: the answer is not for the coach
        await self.conversations.save(conversation, state)
        if not capabilities.buttons:  # "reply 1–5", no numbered lines
            return [self.content.reply("satisfaction_question", language, short=True,
                                       buttons=())]
        return [self.content.reply("satisfaction_question", language,
                                   short=capabilities.short_replies)]


async def asked_export(conversations: ConversationStore, conversation: str) -> Section:
    """Whether (and when) the question was asked, for a copy of the person's data; kept
    ASKED_DAYS after it was asked. A mark written before it held its time ("1") is dated
    from its expiry."""
    redis, keys = conversations.redis, conversations.keys
    key = keys(ASKED, conversation=conversation)
    raw = await redis.get(key)
    if raw is None:
        return Section(SATISFACTION_GROUP)
    if raw == "1":
        at = conversations.clock().timestamp() + max(0, await redis.ttl(key)) \
            - ASKED_DAYS * 86400
    else:
        at = float(raw)
    return Section(SATISFACTION_GROUP, [{"asked_at": iso(at)}], at + ASKED_DAYS * 86400)


async def ask_satisfaction(flow: SatisfactionFlow, lead: Lead,
                           capabilities: Capabilities) -> list[Reply]:
    """The satisfaction question after `lead` was closed ([] when it is not to be asked)."""
    return await flow.ask(lead, capabilities)


def satisfaction_flow(flows: Iterable[Flow]) -> SatisfactionFlow | None:
    """The engine's satisfaction flow (None where it is not wired)."""
    return next((f for f in flows if isinstance(f, SatisfactionFlow)), None)
