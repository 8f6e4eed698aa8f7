"""Opt-in subscriptions through the dialogue engine, with real Redis and an injected clock
(buttons, numbered menus and cancel words only, so no NLU is needed): consent with its record,
topics and area, unsubscribe, re-subscribing, expiry after 12 months, renewal, erasure, the
offer after an answer, the web chat's refusal, and STOP through the SMS and Telegram
connectors with fake providers."""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from babel.dates import format_date
from redis.asyncio import Redis

from bot.core.keys import Keys
from bot.core.messages import Capabilities, IncomingMessage
from bot.core.outreach.flow import CONSENT_VERSION, ask_renewal, renewal_reply
from bot.core.outreach.subscriptions import (
    SUBSCRIBERS,
    SUBSCRIPTION,
    SUBSCRIPTION_DAYS,
    TOPICS,
    Audience,
)
from bot.runtime.gateway import SERVICES, create_app
from bot.runtime.wiring import build_services
from tests import journeys
from tests.clock import FixedClock
from tests.conftest import Conversation, make_settings
from tests.redis_keys import scan

FIXTURE_CONFIG = Path(__file__).resolve().parent.parent / "fixtures" / "config"
YEAR = SUBSCRIPTION_DAYS * 24 * 3600
CID = "test:u1"
REACHABLE = Capabilities()  # a test channel that can reach the person later


def fixed_clock() -> FixedClock:
    """A fresh fixed clock per test (tests move it): Monday 23 November 2026, 12:00 Stockholm."""
    return FixedClock(datetime(2026, 11, 23, 11, 0, tzinfo=UTC))


@pytest.fixture
def clock() -> FixedClock:
    return fixed_clock()


@pytest.fixture
async def services(prefix: str, redis: Redis, clock: FixedClock):
    services = await build_services(make_settings(prefix, config_dir=FIXTURE_CONFIG),
                                    clock=clock)
    yield services
    await services.close()


async def say(services, payload: str | None = None, text: str = "", user: str = "u1",
              capabilities: Capabilities = REACHABLE, language: str = "sv"):
    return await services.engine.handle(IncomingMessage(
        "test", user, text=text, payload=payload, language_hint=language,
        capabilities=capabilities))


def payloads(outcome) -> list[str]:
    return [b.payload for b in outcome.replies[-1].buttons]


async def subscribe(services, topics: tuple[str, ...], district: str = "all",
                    user: str = "u1", language: str = "sv"):
    """The whole flow by buttons; returns the confirmation."""
    await say(services, "/subscribe", user=user, language=language)
    await say(services, "/sub:yes", user=user, language=language)
    for topic in topics:
        await say(services, f"/sub:topic:{topic}", user=user, language=language)
    await say(services, "/sub:done", user=user, language=language)
    return await say(services, f"/sub:district:{district}", user=user, language=language)


async def sub_keys(redis: Redis, prefix: str) -> list[str]:
    keys = Keys(prefix)
    return await scan(redis, keys.glob(SUBSCRIPTION), keys.glob(SUBSCRIBERS))


async def test_consent_topics_and_area_are_stored_with_the_consent_record(
        services, clock, redis, prefix) -> None:
    content = services.content
    asked = await say(services, "/subscribe")
    assert asked.intent == "subscribe"
    consent_text = content.text("subscribe", "sv")
    assert asked.replies[-1].text == consent_text
    assert "12 månader" in consent_text and "sluta prenumerera" in consent_text
    assert payloads(asked) == ["/sub:yes", "/sub:no"]
    assert await sub_keys(redis, prefix) == []  # nothing before the last step

    topics = await say(services, "/sub:yes")
    assert payloads(topics) == [f"/sub:topic:{t}" for t in TOPICS]  # no "done" before a choice
    chosen = await say(services, "/sub:topic:sfi_parents")
    assert "/sub:topic:sfi_parents" not in payloads(chosen)
    assert payloads(chosen)[-1] == "/sub:done"
    await say(services, "/sub:topic:dropin")
    areas = await say(services, "/sub:done")
    assert payloads(areas)[0] == "/sub:district:all"
    assert {"/sub:district:Tensta", "/sub:district:Skärholmen",
            "/sub:district:Bagarmossen"} <= set(payloads(areas))  # every configured district
    done = await say(services, "/sub:district:Tensta")

    subscription = await services.subscriptions.get(CID, clock.timestamp())
    assert subscription is not None
    assert subscription.topics == ("sfi_parents", "dropin")
    assert subscription.districts == ("Tensta",) and subscription.language == "sv"
    consent = subscription.consent
    assert (consent.version, consent.at, consent.channel, consent.language) == (
        CONSENT_VERSION, clock.timestamp(), "test", "sv")
    assert consent.text_sha256 == hashlib.sha256(consent_text.encode()).hexdigest()
    assert subscription.expires_at == clock.timestamp() + YEAR
    assert YEAR - 60 <= await redis.ttl(Keys(prefix)(SUBSCRIPTION, conversation=CID)) <= YEAR

    text = done.replies[-1].text
    until = format_date(clock.day(SUBSCRIPTION_DAYS), "long", locale="sv_SE")
    assert until in text and "Tensta" in text
    assert content.button("/sub:topic:dropin", "sv").title in text
    state = await services.engine.store.load(CID)
    assert state.flow is None  # the flow ended

    keys = Keys(prefix)
    undeclared = [k async for k in redis.scan_iter(match=f"{prefix}:*") if keys.match(k) is None]
    assert undeclared == []


