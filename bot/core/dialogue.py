"""The dialogue engine: one `IncomingMessage` in, replies out, state in Redis.

An explicit state machine rather than Rasa Core, so that flows are deterministic and testable.
Flows (booking, handover, data deletion, ...) are parts that implement `Flow`
(bot/core/flows/base.py); the engine keeps a list of them and routes by asking them.

**The order of decisions** for one message is the list `DialogueEngine.stages`, and this is the
only place it is written down (README and docs link here). Each stage either answers or lets the
message through to the next:

1. `refuse_too_long`: a message over `LOTSEN_MAX_MESSAGE_CHARS` is refused (nothing stored or
   counted);
2. `refuse_over_rate`: beyond `LOTSEN_RATE_LIMIT_PER_MINUTE` messages in a minute, one polite
   answer per window, then silence (counted, nothing else stored);
3. `choose_language`: the reply language (bot.core.language: a choice > the page's language >
   detection > the last language > the default), and the campaign the person came from;
4. `pressed_button`: a button payload goes to the flow that owns its prefix, to the language
   menu, or to the intent it names (`/<intent>`);
5. `answer_empty`: nothing but white space;
6. `refuse_personnummer`: a personal identity number is refused and not stored (a phone number
   is fine where the flow asked for one);
7. `cancel_engaged_flow`: a cancel word ("avbryt") goes to the engaged flow;
8. `give_to_holding_flow`: a flow that holds the chat (a coach chat) takes the text, except an
   intent answered in any state (`ALWAYS_ANSWERED`: deleting one's data);
9. `pick_from_menu`: a bare number picks that entry of the last menu;
10. `give_to_active_flow`: the active flow reads the free text first (`Flow.on_text`);
11. `understand`: NLU (all replicas busy: the "many people are writing" topic menu; Rasa down:
    the numbered topic menu), then the active flow's reading of what NLU understood; below
    `LOTSEN_NLU_THRESHOLD` a clarifying menu (after two misunderstandings in a row: the offer of
    a coach); two readings closer than `LOTSEN_DISAMBIGUATION_MARGIN`: "did you mean" with both
    and "something else" (bot/core/disambiguation.py); otherwise the answer from content or the
    flow that owns the intent (a question for another authority: a referral, config/referrals.yml).

After the deciding stage, every flow may add to a non-fallback answer (`Flow.follow_up`: an
offer), the first answer to Arabic written in Latin letters offers another language, and the
buttons of the last reply are remembered as the numbered menu.

Redis: a turn reads once (`ConversationStore.open`: state, this minute's count, the parse
cache's entry and what the channel asks for) and writes once (count, state, transcript lines,
what the stages staged in `Turn.staged`, and the channel's own keys), each as one batch
(bot/core/batch.py), so an ordinary message costs two round trips.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any, Protocol

from bot.core import batch, payloads
from bot.core.content import Content, ContentError
from bot.core.disambiguation import CloseCall, closest_call
from bot.core.flows.base import Flow
from bot.core.handover import personnummer
from bot.core.i18n import LanguageTable
from bot.core.language import LanguageDetector, explicit_choice
from bot.core.messages import IncomingMessage, Outcome, Reply
from bot.core.metrics import CAMPAIGN_STARTS, FALLBACKS, MESSAGES, NLU_LATENCY
from bot.core.nlu import NLUBusy, NLUUnavailable, Parser, ParseResult
from bot.core.nlu.cache import CachedParser, Lookup
from bot.core.places import Location, Places, format_hours
from bot.core.redis_types import Command
from bot.core.referrals import Referrals
from bot.core.review.inbox import ReviewInbox
from bot.core.stats.counters import Cell
from bot.core.stats.recorder import StatsRecorder
from bot.core.store import ConversationState, ConversationStore
from bot.core.turn import Intent, Turn

log = logging.getLogger("lotsen.dialogue")

MISUNDERSTANDINGS_BEFORE_COACH = 2
# Intents answered in any state, even while a flow holds the chat (a coach chat): a person can
# always have their data deleted, or ask for a copy of it.
ALWAYS_ANSWERED = ("delete_my_data", "data_access")
# Answers from facts rather than a topic's text; the statistics count them as answered too.
PLACE_INTENTS = ("ask_location", "ask_opening_hours")


Handler = Callable[[Turn, Intent], Awaitable[list[Reply]]]


class ChannelTurn(Protocol):
    """A connector's own reads and writes, done in the engine's two round trips of a turn."""

    def reads(self) -> list[Command]:
        """What to read with the conversation (the replies come to `loaded`, in order)."""

    def loaded(self, message: IncomingMessage, replies: list[Any]) -> IncomingMessage:
        """The message as the reads complete it (e.g. the session's language); may raise to
        stop the turn before anything is written."""

    def writes(self, outcome: Outcome) -> list[Command]:
        """What to write for this outcome, with the turn's own writes."""


@dataclass
class Step:
    """One message on its way through the stages."""

    turn: Turn
    text: str             # the message's text, stripped
    sent: int             # messages of this conversation in the current minute, this one too
    stored: bool = True   # False: a refusal; no state, transcript or follow-up is kept
    counted: bool = True  # False: not counted in the per-minute window either
    active: Flow | None = None  # the active flow, as found before it read the free text
    cached: Lookup | None = None  # the parse cache's entry for the text, read with the state


Stage = Callable[[Step], Awaitable[Outcome | None]]


class DialogueEngine:
    def __init__(self, *, store: ConversationStore, nlu: Parser, content: Content,
                 languages: LanguageTable, detector: LanguageDetector, places: Places,
                 threshold: float, max_message_chars: int, rate_limit_per_minute: int,
                 flows: Sequence[Flow] = (), answer_threshold: float = 0.5,
                 review: ReviewInbox | None = None, max_in_flight: int = 0,
                 stats: StatsRecorder | None = None, disambiguation_margin: float = 0.0,
                 referrals: Referrals | None = None) -> None:
        self.store = store
        self.nlu = nlu
        self.content = content
        self.languages = languages
        self.detector = detector
        self.places = places
        self.threshold = threshold
        self.answer_threshold = answer_threshold
        self.disambiguation_margin = disambiguation_margin  # 0: never ask "did you mean"
        self.referrals = referrals
        # What a "did you mean" may offer as a topic: the clarifying menu's intents but "help".
        self.offerable = frozenset(content.menus["clarifiable"]) - {"help"}
        self.review = review
        self.stats = stats
        self.max_chars = max_message_chars
        self.rate_limit = rate_limit_per_minute
        self.flows = list(flows)
        self.max_in_flight = max_in_flight  # 0: no limit
        self.in_flight = 0
        self.handlers: dict[str, Handler] = {
            "ask_location": self._ask_location,
            "ask_opening_hours": self._ask_opening_hours,
            "change_language": self._change_language,
            "out_of_scope": self._out_of_scope,
        }
        self.stages: list[Stage] = [
            self.refuse_too_long, self.refuse_over_rate, self.choose_language,
            self.pressed_button, self.answer_empty, self.refuse_personnummer,
            self.cancel_engaged_flow, self.give_to_holding_flow, self.pick_from_menu,
            self.give_to_active_flow, self.understand,
        ]
        self.flow_of_intent: dict[str, Flow] = {}
        for flow in self.flows:
            for name in flow.intents:
                if name in self.flow_of_intent or name in self.handlers:
                    raise ValueError(f"intent {name!r} is answered by two handlers")
                self.flow_of_intent[name] = flow

    def flow(self, name: str) -> Flow:
        return next(f for f in self.flows if f.name == name)

    # ---------------------------------------------------------------- start-up check
    def known_payload(self, payload: str) -> bool:
        if payloads.LANGUAGE.owns(payload):
            return self.languages.is_enabled(payload.removeprefix(payloads.LANGUAGE.value))
        owner = next((f for f in self.flows if f.prefix.owns(payload)), None)
        if owner is not None:
            return owner.accepts(payload)
        name = payloads.intent_name(payload)
        return name is not None and (self.content.has(name) or name in self.flow_of_intent)

    def check_payloads(self) -> None:
        """Every button payload in replies.yml and every fixed payload of a flow must be one
        the engine understands (and a flow's must have a title): a typo stops the start."""
        places: list[tuple[str, str]] = [(p, "replies.yml buttons") for p in
                                          self.content.button_titles]
        places += [(p, f"replies.yml menu {name!r}") for name, menu in self.content.menus.items()
                   if name != "clarifiable" for p in menu]
        places += [(p, f"replies.yml reply {key!r}") for key, template in
                   self.content.templates.items() for p in template.buttons]
        places += [(payloads.intent(name), "replies.yml menu 'clarifiable'")
                   for name in self.content.menus["clarifiable"]]
        for flow in self.flows:
            for payload in flow.fixed_payloads():
                if payload not in self.content.button_titles:
                    raise ContentError(f"flow {flow.name!r} shows button {payload!r}, which has "
                                       f"no title in replies.yml")
                places.append((payload, f"flow {flow.name!r}"))
        for payload, where in places:
            if not self.known_payload(payload):
                raise ContentError(f"unknown button payload {payload!r} in {where}")

    # ---------------------------------------------------------------- entry point
    async def handle(self, message: IncomingMessage, channel: ChannelTurn | None = None) -> Outcome:
        """The outcome of one message. Beyond `max_in_flight` messages at once in this process
        (a peak the CPU cannot keep up with), free text is answered at once with the "many
        people are writing" menu, before anything is read or stored: a cheap, honest answer
        instead of a queue in which every message waits seconds. Buttons and menu numbers are
        always handled (they need no NLU and carry bookings and confirmations).

        `channel` lets a connector read and write its own keys in the turn's two round trips."""
        text = message.text.strip()
        if (self.max_in_flight and self.in_flight >= self.max_in_flight and text
                and message.payload is None and not text.isdigit()):
            language = message.language_hint if message.language_hint and \
                self.languages.is_enabled(message.language_hint) else self.languages.default
            if self.stats is not None:
                await self.stats.add_many([(name, Cell(message.channel, language))
                                           for name in ("messages", "nlu_busy")])
            return self._topic_menu_outcome(language, message.capabilities.buttons, "nlu_busy")
        self.in_flight += 1
        try:
            return await self._handle(message, channel)
        finally:
            self.in_flight -= 1

    async def _handle(self, message: IncomingMessage, channel: ChannelTurn | None) -> Outcome:
        cid, text = message.conversation_id, message.text.strip()
        reads = [channel.reads()] if channel else []
        lookup = await self._cache_lookup(message, text)
        if lookup is not None:
            reads.append(lookup.reads())
        opened = await self.store.open(cid, reads)
        if channel is not None:
            message = channel.loaded(message, opened.extra[0])
        if lookup is not None:
            lookup.found(opened.extra[-1])
        turn = Turn(message=message, state=opened.state,
                    language=self._language_for(message, opened.state, detect=False))
        step = Step(turn, text, opened.sent_before + 1, cached=lookup)
        outcome = await self._decide(step)
        if self.stats is not None and step.stored and not turn.erased:
            turn.staged += await self._stats_writes(step, outcome)
        writes = [] if turn.erased else self._turn_writes(step, outcome)  # erased: nothing
        writes += turn.staged                      # of this conversation is written again
        if channel is not None:
            writes += channel.writes(outcome)
        await batch.run(self.store.redis, writes)
        return outcome

    async def _cache_lookup(self, message: IncomingMessage, text: str) -> Lookup | None:
        """The parse cache's entry for free text NLU may read (not for buttons, numbers or
        over-long text), so that it is read with the conversation's state."""
        if not isinstance(self.nlu, CachedParser) or message.payload or not text or \
                text.isdigit() or len(text) > self.max_chars:
            return None
        return await self.nlu.lookup(text)

    async def _decide(self, step: Step) -> Outcome:
        """The first stage that answers decides; the order is the module docstring's."""
        for stage in self.stages:
            outcome = await stage(step)
            if outcome is not None:
                break
        else:  # pragma: no cover - `understood` always answers
            raise RuntimeError("no stage answered")
        turn = step.turn
        if step.stored:
            if not turn.erased and outcome.fallback is None and outcome.replies:
                for flow in self.flows:
                    outcome.replies = await flow.follow_up(turn, outcome.intent, outcome.replies)
                if turn.offer_language and turn.language == outcome.language:
                    outcome.replies[-1] = self._with_language_offer(turn, outcome.replies[-1])
            MESSAGES.labels(channel=turn.message.channel, language=turn.language).inc()
        if turn.erased:
            outcome.erased = True
        return outcome

    async def _stats_writes(self, step: Step, outcome: Outcome) -> list[Command]:
        """The day's counters this message adds to (bot/core/stats/): no id, no text. The
        conversation's first message of a day costs one round trip more (new or returning)."""
        assert self.stats is not None
        turn, state = step.turn, step.turn.state
        today = self.stats.today()
        cell = Cell(turn.message.channel, turn.language)
        writes: list[Command] = []
        if state.stats_day != today.isoformat():
            writes += await self.stats.visit(turn.conversation_id, cell, state.stats_day)
            state.stats_day = today.isoformat()
        fallback, intent = outcome.fallback, outcome.intent or ""
        topic = intent if fallback is None else ""
        counted = ["messages"]
        if fallback in ("nlu_busy", "nlu_down"):
            counted.append(fallback)
        elif fallback in ("clarify", "disambiguate"):
            counted.append("clarified")
        elif intent == "out_of_scope" and turn.answered:
            counted.append("referred")
            topic = turn.answered
        elif fallback == "coach_offer" or intent == "out_of_scope":
            counted.append("not_understood")
        elif fallback is None and (intent.startswith("info_") or intent in PLACE_INTENTS
                                   or turn.answered):
            counted.append("answered")
            if turn.answered:
                counted.append("specific_answers")
            if state.stats_answered_day != today.isoformat():
                state.stats_answered_day = today.isoformat()
                writes += self.stats.writes("conversations_answered", cell, 1, today)
        topical = Cell(cell.channel, cell.language, topic, turn.district or "")
        for name in counted:
            writes += self.stats.writes(name, topical, 1, today)
        return writes

    def _turn_writes(self, step: Step, outcome: Outcome) -> list[Command]:
        """The message's count, the conversation's state and its transcript lines, written with
        the turn's other keys (a refusal is only counted, or not even that)."""
        turn, state = step.turn, step.turn.state
        if not step.stored:
            return self.store.turn_writes(turn.conversation_id, counted=step.counted, state=None)
        state.language = turn.language
        state.menu = [b.payload for b in outcome.replies[-1].buttons] if outcome.replies else []
        if outcome.intent and outcome.intent.startswith("info_"):
            state.last_intent = outcome.intent
        payload = turn.message.payload
        said = personnummer.redact(step.text) or (
            f"[{self.content.describe(payload, turn.language)}]" if payload else "")
        return self.store.turn_writes(turn.conversation_id, counted=step.counted, state=state,
                                      lines=[("user", said)] +
                                      [("bot", reply.text) for reply in outcome.replies])

    def _language_for(self, message: IncomingMessage, state: ConversationState,
                      detect: bool = True) -> str:
        payload = message.payload or ""
        if payloads.LANGUAGE.owns(payload):
            chosen = payload.removeprefix(payloads.LANGUAGE.value)
            if self.languages.is_enabled(chosen):
                return chosen
        candidates: list[str | None] = []
        if state.language_chosen:
            candidates.append(state.language)
        if message.language_chosen:
            candidates.append(message.language_hint)
        if detect and message.text:
            candidates.append(self.detector.detect(message.text, previous=state.language))
        candidates += [state.language, message.language_hint]
        return next((code for code in candidates
                     if code is not None and self.languages.is_enabled(code)),
                    self.languages.default)

    # ---------------------------------------------------------------- the stages
    async def refuse_too_long(self, step: Step) -> Outcome | None:
        if len(step.text) <= self.max_chars:
            return None
        step.stored = step.counted = False
        FALLBACKS.labels(reason="too_long").inc()
        return Outcome([self.content.reply("too_long", step.turn.language, length=len(step.text),
                                           limit=self.max_chars)], step.turn.language,
                       fallback="too_long")

    async def refuse_over_rate(self, step: Step) -> Outcome | None:
        if step.sent <= self.rate_limit:
            return None
        step.stored = False
        FALLBACKS.labels(reason="rate_limited").inc()
        # One polite answer per window; after it, silence (on SMS every answer is paid).
        replies = [self.content.reply("rate_limited", step.turn.language)] \
            if step.sent == self.rate_limit + 1 else []
        return Outcome(replies, step.turn.language, fallback="rate_limited")

    async def choose_language(self, step: Step) -> Outcome | None:
        turn = step.turn
        turn.language = self._language_for(turn.message, turn.state)
        state = turn.state
        if turn.language == "ar" and not state.language_chosen and not state.language_offered \
                and not turn.message.language_chosen and turn.message.payload is None \
                and self.detector.wrote_arabizi(step.text):
            turn.offer_language = True
        source = turn.message.source
        if source and turn.state.source is None:
            turn.state.source = source  # the first campaign link counts
            CAMPAIGN_STARTS.labels(channel=turn.message.channel, source=source[:32]).inc()
        return None

    async def pressed_button(self, step: Step) -> Outcome | None:
        payload = step.turn.message.payload
        return await self._act_payload(step.turn, payload) if payload else None

    async def answer_empty(self, step: Step) -> Outcome | None:
        if step.text:
            return None
        return Outcome([self.content.reply("empty", step.turn.language)], step.turn.language,
                       fallback="empty")

    async def refuse_personnummer(self, step: Step) -> Outcome | None:
        turn, text = step.turn, step.text
        asked_for_phone = turn.state.flow_data.get("step") == "phone"
        if not personnummer.contains(text) or (asked_for_phone and
                                               personnummer.looks_like_phone(text)):
            return None
        FALLBACKS.labels(reason="personnummer").inc()
        return Outcome([self.content.reply("personnummer_refused", turn.language,
                                           buttons=turn.state.menu)],
                       turn.language, fallback="personnummer")

    async def cancel_engaged_flow(self, step: Step) -> Outcome | None:
        turn = step.turn
        engaged = next((f for f in self.flows if f.engaged(turn)), None)
        if engaged is None or step.text.lower() not in self.languages.cancel_words:
            return None
        return self._flow_outcome(turn, engaged, await engaged.on_cancel(turn), "cancel_flow")

    async def give_to_holding_flow(self, step: Step) -> Outcome | None:
        turn = step.turn
        holding = next((f for f in self.flows if f.holds(turn)), None)
        if holding is None:
            return None
        overriding = await self._always_answered(step.text)
        if overriding is not None:
            return await self._act(turn, overriding)
        taken = await holding.intercept(turn, step.text)
        return self._flow_outcome(turn, holding, taken) if taken is not None else None

    async def pick_from_menu(self, step: Step) -> Outcome | None:
        picked = self._from_menu(step.turn.state, step.text)
        return await self._act_payload(step.turn, picked) if picked is not None else None

    async def give_to_active_flow(self, step: Step) -> Outcome | None:
        turn = step.turn
        step.active = next((f for f in self.flows if f.active(turn)), None)
        if step.active is None:
            return None
        answered = await step.active.on_text(turn, step.text)
        return self._flow_outcome(turn, step.active, answered) if answered is not None else None

    async def understand(self, step: Step) -> Outcome:
        turn, text, active = step.turn, step.text, step.active
        try:
            parsed = await self._parse(text, step)
        except NLUBusy:
            return self._topic_menu(turn, "nlu_busy")
        except NLUUnavailable as exc:
            log.warning("nlu_unavailable", extra={"detail": str(exc)})
            return self._topic_menu(turn, "nlu_down")
        if self.review is not None:
            turn.staged += self.review.seen_writes(turn.language)
        intent = Intent(parsed.intent, parsed.confidence, parsed.entity("district"), text,
                        answer=self.specific_answer(parsed))
        turn.district = intent.district
        if active is not None:
            answered = await active.on_understood(turn, intent)
            if answered is not None:
                return self._flow_outcome(turn, active, answered)
            if not active.active(turn):  # the flow stepped aside: act on what was said
                return await self._act(turn, intent)
        call = self.close_call(parsed)
        if call is not None:
            return self._did_you_mean(turn, parsed, call)
        if parsed.confidence < self.threshold:
            await self._keep_for_review(turn, text, parsed.intent, "clarify")
            return self._clarify(turn, parsed)
        if intent.name == "out_of_scope" and intent.answer is None:
            await self._keep_for_review(turn, text, parsed.intent, "out_of_scope")
        return await self._act(turn, intent)

    # ---------------------------------------------------------------- understanding
    def specific_answer(self, parsed: ParseResult) -> str | None:
        """The specific answer to give within the parsed intent, or None for the topic's own
        answer: the selector must be confident, agree with the intent and name an answer
        that has content (`<intent>/overview` is the topic answer itself)."""
        key = parsed.answer
        if not key or parsed.answer_confidence < self.answer_threshold:
            return None
        if key.partition("/")[0] != parsed.intent or not self.content.has(key):
            return None
        return key

    def closest_call(self, parsed: ParseResult) -> CloseCall | None:
        """The closest tie between two readings the bot could offer (bot/core/disambiguation.py),
        whether or not it is within the margin (the parse API reports it for `make eval`)."""
        return closest_call(parsed, offerable=self.offerable, has_answer=self.content.has,
                            threshold=self.threshold, answer_threshold=self.answer_threshold,
                            best_answer=self.specific_answer(parsed))

    def close_call(self, parsed: ParseResult) -> CloseCall | None:
        """The tie to ask about: the closest one, when it is within the margin."""
        call = self.closest_call(parsed) if self.disambiguation_margin > 0 else None
        return call if call is not None and call.gap < self.disambiguation_margin else None

    async def _keep_for_review(self, turn: Turn, text: str, predicted: str, reason: str) -> None:
        if self.review is not None:
            await self.review.record(text, turn.language, predicted, reason)

    async def _always_answered(self, text: str) -> Intent | None:
        """The intent of `text` if it is one answered in any state (NLU down: None)."""
        try:
            parsed = await self._parse(text)
        except NLUUnavailable:
            return None
        if parsed.intent in ALWAYS_ANSWERED and parsed.confidence >= self.threshold:
            return Intent(parsed.intent, parsed.confidence, text=text)
        return None

    def _flow_outcome(self, turn: Turn, flow: Flow, replies: list[Reply],
                      label: str | None = None) -> Outcome:
        return Outcome(replies, turn.language, turn.label or label or flow.label)

    async def _parse(self, text: str, step: Step | None = None) -> ParseResult:
        """The parse of `text`; with the turn's cache entry read already (`step.cached`), a hit
        costs nothing and a miss is written with the turn's other keys."""
        started = time.perf_counter()
        try:
            lookup = step.cached if step is not None else None
            if lookup is None or not isinstance(self.nlu, CachedParser):
                return await self.nlu.parse(text)
            parsed, keep = await self.nlu.parse_looked_up(text, lookup)
            if keep and step is not None:
                step.turn.staged.append(lookup.put(parsed))
            return parsed
        finally:
            NLU_LATENCY.observe(time.perf_counter() - started)

    async def _act_payload(self, turn: Turn, payload: str) -> Outcome:
        """A pressed button (or the menu number that stands for it)."""
        if payloads.LANGUAGE.owns(payload):
            turn.state.misunderstandings = 0
            return self._set_language(turn, payload.removeprefix(payloads.LANGUAGE.value))
        flow = next((f for f in self.flows if f.prefix.owns(payload)), None)
        if flow is not None:
            turn.state.misunderstandings = 0
            replies = await flow.on_payload(turn, payload)
            if replies is not None:
                return self._flow_outcome(turn, flow, replies)
            return await self._act(turn, Intent("help", source="payload"))
        name = payloads.intent_name(payload) or ""
        known = self.content.has(name) or name in self.flow_of_intent
        if known and "/" in name:  # a specific answer: reported as its intent
            return await self._act(turn, Intent(name.partition("/")[0], source="payload",
                                                answer=name))
        return await self._act(turn, Intent(name if known else "help", source="payload"))

    def _from_menu(self, state: ConversationState, text: str) -> str | None:
        """A bare number picks that entry of the last menu (numbered menus, Rasa-down menus)."""
        if not (text.isascii() and text.isdigit()) or not state.menu:
            return None
        index = int(text) - 1
        if not 0 <= index < len(state.menu):
            return None
        return state.menu[index]

    def _topic_menu(self, turn: Turn, reason: str) -> Outcome:
        """The topics as a numbered menu, when free text cannot be read: Rasa is down
        (`nlu_down`) or every replica was busy for the message's whole budget (`nlu_busy`)."""
        return self._topic_menu_outcome(turn.language, turn.message.capabilities.buttons, reason)

    def _topic_menu_outcome(self, language: str, buttons: bool, reason: str) -> Outcome:
        FALLBACKS.labels(reason=reason).inc()
        topics = self.content.menus["main"]
        lines = [self.content.text(reason, language)]
        if buttons:  # else the channel numbers the buttons itself
            lines += [f"{i}. {b.title}" for i, b in
                      enumerate(self.content.buttons(topics, language), start=1)]
        reply = self.content.reply(reason, language, text="\n".join(lines), buttons=topics)
        return Outcome([reply], language, fallback=reason)

    def _clarify(self, turn: Turn, parsed: ParseResult) -> Outcome:
        turn.state.misunderstandings += 1
        FALLBACKS.labels(reason="low_confidence").inc()
        if turn.state.misunderstandings >= MISUNDERSTANDINGS_BEFORE_COACH:
            turn.state.misunderstandings = 0
            return Outcome([self.content.reply("not_understood_twice", turn.language)],
                           turn.language, parsed.intent, parsed.confidence, "coach_offer")
        allowed = self.content.menus["clarifiable"]
        guesses = [name for name, _ in parsed.ranking if name in allowed][:3]
        offered = [payloads.intent(name) for name in guesses if name != "help"] + [payloads.HELP]
        reply = self.content.reply("clarify", turn.language, buttons=offered, short=turn.short)
        return Outcome([reply], turn.language, parsed.intent, parsed.confidence, "clarify")

    def _did_you_mean(self, turn: Turn, parsed: ParseResult, call: CloseCall) -> Outcome:
        """Two buttons for the two readings and one for "something else" (the topic menu);
        on a channel without buttons the connector numbers them."""
        FALLBACKS.labels(reason="disambiguate").inc()
        offered = [payloads.intent(call.first), payloads.intent(call.second),
                   payloads.SOMETHING_ELSE]
        reply = self.content.reply("did_you_mean", turn.language, buttons=offered)
        return Outcome([reply], turn.language, parsed.intent, parsed.confidence, "disambiguate")

    # ---------------------------------------------------------------- acting
    async def _act(self, turn: Turn, intent: Intent) -> Outcome:
        turn.state.misunderstandings = 0
        if turn.state.flow:
            turn.state.flow, turn.state.flow_data = None, {}
        flow = self.flow_of_intent.get(intent.name)
        if flow is not None:
            replies = await flow.on_intent(turn, intent)
        else:
            replies = await self.handlers.get(intent.name, self._static_answer)(turn, intent)
        return Outcome(replies, turn.language, turn.label or intent.name, intent.confidence)

    async def _out_of_scope(self, turn: Turn, intent: Intent) -> list[Reply]:
        """A question for another authority gets a short referral naming who can help, with
        the contact from config/referrals.yml; anything else out of scope gets the topics."""
        authority = self.referrals.of(intent.answer) if self.referrals is not None else None
        if authority is None or intent.answer is None or self.referrals is None:
            return [self.content.reply("out_of_scope", turn.language, short=turn.short)]
        turn.answered = intent.answer
        lang = turn.language
        contact = "referral_contact_phone" if authority.phone else "referral_contact"
        lines = [self.content.text(intent.answer, lang),
                 self.content.text(contact, lang, name=authority.name, web=authority.web,
                                   phone=authority.phone)]
        if self.referrals.sample:
            lines.append(self.content.text("sample_notice", lang))
        return [self.content.reply(intent.answer, lang, text="\n".join(lines))]

    async def _static_answer(self, turn: Turn, intent: Intent) -> list[Reply]:
        if intent.answer and self.content.has(intent.answer):
            turn.answered = intent.answer
            return [self.content.reply(intent.answer, turn.language, short=turn.short)]
        name = intent.name if self.content.has(intent.name) else "out_of_scope"
        return [self.content.reply(name, turn.language, short=turn.short)]

    def _with_language_offer(self, turn: Turn, reply: Reply) -> Reply:
        """The answer to a message read as Arabic in Latin letters, with the offer to choose
        another language (once a conversation; the answer's own buttons stay first)."""
        turn.state.language_offered = True
        offer = self.content.text("language_offer", turn.language)
        button = self.content.button(payloads.intent("change_language"), turn.language)
        return replace(reply, text=f"{reply.text}\n\n{offer}",
                       buttons=(*reply.buttons, button))

    def _set_language(self, turn: Turn, code: str) -> Outcome:
        if not self.languages.is_enabled(code):
            return Outcome([self.content.reply("change_language", turn.language,
                                               buttons=self.content.language_buttons())],
                           turn.language, "change_language")
        turn.language = code
        turn.state.language_chosen = True
        reply = self.content.reply("language_set", code, buttons=self.content.menus["main"])
        return Outcome([reply], code, "change_language")

    async def _change_language(self, turn: Turn, intent: Intent) -> list[Reply]:
        named = explicit_choice(intent.text, self.languages) if intent.text else None
        if named:
            return self._set_language(turn, named).replies
        return [self.content.reply("change_language", turn.language,
                                   buttons=self.content.language_buttons())]

    async def _ask_location(self, turn: Turn, intent: Intent) -> list[Reply]:
        return [self._place_list(turn, intent, "ask_location", self._location_line)]

    async def _ask_opening_hours(self, turn: Turn, intent: Intent) -> list[Reply]:
        return [self._place_list(turn, intent, "ask_opening_hours", self._hours_line)]

    def _place_list(self, turn: Turn, intent: Intent, key: str,
                    line: Callable[[str, Location], str]) -> Reply:
        lang = turn.language
        matches = self.places.in_district(intent.district)
        header = self.content.text(key, lang)
        if intent.district and not matches:
            header = self.content.text("no_place_in_district", lang, district=intent.district)
        lines = [header] + [line(lang, loc) for loc in (matches or self.places.locations)]
        if self.places.sample:
            lines.append(self.content.text("sample_notice", lang))
        return self.content.reply(key, lang, text="\n".join(lines))

    def _location_line(self, lang: str, loc: Location) -> str:
        return "• " + self.content.text("location_line", lang, name=loc.name, address=loc.address)

    def _hours_line(self, lang: str, loc: Location) -> str:
        locale = self.languages.languages[lang].babel_locale
        hours = format_hours(loc.hours, locale) or self.content.text("hours_closed", lang)
        return "• " + self.content.text("hours_line", lang, name=loc.name, hours=hours)
