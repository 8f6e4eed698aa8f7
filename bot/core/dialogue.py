"""The dialogue engine: one `IncomingMessage` in, replies out, state in Redis.

An explicit state machine rather than Rasa Core, so that flows are deterministic and testable.
Flows (booking, handover, data deletion, ...) are parts that implement `Flow`
(bot/core/flows/base.py); the engine keeps a list of them and routes by asking them. Order of
decisions for one message:

1. guards: too long, empty, rate limit (nothing stored for a refused message);
2. the reply language (bot.core.language);
3. what the person means: a button payload (a flow's prefix, a language, or `/<intent>`) >
   a cancel word (to the engaged flow) > a flow that holds the chat (a coach chat takes every
   message, except an intent answered in any state, such as deleting one's data) >
   a number picking from the last menu > the active flow's free text > NLU (below the
   threshold: a clarifying menu; after two misunderstandings in a row: the offer of a coach;
   Rasa down: a numbered topic menu) > the active flow's reading of what NLU understood;
4. the answer, from content or the flow that owns the intent, with what flows add to it
   (`Flow.follow_up`: an offer); the buttons of the last reply are remembered as the numbered
   menu.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Sequence

from bot.core import payloads
from bot.core.content import Content, ContentError
from bot.core.flows.base import Flow
from bot.core.handover import personnummer
from bot.core.i18n import LanguageTable
from bot.core.language import LanguageDetector, explicit_choice
from bot.core.messages import IncomingMessage, Outcome, Reply
from bot.core.metrics import CAMPAIGN_STARTS, FALLBACKS, MESSAGES, NLU_LATENCY
from bot.core.nlu import NLUBusy, NLUUnavailable, Parser, ParseResult
from bot.core.places import Places, format_hours
from bot.core.review.inbox import ReviewInbox
from bot.core.store import ConversationState, ConversationStore
from bot.core.turn import Intent, Turn

log = logging.getLogger("lotsen.dialogue")

MISUNDERSTANDINGS_BEFORE_COACH = 2
# Intents answered in any state, even while a flow holds the chat (a coach chat): a person can
# always have their data deleted.
ALWAYS_ANSWERED = ("delete_my_data",)


Handler = Callable[[Turn, Intent], Awaitable[list[Reply]]]


class DialogueEngine:
    def __init__(self, *, store: ConversationStore, nlu: Parser, content: Content,
                 languages: LanguageTable, detector: LanguageDetector, places: Places,
                 threshold: float, max_message_chars: int, rate_limit_per_minute: int,
                 flows: Sequence[Flow] = (), answer_threshold: float = 0.5,
                 review: ReviewInbox | None = None, max_in_flight: int = 0) -> None:
        self.store = store
        self.nlu = nlu
        self.content = content
        self.languages = languages
        self.detector = detector
        self.places = places
        self.threshold = threshold
        self.answer_threshold = answer_threshold
        self.review = review
        self.max_chars = max_message_chars
        self.rate_limit = rate_limit_per_minute
        self.flows = list(flows)
        self.max_in_flight = max_in_flight  # 0: no limit
        self.in_flight = 0
        self.handlers: dict[str, Handler] = {
            "ask_location": self._ask_location,
            "ask_opening_hours": self._ask_opening_hours,
            "change_language": self._change_language,
        }
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
    async def handle(self, message: IncomingMessage) -> Outcome:
        """The outcome of one message. Beyond `max_in_flight` messages at once in this process
        (a peak the CPU cannot keep up with), free text is answered at once with the "many
        people are writing" menu, before anything is read or stored: a cheap, honest answer
        instead of a queue in which every message waits seconds. Buttons and menu numbers are
        always handled (they need no NLU and carry bookings and confirmations)."""
        text = message.text.strip()
        if (self.max_in_flight and self.in_flight >= self.max_in_flight and text
                and message.payload is None and not text.isdigit()):
            language = message.language_hint if message.language_hint and \
                self.languages.is_enabled(message.language_hint) else self.languages.default
            return self._topic_menu_outcome(language, message.capabilities.buttons, "nlu_busy")
        self.in_flight += 1
        try:
            return await self._handle(message)
        finally:
            self.in_flight -= 1

    async def _handle(self, message: IncomingMessage) -> Outcome:
        cid = message.conversation_id
        text = message.text.strip()
        if len(text) > self.max_chars:
            state = await self.store.load(cid)
            language = self._language_for(message, state, detect=False)
            FALLBACKS.labels(reason="too_long").inc()
            return Outcome([self.content.reply("too_long", language, length=len(text),
                                               limit=self.max_chars)], language,
                           fallback="too_long")
        sent = await self.store.count_message(cid)
        if sent > self.rate_limit:
            state = await self.store.load(cid)
            language = self._language_for(message, state, detect=False)
            FALLBACKS.labels(reason="rate_limited").inc()
            # One polite answer per window; after it, silence (on SMS every answer is paid).
            replies = [self.content.reply("rate_limited", language)] \
                if sent == self.rate_limit + 1 else []
            return Outcome(replies, language, fallback="rate_limited")

        state = await self.store.load(cid)
        if message.source and state.source is None:
            state.source = message.source  # the first campaign link counts
            CAMPAIGN_STARTS.labels(channel=message.channel, source=message.source[:32]).inc()
        turn = Turn(message=message, state=state, language=self._language_for(message, state))
        outcome = await self._respond(turn, text)
        if not turn.erased and outcome.fallback is None and outcome.replies:
            for flow in self.flows:
                outcome.replies = await flow.follow_up(turn, outcome.intent, outcome.replies)
        MESSAGES.labels(channel=message.channel, language=turn.language).inc()
        if turn.erased:
            outcome.erased = True
            return outcome
        state.language = turn.language
        state.menu = [b.payload for b in outcome.replies[-1].buttons] if outcome.replies else []
        if outcome.intent and outcome.intent.startswith("info_"):
            state.last_intent = outcome.intent
        await self.store.save(cid, state)
        said = personnummer.redact(text) or (
            f"[{self.content.describe(message.payload, turn.language)}]" if message.payload
            else "")
        await self.store.append_transcript(cid, "user", said)
        for reply in outcome.replies:
            await self.store.append_transcript(cid, "bot", reply.text)
        return outcome

    def _language_for(self, message: IncomingMessage, state: ConversationState,
                      detect: bool = True) -> str:
        payload = message.payload or ""
        if payloads.LANGUAGE.owns(payload):
            chosen = payload.removeprefix(payloads.LANGUAGE.value)
            if self.languages.is_enabled(chosen):
                return chosen
        if state.language_chosen and self.languages.is_enabled(state.language):
            return state.language  # type: ignore[return-value]
        if message.language_chosen and self.languages.is_enabled(message.language_hint):
            return message.language_hint  # type: ignore[return-value]
        if detect and message.text:
            detected = self.detector.detect(message.text, previous=state.language)
            if detected:
                return detected
        if self.languages.is_enabled(state.language):
            return state.language  # type: ignore[return-value]
        if self.languages.is_enabled(message.language_hint):
            return message.language_hint  # type: ignore[return-value]
        return self.languages.default

    # ---------------------------------------------------------------- understanding
    async def _respond(self, turn: Turn, text: str) -> Outcome:
        if turn.message.payload:
            return await self._act_payload(turn, turn.message.payload)
        if not text:
            return Outcome([self.content.reply("empty", turn.language)], turn.language,
                           fallback="empty")
        asked_for_phone = turn.state.flow_data.get("step") == "phone"
        if personnummer.contains(text) and not (asked_for_phone and
                                                personnummer.looks_like_phone(text)):
            FALLBACKS.labels(reason="personnummer").inc()
            return Outcome([self.content.reply("personnummer_refused", turn.language,
                                               buttons=turn.state.menu)],
                           turn.language, fallback="personnummer")
        engaged = next((f for f in self.flows if f.engaged(turn)), None)
        if engaged is not None and text.lower() in self.languages.cancel_words:
            return self._flow_outcome(turn, engaged, await engaged.on_cancel(turn), "cancel_flow")
        holding = next((f for f in self.flows if f.holds(turn)), None)
        if holding is not None:
            overriding = await self._always_answered(text)
            if overriding is not None:
                return await self._act(turn, overriding)
            taken = await holding.intercept(turn, text)
            if taken is not None:
                return self._flow_outcome(turn, holding, taken)
        picked = self._from_menu(turn.state, text)
        if picked is not None:
            return await self._act_payload(turn, picked)
        active = next((f for f in self.flows if f.active(turn)), None)
        if active is not None:
            answered = await active.on_text(turn, text)
            if answered is not None:
                return self._flow_outcome(turn, active, answered)
        try:
            parsed = await self._parse(text)
        except NLUBusy:
            return self._topic_menu(turn, "nlu_busy")
        except NLUUnavailable as exc:
            log.warning("nlu_unavailable", extra={"detail": str(exc)})
            return self._topic_menu(turn, "nlu_down")
        if self.review is not None:
            await self.review.seen(turn.language)
        intent = Intent(parsed.intent, parsed.confidence, parsed.entity("district"), text,
                        answer=self.specific_answer(parsed))
        if active is not None:
            answered = await active.on_understood(turn, intent)
            if answered is not None:
                return self._flow_outcome(turn, active, answered)
            if not active.active(turn):  # the flow stepped aside: act on what was said
                return await self._act(turn, intent)
        if parsed.confidence < self.threshold:
            await self._keep_for_review(turn, text, parsed.intent, "clarify")
            return self._clarify(turn, parsed)
        if intent.name == "out_of_scope":
            await self._keep_for_review(turn, text, parsed.intent, "out_of_scope")
        return await self._act(turn, intent)

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

    async def _parse(self, text: str) -> ParseResult:
        started = time.perf_counter()
        try:
            return await self.nlu.parse(text)
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

    async def _static_answer(self, turn: Turn, intent: Intent) -> list[Reply]:
        if intent.answer and self.content.has(intent.answer):
            turn.answered = intent.answer
            return [self.content.reply(intent.answer, turn.language, short=turn.short)]
        name = intent.name if self.content.has(intent.name) else "out_of_scope"
        return [self.content.reply(name, turn.language, short=turn.short)]

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
                    line: Callable[[str, object], str]) -> Reply:
        lang = turn.language
        matches = self.places.in_district(intent.district)
        header = self.content.text(key, lang)
        if intent.district and not matches:
            header = self.content.text("no_place_in_district", lang, district=intent.district)
        lines = [header] + [line(lang, loc) for loc in (matches or self.places.locations)]
        if self.places.sample:
            lines.append(self.content.text("sample_notice", lang))
        return self.content.reply(key, lang, text="\n".join(lines))

    def _location_line(self, lang: str, loc) -> str:  # type: ignore[no-untyped-def]
        return "• " + self.content.text("location_line", lang, name=loc.name, address=loc.address)

    def _hours_line(self, lang: str, loc) -> str:  # type: ignore[no-untyped-def]
        locale = self.languages.languages[lang].babel_locale
        hours = format_hours(loc.hours, locale) or self.content.text("hours_closed", lang)
        return "• " + self.content.text("hours_line", lang, name=loc.name, hours=hours)