async def test_declined_consent_or_cancel_stores_nothing(services, clock, redis,
                                                         prefix) -> None:
    await say(services, "/subscribe")
    declined = await say(services, "/sub:no")
    assert declined.replies[-1].text == services.content.text("subscription_declined", "sv")
    await say(services, "/subscribe", user="u2")
    await say(services, "/sub:yes", user="u2")
    await say(services, "/sub:topic:komvux", user="u2")
    await say(services, "/sub:done", user="u2")
    stopped = await say(services, text="avbryt", user="u2")
    assert stopped.replies[-1].text == services.content.text("subscription_stopped", "sv")
    late = await say(services, "/sub:district:all", user="u2")  # a stale button: starts over
    assert payloads(late) == ["/sub:yes", "/sub:no"]
    assert await services.subscriptions.get(CID, clock.timestamp()) is None
    assert await services.subscriptions.get("test:u2", clock.timestamp()) is None
    assert await sub_keys(redis, prefix) == []


async def test_a_district_can_be_written_and_a_number_picks_from_the_menu(services,
                                                                          clock) -> None:
    await say(services, "/subscribe")
    await say(services, text="1")                       # 1 = yes
    menu = (await services.engine.store.load(CID)).menu
    await say(services, text=str(menu.index("/sub:topic:komvux") + 1))
    await say(services, "/sub:done")
    await say(services, text="vallingby")               # written, without the accent
    subscription = await services.subscriptions.get(CID, clock.timestamp())
    assert subscription is not None
    assert subscription.topics == ("komvux",) and subscription.districts == ("Vällingby",)


async def test_unsubscribe_removes_it_and_says_when_there_was_none(services, clock, redis,
                                                                   prefix) -> None:
    await subscribe(services, ("jobbtorg",))
    assert await sub_keys(redis, prefix)
    gone = await say(services, "/unsubscribe")
    assert gone.intent == "unsubscribe"
    assert gone.replies[-1].text == services.content.text("unsubscribe", "sv")
    assert await services.subscriptions.get(CID, clock.timestamp()) is None
    assert await redis.zcard(Keys(prefix)(SUBSCRIBERS)) == 0
    again = await say(services, "/unsubscribe")
    assert again.replies[-1].text == services.content.text("subscription_none", "sv")


async def test_subscribing_again_replaces_the_old_choices(services, clock) -> None:
    await subscribe(services, ("sfi_parents", "komvux"), district="Rinkeby")
    await say(services, "/lang:en")  # the new subscription takes the language chosen now
    asked = await say(services, "/subscribe")
    assert len(asked.replies) == 2  # what they already get, then the consent
    assert "Sfi for parents on leave" in asked.replies[0].text
    await subscribe(services, ("jobbtorg_unga",))
    subscription = await services.subscriptions.get(CID, clock.timestamp())
    assert subscription is not None
    assert subscription.topics == ("jobbtorg_unga",) and subscription.districts == ()
    assert subscription.language == "en"
    assert [s.conversation for s in await services.subscriptions.matching(
        Audience(topics=("komvux",)), clock.timestamp())] == []


