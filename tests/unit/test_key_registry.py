"""The key registry: a scripted journey through every channel (web chat booking and handover
with a coach, Telegram with a subscription, a campaign and a reply to it, WhatsApp with a
subscription, the campaign as its template, a delivery status, STOP/START and erasure, SMS with
STOP/START and a delivery report, a terminal delivery, the worker sending everything, a failed
login, erasure) and then every key under the test prefix must belong to a declared pattern.
Buttons, commands and keywords only, so no NLU is needed."""

from __future__ import annotations

import pytest

from bot.core import keys as core_keys
from bot.core.keys import REGISTRY, Erasure, KeyPattern, Keys, Owner, declare
from bot.core.messages import Reply
from bot.core.outreach import campaigns, subscriptions
from bot.core.outreach.flow import ALL_DISTRICTS, DONE, OFFER, YES
from bot.runtime.gateway import SERVICES, create_app
from connectors import inbox, optout, send_limits, sms, telegram, terminal, webchat, whatsapp
from tests import journeys
from tests.fakes import (
    WHATSAPP_APP_SECRET,
    WHATSAPP_PHONE_ID,
    WHATSAPP_TOKEN,
    WHATSAPP_VERIFY_TOKEN,
    WHATSAPP_VERSION,
    whatsapp_button_reply,
    whatsapp_signed,
    whatsapp_status,
    whatsapp_text,
    whatsapp_webhook,
)
from tests.journeys import CLOCK

WHATSAPP_NUMBER = "+46709876543"


async def on_whatsapp(client, *messages: dict, statuses: tuple[dict, ...] = ()) -> None:
    """Signed webhook calls from the WhatsApp person, one message each (or statuses)."""
    for payload in [whatsapp_webhook([message]) for message in messages] + (
            [whatsapp_webhook(statuses=statuses)] if statuses else []):
        body, headers = whatsapp_signed(payload)
        resp = await client.post("/whatsapp/webhook", data=body, headers=headers)
        assert resp.status == 200, await resp.text()


def pressed(*payloads: str) -> list[dict]:
    return [whatsapp_button_reply(WHATSAPP_NUMBER, payload) for payload in payloads]


def test_patterns_match_the_keys_they_build() -> None:
    keys = Keys("p")
    assert keys.match(keys(core_keys.CONV_STATE, conversation="sms:+46701234567")) \
        is core_keys.CONV_STATE
    slot = keys(core_keys.BOOKING_SLOT, slot=CLOCK.slot("unga-jarva", 1, "08:00"))
    assert keys.match(slot) is core_keys.BOOKING_SLOT
    assert keys.match(keys(core_keys.BOOKING, code="ABC234")) is core_keys.BOOKING
    assert keys.match("p:conv:webchat:abc:nonsense") is None
    assert keys.match("other:conv:webchat:abc:state") is None
    assert keys.glob(core_keys.CONV_RATE, conversation="webchat:a*b") == \
        r"p:conv:webchat:a\*b:rate:*"
    with pytest.raises(KeyError):
        keys(core_keys.BOOKING)


def test_a_pattern_cannot_be_declared_twice() -> None:
    with pytest.raises(ValueError, match="declared twice"):
        declare(core_keys.CONV_STATE.template, owner=Owner.SYSTEM, expiry="x",
                erasure=Erasure.NOT_PERSONAL)


