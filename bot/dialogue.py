"""The dialogue engine: one `IncomingMessage` in, replies out, state in Redis.

An explicit state machine rather than Rasa Core, so that flows (deletion now; booking and
handover later) are deterministic and testable. Order of decisions for one message:

1. guards: too long, empty, rate limit (nothing stored for a refused message);
2. the reply language (bot.language);
3. what the person means: a button payload > a number picking from the last menu > a keyword
   that leaves a flow > the active flow > NLU (below the threshold: a clarifying menu; after two
   misunderstandings in a row: the offer of a coach; Rasa down: a numbered topic menu);
4. the answer, from content; the buttons of the last reply are remembered as the numbered menu.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from bot.booking.flow import PREFIX as BOOKING_PAYLOAD
from bot.booking.flow import BookingFlow
from bot.content import LANGUAGE_PAYLOAD, Content
from bot.handover import personnummer
from bot.handover.flow import PREFIX as HANDOVER_PAYLOAD
from bot.handover.flow import HandoverFlow
from bot.i18n import LanguageTable
from bot.language import LanguageDetector, explicit_choice
from bot.messages import IncomingMessage, Outcome, Reply
from bot.metrics import FALLBACKS, MESSAGES, NLU_LATENCY
from bot.nlu import NLUUnavailable, ParseResult, RasaClient
from bot.places import Places, format_hours
from bot.store import ConversationState, ConversationStore
from bot.turn import Intent, Turn

log = logging.getLogger("lotsen.dialogue")

ERASE_FLOW = "erase"
MISUNDERSTANDINGS_BEFORE_COACH = 2


Handler = Callable[[Turn, Intent], Awaitable[list[Reply]]]
Eraser = Callable[[str], Awaitable[object]]


class DialogueEngine:
    def __init__(self, *, store: ConversationStore, nlu: RasaClient, content: Content,
                 languages: LanguageTable, detector: LanguageDetector, places: Places,
                 threshold: float, max_message_chars: int, rate_limit_per_minute: int,
                 booking: BookingFlow | None = None, handover: HandoverFlow | None = None,
                 erasers: list[Eraser] | None = None) -> None:
        self.store = store
        self.nlu = nlu
        self.content = content
        self.languages = languages
        self.detector = detector
        self.places = places
        self.threshold = threshold
        self.max_chars = max_message_chars
        self.rate_limit = rate_limit_per_minute
        self.booking = booking
        self.handover = handover
        self.erasers = erasers or []
        self.handlers: dict[str, Handler] = {
            "ask_location": self._ask_location,
            "ask_opening_hours": self._ask_opening_hours,
            "change_language": self._change_language,
            "delete_my_data": self._delete_my_data,
        }
        if booking is not None:
            self.handlers.update(book_dropin=booking.start, list_bookings=booking.list_bookings,
                                 cancel_booking=booking.cancel_booking)
        if handover is not None:
            self.handlers["request_coach"] = handover.start

    # ---------------------------------------------------------------- entry point
    async def handle(self, message: IncomingMessage) -> Outcome:
        cid = message.conversation_id
        text = message.text.strip()
        if len(text) > self.max_chars:
            state = await self.store.load(cid)
            language = self._language_for(message, state, detect=False)
            FALLBACKS.labels(reason="too_long").inc()
            return Outcome([self.content.reply("too_long", language, length=len(text),
                                               limit=self.max_chars)], language,
                           fallback="too_long")
        if await self.store.hit_rate_limit(cid, self.rate_limit):
            state = await self.store.load(cid)
            language = self._language_for(message, state, detect=False)
            FALLBACKS.labels(reason="rate_limited").inc()
            return Outcome([self.content.reply("rate_limited", language)], language,
                           fallback="rate_limited")

        state = await self.store.load(cid)
        turn = Turn(message=message, state=state, language=self._language_for(message, state))
        outcome = await self._respond(turn, text)
        MESSAGES.labels(channel=message.channel, language=turn.language).inc()
        if turn.erased:
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
        if payload.startswith(LANGUAGE_PAYLOAD):
            chosen = payload.removeprefix(LANGUAGE_PAYLOAD)
            if self.languages.is_enabled(chosen):
                return chosen
        if state.language_chosen and self.languages.is_enabled(state.language):
            return state.language  # type: ignore[return-value]
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
            return await self._act(turn, self._from_payload(turn.message.payload))
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
        if self.handover is not None and turn.state.handover_lead:
            if text.lower() in self.languages.cancel_words:
                return Outcome(await self.handover.end_by_user(turn), turn.language,
                               "request_coach")
            relayed = await self.handover.relay(turn, text)
            if relayed is not None:
                return Outcome(relayed, turn.language, "relay")
        picked = self._from_menu(turn.state, text)
        if picked is not None:
            return await self._act(turn, picked)
        if text.lower() in self.languages.cancel_words and turn.state.flow:
            stopped = "booking_stopped" if turn.state.flow == "booking" else "help"
            turn.state.flow, turn.state.flow_data = None, {}
            return Outcome([self.content.reply(stopped, turn.language)], turn.language,
                           "cancel_flow")
        if self.booking is not None and turn.state.flow == "booking":
            narrowed = await self.booking.on_text(turn, text)
            if narrowed is not None:
                return Outcome(narrowed, turn.language, "book_dropin")
        if self.handover is not None and turn.state.flow == "handover":
            answered = await self.handover.on_text(turn, text)
            if answered is not None:
                return Outcome(answered, turn.language, "request_coach")
        try:
            parsed = await self._parse(text)
        except NLUUnavailable as exc:
            log.warning("nlu_unavailable", extra={"detail": str(exc)})
            return self._nlu_down_menu(turn)
        intent = Intent(parsed.intent, parsed.confidence, parsed.entity("district"), text)
        if turn.state.flow == ERASE_FLOW:
            return await self._erase_answer(turn, intent)
        if parsed.confidence < self.threshold:
            return self._clarify(turn, parsed)
        return await self._act(turn, intent)

    async def _parse(self, text: str) -> ParseResult:
        started = time.perf_counter()
        try:
            return await self.nlu.parse(text)
        finally:
            NLU_LATENCY.observe(time.perf_counter() - started)

    def _from_payload(self, payload: str) -> Intent:
        if payload.startswith(LANGUAGE_PAYLOAD):
            return Intent("set_language", source="payload",
                          text=payload.removeprefix(LANGUAGE_PAYLOAD))
        if payload.startswith(BOOKING_PAYLOAD):
            return Intent("booking_payload", source="payload", text=payload)
        if payload.startswith(HANDOVER_PAYLOAD):
            return Intent("handover_payload", source="payload", text=payload)
        if payload in ("/erase:yes", "/erase:no"):
            return Intent("erase_confirm" if payload.endswith("yes") else "erase_cancel",
                          source="payload")
        name = payload.lstrip("/")
        return Intent(name if self.content.has(name) else "help", source="payload")

    def _from_menu(self, state: ConversationState, text: str) -> Intent | None:
        """A bare number picks that entry of the last menu (how SMS and Rasa-down menus work)."""
        if not text.isdigit() or not state.menu:
            return None
        index = int(text) - 1
        if not 0 <= index < len(state.menu):
            return None
        return self._from_payload(state.menu[index])

    def _nlu_down_menu(self, turn: Turn) -> Outcome:
        FALLBACKS.labels(reason="nlu_down").inc()
        payloads = self.content.menus["main"]
        lines = [self.content.text("nlu_down", turn.language)]
        lines += [f"{i}. {b.title}" for i, b in
                  enumerate(self.content.buttons(payloads, turn.language), start=1)]
        reply = self.content.reply("nlu_down", turn.language, text="\n".join(lines),
                                   buttons=payloads)
        return Outcome([reply], turn.language, fallback="nlu_down")

    def _clarify(self, turn: Turn, parsed: ParseResult) -> Outcome:
        turn.state.misunderstandings += 1
        FALLBACKS.labels(reason="low_confidence").inc()
        if turn.state.misunderstandings >= MISUNDERSTANDINGS_BEFORE_COACH:
            turn.state.misunderstandings = 0
            return Outcome([self.content.reply("not_understood_twice", turn.language)],
                           turn.language, parsed.intent, parsed.confidence, "coach_offer")
        allowed = self.content.menus["clarifiable"]
        guesses = [name for name, _ in parsed.ranking if name in allowed][:3]
        payloads = [f"/{name}" for name in guesses if name != "help"] + ["/help"]
        reply = self.content.reply("clarify", turn.language, buttons=payloads, short=turn.short)
        return Outcome([reply], turn.language, parsed.intent, parsed.confidence, "clarify")

    # ---------------------------------------------------------------- acting
    async def _act(self, turn: Turn, intent: Intent) -> Outcome:
        turn.state.misunderstandings = 0
        if intent.name == "set_language":
            return self._set_language(turn, intent.text)
        if intent.name in ("erase_confirm", "erase_cancel"):
            return await self._erase_answer(turn, intent)
        if intent.name == "booking_payload" and self.booking is not None:
            replies = await self.booking.on_payload(turn, intent.text)
            return Outcome(replies, turn.language, "book_dropin")
        if intent.name == "handover_payload" and self.handover is not None:
            replies = await self.handover.on_payload(turn, intent.text)
            return Outcome(replies, turn.language, "request_coach")
        if turn.state.flow:
            turn.state.flow, turn.state.flow_data = None, {}
        handler = self.handlers.get(intent.name, self._static_answer)
        replies = await handler(turn, intent)
        return Outcome(replies, turn.language, intent.name, intent.confidence)

    async def _static_answer(self, turn: Turn, intent: Intent) -> list[Reply]:
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

    async def _delete_my_data(self, turn: Turn, intent: Intent) -> list[Reply]:
        turn.state.flow = ERASE_FLOW
        return [self.content.reply("delete_my_data", turn.language)]

    async def _erase_answer(self, turn: Turn, intent: Intent) -> Outcome:
        confirmed = intent.name in ("erase_confirm", "affirm")
        cancelled = intent.name in ("erase_cancel", "deny")
        if turn.state.flow != ERASE_FLOW or not (confirmed or cancelled):
            turn.state.flow = None
            if intent.name in ("erase_confirm", "erase_cancel"):
                return await self._act(turn, Intent("help", source="payload"))
            return await self._act(turn, intent)
        turn.state.flow = None
        if cancelled:
            return Outcome([self.content.reply("erase_cancelled", turn.language)], turn.language,
                           "deny")
        for eraser in self.erasers:
            await eraser(turn.message.conversation_id)
        await self.store.erase(turn.message.conversation_id)
        turn.erased = True
        log.info("conversation_erased", extra={"channel": turn.message.channel})
        return Outcome([self.content.reply("erased", turn.language)], turn.language,
                       "delete_my_data")