async def test_it_expires_after_twelve_months(services, clock, redis, prefix) -> None:
    await subscribe(services, ("dropin",))
    audience = Audience(topics=("dropin",))
    clock.now += timedelta(days=SUBSCRIPTION_DAYS - 1)
    assert await services.subscriptions.get(CID, clock.timestamp()) is not None
    assert len(await services.subscriptions.matching(audience, clock.timestamp())) == 1
    clock.now += timedelta(days=2)
    assert await services.subscriptions.get(CID, clock.timestamp()) is None
    assert await services.subscriptions.matching(audience, clock.timestamp()) == []
    assert await redis.zcard(Keys(prefix)(SUBSCRIBERS)) == 0  # pruned when read
    none = await say(services, "/unsubscribe")
    assert none.replies[-1].text == services.content.text("subscription_none", "sv")


async def test_renewal_question_then_yes_keeps_it_and_no_ends_it(services, clock) -> None:
    content = services.content
    await subscribe(services, ("sfi_parents",), user="keeps")
    await subscribe(services, ("komvux",), user="leaves", language="en")
    clock.now += timedelta(days=SUBSCRIPTION_DAYS - 20)
    due = {s.conversation: s for s in
           await services.subscriptions.due_for_renewal(clock.timestamp())}
    assert set(due) == {"test:keeps", "test:leaves"}

    question = renewal_reply(content, due["test:leaves"])
    assert [b.payload for b in question.buttons] == ["/sub:renew:yes", "/sub:renew:no"]
    assert "Adult education (komvux)" in question.text and "12 months" in question.text
    end = format_date(clock.day(20), "long", locale="en_GB")
    assert end in question.text

    asked = await ask_renewal(content, services.engine.store, due["test:keeps"])
    assert content.button("/sub:topic:sfi_parents", "sv").title in asked.text
    kept = await say(services, text="1", user="keeps")  # the numbered menu of the question
    renewed = await services.subscriptions.get("test:keeps", clock.timestamp())
    assert renewed is not None and renewed.expires_at == clock.timestamp() + YEAR
    assert not renewed.renewal_asked
    until = format_date(clock.day(SUBSCRIPTION_DAYS), "long", locale="sv_SE")
    assert until in kept.replies[-1].text

    left = await say(services, "/sub:renew:no", user="leaves", language="en")
    assert left.replies[-1].text == content.text("unsubscribe", "en")
    assert await services.subscriptions.get("test:leaves", clock.timestamp()) is None
    late = await say(services, "/sub:renew:yes", user="leaves", language="en")
    assert late.replies[-1].text == content.text("subscription_ended", "en")
    assert await services.subscriptions.get("test:leaves", clock.timestamp()) is None


async def test_erasure_removes_the_subscription(services, clock, redis, prefix) -> None:
    await subscribe(services, ("sfi_parents", "dropin"), district="Husby")
    await say(services, "/delete_my_data")
    await say(services, "/erase:yes")
    assert await services.subscriptions.get(CID, clock.timestamp()) is None
    assert await sub_keys(redis, prefix) == []
    assert await redis.zscore(Keys(prefix)(SUBSCRIBERS), CID) is None


async def test_offer_after_the_sfi_parents_answer_once_and_preselected(services,
                                                                       clock) -> None:
    first = await say(services, "/info_sfi_parents")
    assert first.intent == "info_sfi_parents"
    assert payloads(first)[-1] == "/sub:offer:sfi_parents"
    assert first.replies[-1].buttons[-1].title == services.content.button(
        "/sub:offer:sfi_parents", "sv").title
    again = await say(services, "/info_sfi_parents")
    assert not any(p.startswith("/sub:") for p in payloads(again))  # once per conversation

    await say(services, "/sub:offer:sfi_parents")
    chosen = await say(services, "/sub:yes")
    assert "/sub:topic:sfi_parents" not in payloads(chosen) and "/sub:done" in payloads(chosen)
    await say(services, "/sub:done")
    await say(services, "/sub:district:all")
    subscription = await services.subscriptions.get(CID, clock.timestamp())
    assert subscription is not None
    assert subscription.topics == ("sfi_parents",) and subscription.districts == ()

    other = await say(services, "/info_sfi_parents", user="u3")
    assert payloads(other)[-1] == "/sub:offer:sfi_parents"  # another conversation


async def test_offer_after_a_booking_confirmation(services, clock) -> None:
    slot = clock.slot("unga-jarva", 1, "10:00")
    booked = await say(services, f"/book:ok:{slot}")
    assert (await services.bookings.active(CID))
    assert payloads(booked)[-1] == "/sub:offer:dropin"
    asked = await say(services, "/sub:offer:dropin")
    assert payloads(asked) == ["/sub:yes", "/sub:no"]


