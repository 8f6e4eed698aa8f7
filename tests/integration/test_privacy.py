"""Erasure that leaves nothing, and nothing personal without an expiry, checked by reading every
key under the test prefix and its whole content after real journeys (real Rasa, real Redis,
the worker sending through fake providers)."""

from __future__ import annotations

import pytest

from bot.core.keys import BOOKING_SLOT, Keys, Owner
from bot.core.messages import Reply
from bot.runtime.gateway import SERVICES, create_app
from connectors.optout import OPTOUT
from tests import journeys
from tests.journeys import CHAT, CLOCK, NAME, PHONE


@pytest.fixture
async def client(aiohttp_client, rasa_server, providers, prefix, redis):
    settings = journeys.journey_settings(prefix, providers, rasa_url=rasa_server.url,
                                         rasa_token=rasa_server.token,
                                         telegram_chat_rate_per_second=100.0)
    app = create_app(settings, clock=CLOCK)
    client = await aiohttp_client(app)
    client.settings = settings  # type: ignore[attr-defined]
    return client


def mentions(dumped: dict[str, str], needles: list[str]) -> dict[str, list[str]]:
    """Which keys name which needle, in their name or anywhere in their content."""
    found: dict[str, list[str]] = {}
    for key, content in dumped.items():
        hits = [n for n in needles if n in key or n in content]
        if hits:
            found[key] = hits
    return found


async def test_erasure_leaves_nothing_that_names_the_person(client, aiohttp_client, providers,
                                                            redis, prefix) -> None:
    settings = client.settings
    # Web chat: book, cancel, book again, a coach lead; erase during the coach chat.
    talk, codes = await journeys.web_booking_and_handover(client)
    browser, csrf = await journeys.coach_logs_in(client, aiohttp_client)
    lead = await journeys.coach_claims_and_writes(browser, csrf, close=False)
    await talk.send("my number is 0701234567, call me")  # relayed to the coach
    asked = await talk.send("radera mina uppgifter")
    assert [b["payload"] for b in asked["replies"][0]["buttons"]] == ["/erase:yes",
                                                                      "/erase:no"]
    await talk.send(payload="/erase:yes")
    seen_by_coach = await (await browser.get(f"/coach/api/leads/{lead}")).json()
    assert seen_by_coach["status"] == "erased" and seen_by_coach["user_left"] is True
    assert seen_by_coach["name"] is None and seen_by_coach["transcript"] == []
    # SMS: message, STOP, START, erase (confirmed with a word).
    await journeys.sms(client, "hej", "STOP", "START", "radera mina uppgifter", "ja")
    # Telegram: a message, a subscription, a campaign and a reply; then erase with the button.
    await journeys.telegram(client, "/start poster_tensta", "hej")
    campaign = await journeys.campaign(client)
    await journeys.run_worker_until_sent(settings, redis, clock=CLOCK)
    assert any(f"start=c-{campaign}" in m["text"] for m in providers.telegram_sent)
    await journeys.telegram(client, f"/start c-{campaign}")
    await journeys.telegram(client, "radera mina uppgifter", button="/erase:yes")
    await journeys.run_worker_until_sent(settings, redis, clock=CLOCK)
    erased = client.server.app[SERVICES].content.text("erased", "sv")
    assert providers.elks_sent[-1]["message"] == erased  # the confirmation, then nothing

    needles = [talk.session, f"webchat:{talk.session}", PHONE, PHONE.lstrip("+"),
               "0701234567", str(CHAT), NAME, *codes]
    assert mentions(await journeys.dump(redis, prefix), needles) == {}
    slots = [Keys(prefix)(BOOKING_SLOT, slot=CLOCK.slot("unga-jarva", day, "10:00"))
             for day in (1, 2)]
    assert [await redis.scard(slot) for slot in slots] == [0, 0]  # seats free again


async def test_no_key_without_expiry_holds_personal_data(client, aiohttp_client, redis,
                                                         prefix) -> None:
    settings = client.settings
    talk, codes = await journeys.web_booking_and_handover(client)
    await talk.send("I would like help with my CV")
    browser, csrf = await journeys.coach_logs_in(client, aiohttp_client)
    await journeys.coach_claims_and_writes(browser, csrf, close=False)
    await journeys.telegram(client, "/start poster_tensta", "vad är sfi?", button="/info_sfi")
    await journeys.sms(client, "hej", "1", "STOP")
    await journeys.sms_delivery_report(client)
    await client.server.app[SERVICES].deliveries.send("terminal:local", [Reply("A coach")])
    await journeys.run_worker_until_sent(settings, redis, clock=CLOCK)

    keys, everything = Keys(prefix), await journeys.dump(redis, prefix)
    lasting = {key: content for key, content in everything.items()
               if await redis.ttl(key) == -1}
    assert lasting  # the queues, the streams, the coach account, the STOP record
    for key in lasting:
        pattern = keys.match(key)
        assert pattern is not None, key
        assert pattern.owner in (Owner.SYSTEM, Owner.STAFF) or pattern is OPTOUT, key
    needles = [talk.session, PHONE, PHONE.lstrip("+"), str(CHAT), NAME, *codes]
    assert mentions(lasting, needles) == {}
    assert any(keys.match(key) is OPTOUT for key in lasting)  # STOP is honoured, hashed
