"""Opt-in subscriptions in the chat: consent first, then topics, then an area, then a
confirmation; "unsubscribe" (or STOP on a push channel) ends it, and before it runs out the
person is asked whether to keep it (`ask_renewal`).

Consent is recorded like a coach handover's: the text version, the time (the injected clock),
the channel, the language and a SHA-256 of the exact text shown. Nothing is stored before the
last step, so a refusal or a cancel leaves nothing. Subscribing again replaces the old choices.
A channel that cannot reach the person later (`Capabilities.reachable_later` is False: a web
chat session ends with its tab) gets an explanation instead of a subscription.

Payloads (`/sub:`): `offer:<topic>` starts with that topic chosen, `yes`/`no` answer the
consent, `topic:<topic>` adds a topic, `done` ends the topic choice, `district:<name>` or
`district:all` picks the area, `renew:yes`/`renew:no` answer the renewal question.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date
from babel.lists import format_list

from bot.core.clock import Clock, system_clock
from bot.core.content import Content
from bot.core.flows.base import Flow
from bot.core.messages import Button, Reply
from bot.core.outreach.subscriptions import TOPICS, Consent, Subscription, SubscriptionStore
from bot.core.payloads import HELP, SUBSCRIBE, SUBSCRIPTION
from bot.core.places import Places, fold
from bot.core.store import ConversationStore
from bot.core.turn import Intent, Turn


class Step(StrEnum):
    """What the flow asks now (`flow_data["step"]`)."""

    CONSENT = "consent"
    TOPICS = "topics"
    DISTRICT = "district"
    RENEWAL = "renewal"  # the renewal question (ask_renewal)


CONSENT_VERSION = "2026-11-v1"
CONSENT_KEY = "subscribe"     # the consent text (the answer to the `subscribe` intent)
STOCKHOLM = ZoneInfo("Europe/Stockholm")
YES, NO, DONE = SUBSCRIPTION("yes"), SUBSCRIPTION("no"), SUBSCRIPTION("done")
ALL_DISTRICTS = SUBSCRIPTION("district", "all")
RENEW_YES, RENEW_NO = SUBSCRIPTION("renew", "yes"), SUBSCRIPTION("renew", "no")
TOPIC = {topic: SUBSCRIPTION("topic", topic) for topic in TOPICS}
OFFER = {topic: SUBSCRIPTION("offer", topic) for topic in TOPICS}
# Where "get notices about this" helps: after an answered intent or a completed step.
OFFER_AFTER = {"info_sfi_parents": "sfi_parents", "booking": "dropin"}


def _locale(content: Content, language: str) -> Locale:
    return content.languages.languages[language].babel_locale


def until_text(content: Content, language: str, instant: float) -> str:
    """The day a subscription ends, in the person's language (Stockholm time)."""
    day = datetime.fromtimestamp(instant, STOCKHOLM).date()
    return format_date(day, "long", locale=_locale(content, language))


def topics_text(content: Content, language: str, topics: tuple[str, ...] | list[str]) -> str:
    """The topics' titles as a list in the person's language ("A, B and C")."""
    titles = [content.button(TOPIC[t], language).title for t in TOPICS if t in topics]
    return format_list(titles, locale=_locale(content, language))


def area_text(content: Content, language: str, districts: tuple[str, ...]) -> str:
    if not districts:
        return content.button(ALL_DISTRICTS, language).title
    return format_list(list(districts), locale=_locale(content, language))


def renewal_reply(content: Content, subscription: Subscription) -> Reply:
    """The question whether to keep a subscription another 12 months, in its language, with
    the yes/no buttons this flow answers (for the worker that sends it)."""
    language = subscription.language
    return content.compose("subscription_renewal", language, extra=(RENEW_YES, RENEW_NO),
                           topics=topics_text(content, language, subscription.topics),
                           date=until_text(content, language, subscription.expires_at))


async def ask_renewal(content: Content, conversations: ConversationStore,
                      subscription: Subscription) -> Reply:
    """`renewal_reply`, and the conversation remembers it as the open question, so that a
    typed number (numbered menus), "ja" or "nej" answer it like its buttons."""
    state = await conversations.load(subscription.conversation)
    state.flow, state.flow_data = SubscriptionFlow.name, {"step": Step.RENEWAL}
    state.menu = [RENEW_YES, RENEW_NO]
    await conversations.save(subscription.conversation, state)
    return renewal_reply(content, subscription)