async def test_no_offer_and_a_polite_refusal_where_nobody_can_be_reached_later(
        services, clock, redis, prefix) -> None:
    session_only = Capabilities(reachable_later=False)
    answer = await say(services, "/info_sfi_parents", capabilities=session_only)
    assert not any(p.startswith("/sub:") for p in payloads(answer))
    refused = await say(services, "/subscribe", capabilities=session_only)
    assert refused.replies[-1].text == services.content.text("subscription_unavailable", "sv")
    assert (await services.engine.store.load(CID)).flow is None
    offered = await say(services, "/sub:offer:sfi_parents", capabilities=session_only)
    assert offered.replies[-1].text == refused.replies[-1].text
    assert await sub_keys(redis, prefix) == []


async def test_the_web_chat_never_offers_and_refuses_politely(aiohttp_client, prefix, redis,
                                                              clock) -> None:
    client = await aiohttp_client(create_app(make_settings(prefix, config_dir=FIXTURE_CONFIG),
                                             clock=clock))
    talk = await Conversation.start(client, language="en")
    answer = await talk.send(payload="/info_sfi_parents")
    assert not any(b["payload"].startswith("/sub:") for b in answer["replies"][-1]["buttons"])
    refused = await talk.send(payload="/subscribe")
    content = client.server.app[SERVICES].content
    assert refused["replies"][-1]["text"] == content.text("subscription_unavailable", "en")
    assert "Telegram" in refused["replies"][-1]["text"]
    assert await sub_keys(redis, prefix) == []


@pytest.fixture
async def gateway(aiohttp_client, providers, prefix, redis, clock):
    settings = journeys.journey_settings(prefix, providers)
    return await aiohttp_client(create_app(settings, clock=clock))


async def test_stop_by_sms_ends_the_subscription(gateway, clock, redis, prefix) -> None:
    """All by numbered menus (NLU is down here): the topic menu, the sfi answer with its offer,
    consent, Done, all of Stockholm; then STOP."""
    services = gateway.server.app[SERVICES]
    cid = f"sms:{journeys.PHONE}"

    async def pick(payload: str) -> None:
        menu = (await services.engine.store.load(cid)).menu
        assert payload in menu, menu
        await journeys.sms(gateway, str(menu.index(payload) + 1))

    await journeys.sms(gateway, "hej")  # Rasa is unreachable: the numbered topic menu
    await pick("/info_sfi_parents")
    await pick("/sub:offer:sfi_parents")
    await pick("/sub:yes")
    await pick("/sub:done")
    await pick("/sub:district:all")
    subscription = await services.subscriptions.get(cid, clock.timestamp())
    assert subscription is not None and subscription.topics == ("sfi_parents",)
    assert subscription.consent.channel == "sms"

    await journeys.sms(gateway, "STOP")
    assert await services.subscriptions.get(cid, clock.timestamp()) is None
    assert await sub_keys(redis, prefix) == []
    await journeys.sms(gateway, "START")  # opting in again does not bring it back
    assert await services.subscriptions.get(cid, clock.timestamp()) is None


async def test_stop_on_telegram_ends_the_subscription(gateway, clock, redis, prefix) -> None:
    services = gateway.server.app[SERVICES]
    cid = f"telegram:{journeys.CHAT}"
    for button in ("/subscribe", "/sub:yes", "/sub:topic:jobbtorg_unga", "/sub:done",
                   "/sub:district:Kista"):
        await journeys.telegram(gateway, button=button)
    subscription = await services.subscriptions.get(cid, clock.timestamp())
    assert subscription is not None and subscription.districts == ("Kista",)
    await journeys.telegram(gateway, "/stop")
    assert await services.subscriptions.get(cid, clock.timestamp()) is None
    assert await sub_keys(redis, prefix) == []


def test_capabilities_say_who_can_be_reached_later() -> None:
    from connectors.sms import SmsChannel
    from connectors.telegram import TelegramChannel
    from connectors.terminal import TerminalChannel
    from connectors.webchat import WebchatChannel

    assert not WebchatChannel.capabilities.reachable_later
    assert not TerminalChannel.capabilities.reachable_later
    assert SmsChannel.capabilities.reachable_later and TelegramChannel.capabilities.reachable_later