async def test_every_key_a_full_journey_creates_is_declared(aiohttp_client, providers,
                                                            redis, prefix) -> None:
    # Every reply is sent (the fixed clock never reaches a per-chat window's retry).
    settings = journeys.journey_settings(
        prefix, providers, telegram_chat_rate_per_second=100.0, whatsapp_token=WHATSAPP_TOKEN,
        whatsapp_phone_number_id=WHATSAPP_PHONE_ID, whatsapp_app_secret=WHATSAPP_APP_SECRET,
        whatsapp_verify_token=WHATSAPP_VERIFY_TOKEN,
        whatsapp_api_url=f"{providers.url}/{WHATSAPP_VERSION}")
    client = await aiohttp_client(create_app(settings, clock=CLOCK))
    services = client.server.app[SERVICES]
    talk, _ = await journeys.web_booking_and_handover(client)
    await talk.send("I would like help with my CV")  # relayed to the coach, not to NLU
    browser, csrf = await journeys.coach_logs_in(client, aiohttp_client)
    await journeys.coach_claims_and_writes(browser, csrf, close=True)
    await journeys.telegram(client, "/start poster_tensta", button="/info_sfi")
    await on_whatsapp(client, whatsapp_text(WHATSAPP_NUMBER, "hej"),
                      *pressed(OFFER["sfi_parents"], YES, DONE, ALL_DISTRICTS))
    campaign = await journeys.campaign(client)  # also to the WhatsApp subscriber
    await journeys.sms(client, "/greet", "1", "STOP")
    await journeys.sms_delivery_report(client)
    await services.deliveries.send("terminal:local-test", [Reply("A coach wrote")])
    await journeys.run_worker_until_sent(settings, redis, clock=CLOCK)
    assert providers.elks_sent and providers.telegram_sent
    [template] = [m for m in providers.whatsapp_sent if m["type"] == "template"]
    await on_whatsapp(client, statuses=(
        whatsapp_status(WHATSAPP_NUMBER, template["id"], "delivered"),))
    assert (await services.campaigns.status(campaign))["delivered"] == 2  # and Telegram's
    await journeys.telegram(client, f"/start c-{campaign}")  # a reply to the campaign
    assert (await services.campaigns.status(campaign))["replies"] == 1

    keys = Keys(prefix)
    during = [key async for key in redis.scan_iter(match=f"{prefix}:*", count=500)]
    await journeys.sms(client, "START")
    await on_whatsapp(client, whatsapp_text(WHATSAPP_NUMBER, "STOP"),
                      whatsapp_text(WHATSAPP_NUMBER, "START"),
                      *pressed("/delete_my_data", "/erase:yes"))
    await talk.send(payload="/handover:end")
    await talk.send(payload="/delete_my_data")
    await talk.send(payload="/erase:yes")
    after = [key async for key in redis.scan_iter(match=f"{prefix}:*", count=500)]

    undeclared = sorted(key for key in {*during, *after} if keys.match(key) is None)
    assert undeclared == []
    named = [key for key in during if WHATSAPP_NUMBER[1:] in key]  # the window, the state...
    assert named and [key for key in after if WHATSAPP_NUMBER[1:] in key] == []  # erased
    seen: set[KeyPattern] = {p for key in during if (p := keys.match(key)) is not None}
    expected = {core_keys.CONV_STATE, core_keys.BOOKING, core_keys.BOOKING_SLOT,
                core_keys.BOOKING_HELD, core_keys.LEAD, core_keys.LEAD_STREAM, core_keys.COACH,
                core_keys.COACH_SESSION, core_keys.LIMIT, core_keys.JOB,
                core_keys.JOBS_TO, core_keys.WORKER_HEARTBEAT, optout.OPTOUT,
                inbox.INBOUND_SEEN, send_limits.PACE, sms.PROVIDER, sms.STATUS,
                webchat.SESSION, webchat.LOG, terminal.INBOX, subscriptions.SUBSCRIPTION,
                campaigns.CAMPAIGNS, campaigns.CAMPAIGN, campaigns.CAMPAIGN_COUNTS,
                campaigns.CAMPAIGN_RECIPIENTS, campaigns.CAMPAIGN_DAY,
                campaigns.CAMPAIGN_RECENT, whatsapp.WINDOW, whatsapp.SENT}
    assert expected <= seen, sorted(p.template for p in expected - seen)
    assert telegram.CALLBACK in REGISTRY.values()