class SubscriptionFlow(Flow):
    name = "subscription"
    prefix = SUBSCRIPTION
    intents = ("subscribe", "unsubscribe")
    label = "subscribe"

    def __init__(self, store: SubscriptionStore, content: Content, places: Places,
                 clock: Clock = system_clock) -> None:
        self.store = store
        self.content = content
        self.clock = clock
        seen: dict[str, None] = {}
        for location in places.locations:
            for district in location.districts:
                seen.setdefault(district)
        self.districts = list(seen)

    def fixed_payloads(self) -> tuple[str, ...]:
        return (YES, NO, DONE, ALL_DISTRICTS, RENEW_YES, RENEW_NO, *TOPIC.values(),
                *OFFER.values(), SUBSCRIBE, HELP)

    def accepts(self, payload: str) -> bool:
        kind, arg = self.prefix.split(payload)
        return (payload in (YES, NO, DONE, RENEW_YES, RENEW_NO)
                or (kind in ("topic", "offer") and arg in TOPICS)
                or (kind == "district" and (arg == "all" or arg in self.districts)))

    def _now(self) -> float:
        return self.clock().timestamp()

    def _reply(self, turn: Turn, key: str, buttons: list[Button] | tuple[Button, ...] = (),
               extra: tuple[str, ...] = (), **values: object) -> Reply:
        return self.content.compose(key, turn.language, buttons, extra, **values)

    # ------------------------------------------------------------------ entry points
    async def on_intent(self, turn: Turn, intent: Intent) -> list[Reply]:
        if intent.name == "unsubscribe":
            return await self.unsubscribe(turn)
        return await self.start(turn)

    async def on_cancel(self, turn: Turn) -> list[Reply]:
        self.end(turn)
        return [self.content.reply("subscription_stopped", turn.language)]

    async def start(self, turn: Turn, topic: str | None = None) -> list[Reply]:
        self.end(turn)
        if not turn.message.capabilities.reachable_later:
            return [self.content.reply("subscription_unavailable", turn.language)]
        turn.state.flow = self.name
        turn.state.flow_data = {"step": Step.CONSENT, "topics": [topic] if topic else []}
        replies = []
        current = await self.store.get(turn.conversation_id, self._now())
        if current is not None:
            replies.append(self._reply(
                turn, "subscription_replaces",
                topics=topics_text(self.content, turn.language, current.topics),
                date=until_text(self.content, turn.language, current.expires_at)))
        replies.append(self._reply(turn, CONSENT_KEY, extra=(YES, NO)))
        return replies

    async def on_payload(self, turn: Turn, payload: str) -> list[Reply] | None:
        kind, arg = self.prefix.split(payload)
        if kind == "renew" and arg in ("yes", "no"):
            return await self.renew(turn, keep=arg == "yes")
        if kind == "offer":
            return await self.start(turn, arg if arg in TOPICS else None)
        if kind == "no":
            return self.decline(turn)  # also a stale "no": nothing is stored
        if not self.active(turn) or not self.accepts(payload):
            return await self.start(turn)  # a stale button starts again, with consent
        data = turn.state.flow_data
        if kind == "yes" and data.get("step") == Step.CONSENT:
            return await self.consent(turn)
        if "consent" not in data:
            return await self.start(turn)
        if kind == "topic" and arg not in data["topics"]:
            data["topics"].append(arg)
        elif kind == "done" and data["topics"]:
            data["topics_done"] = True
        elif kind == "district" and data.get("topics_done"):
            data["districts"] = [] if arg == "all" else [arg]
        return await self._next(turn)

    async def on_text(self, turn: Turn, text: str) -> list[Reply] | None:
        """A district written out ("Tensta", "tensta") while the area is asked."""
        data = turn.state.flow_data
        if not self.active(turn) or data.get("step") != Step.DISTRICT:
            return None
        wanted = fold(text.strip())
        match = next((d for d in self.districts if fold(d) == wanted), None)
        if match is None:
            return None
        data["districts"] = [match]
        return await self._next(turn)

    async def on_understood(self, turn: Turn, intent: Intent) -> list[Reply] | None:
        """Yes and no in words ("ja", "nej") answer the consent and the renewal question."""
        step = turn.state.flow_data.get("step")
        if intent.name not in ("affirm", "deny") or step not in (Step.CONSENT, Step.RENEWAL):
            return None
        if step == Step.RENEWAL:
            return await self.renew(turn, keep=intent.name == "affirm")
        return await self.consent(turn) if intent.name == "affirm" else self.decline(turn)

    async def follow_up(self, turn: Turn, intent: str | None,
                        replies: list[Reply]) -> list[Reply]:
        """The offer ("Get notices about this") after an answer it fits: once per
        conversation, only where the person can be reached later, and not for a topic they
        already get."""
        topic = OFFER_AFTER.get(turn.completed or "") or OFFER_AFTER.get(intent or "")
        if (topic is None or turn.state.subscription_offered or turn.state.flow
                or not turn.message.capabilities.reachable_later):
            return replies
        current = await self.store.get(turn.conversation_id, self._now())
        if current is not None and topic in current.topics:
            return replies
        turn.state.subscription_offered = True
        last = replies[-1]
        offer = self.content.button(OFFER[topic], turn.language)
        return [*replies[:-1], Reply(last.text, (*last.buttons, offer))]

    # ------------------------------------------------------------------ steps
    def decline(self, turn: Turn) -> list[Reply]:
        self.end(turn)  # no consent: nothing is stored
        turn.label = "deny"
        return [self.content.reply("subscription_declined", turn.language)]

    async def consent(self, turn: Turn) -> list[Reply]:
        shown = self.content.text(CONSENT_KEY, turn.language)
        turn.state.flow_data["consent"] = {
            "version": CONSENT_VERSION, "at": self._now(), "channel": turn.message.channel,
            "language": turn.language,
            "text_sha256": hashlib.sha256(shown.encode()).hexdigest()}
        return await self._next(turn)

    async def _next(self, turn: Turn) -> list[Reply]:
        data = turn.state.flow_data
        lang = turn.language
        if not data.get("topics_done"):
            data["step"] = Step.TOPICS
            chosen = data["topics"]
            buttons = [self.content.button(TOPIC[t], lang) for t in TOPICS if t not in chosen]
            if not chosen:
                return [self._reply(turn, "subscription_ask_topics", buttons)]
            return [self._reply(turn, "subscription_topics_chosen", buttons, extra=(DONE,),
                                topics=topics_text(self.content, lang, chosen))]
        if "districts" not in data:
            data["step"] = Step.DISTRICT
            buttons = [Button(d, SUBSCRIPTION("district", d)) for d in self.districts]
            return [self._reply(turn, "subscription_ask_district",
                                [self.content.button(ALL_DISTRICTS, lang), *buttons])]
        return await self._save(turn)

    async def _save(self, turn: Turn) -> list[Reply]:
        data = turn.state.flow_data
        now = self._now()
        record = data["consent"]
        subscription = Subscription(
            conversation=turn.conversation_id, language=turn.language,
            topics=tuple(t for t in TOPICS if t in data["topics"]),
            districts=tuple(data["districts"]),
            consent=Consent(record["version"], float(record["at"]), record["channel"],
                            record["language"], record["text_sha256"]),
            expires_at=self.store.expiry(now))
        await self.store.save(subscription, now)  # replaces an earlier subscription
        self.end(turn)
        lang = turn.language
        return [self._reply(turn, "subscription_confirmed", extra=(HELP,),
                            topics=topics_text(self.content, lang, subscription.topics),
                            area=area_text(self.content, lang, subscription.districts),
                            date=until_text(self.content, lang, subscription.expires_at))]

    async def unsubscribe(self, turn: Turn) -> list[Reply]:
        self.end(turn)
        turn.label = "unsubscribe"
        live = await self.store.get(turn.conversation_id, self._now())  # not one run out
        if await self.store.remove(turn.conversation_id) and live is not None:
            return [self.content.reply("unsubscribe", turn.language)]
        return [self.content.reply("subscription_none", turn.language)]

    async def renew(self, turn: Turn, *, keep: bool) -> list[Reply]:
        if not keep:
            return await self.unsubscribe(turn)
        self.end(turn)
        renewed = await self.store.renew(turn.conversation_id, self._now())
        if renewed is None:
            return [self._reply(turn, "subscription_ended", extra=(SUBSCRIBE,))]
        return [self._reply(turn, "subscription_renewed",
                            date=until_text(self.content, turn.language, renewed.expires_at))]
