"""The key registry: a scripted journey through every channel (web chat booking and handover
with a coach, Telegram, SMS with STOP/START and a delivery report, a terminal delivery, the
worker sending everything, a failed login, erasure) and then every key under the test prefix
must belong to a declared pattern. Buttons, commands and keywords only, so no NLU is needed."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.coach.accounts import CoachAccounts
from bot.core import keys as core_keys
from bot.core.keys import REGISTRY, Erasure, KeyPattern, Keys, Owner, declare
from bot.core.messages import Reply
from bot.runtime import worker
from bot.runtime.gateway import SERVICES, create_app
from connectors import inbox, optout, send_limits, sms, telegram, terminal, webchat
from tests.clock import FixedClock
from tests.conftest import Conversation, make_settings
from tests.fakes import ELKS_PASSWORD, ELKS_USER, TELEGRAM_TOKEN, elks_auth

FIXTURE_CONFIG = Path(__file__).resolve().parent.parent / "fixtures" / "config"
CLOCK = FixedClock(datetime(2026, 11, 23, 11, 0, tzinfo=UTC))  # a Monday, 12:00 in Stockholm
SECRET, ELKS_SECRET, PHONE = "tg-secret", "elks-secret", "+46701234567"
STATUS_SECRET = "elks-status-secret"
PASSWORD = "correct horse battery"


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


@pytest.fixture
def settings(prefix, providers, redis):
    return make_settings(
        prefix, config_dir=FIXTURE_CONFIG, public_url="http://lotsen.test",
        telegram_token=TELEGRAM_TOKEN, telegram_webhook_secret=SECRET,
        telegram_api_url=providers.url, elks_username=ELKS_USER, elks_password=ELKS_PASSWORD,
        elks_webhook_secret=ELKS_SECRET, elks_status_secret=STATUS_SECRET,
        elks_api_url=providers.url)


async def web_journey(client) -> Conversation:
    """Book, cancel, book again, hand over to a coach who answers and closes."""
    talk = await Conversation.start(client, language="en")
    await talk.send(payload="/greet")
    booked = await talk.send(payload=f"/book:ok:{CLOCK.slot('unga-jarva', 1, '10:00')}")
    code = booked["replies"][0]["text"].split("booking code is ")[1][:6]
    await talk.send(payload=f"/book:cancel:{code}")
    await talk.send(payload=f"/book:ok:{CLOCK.slot('unga-jarva', 2, '10:00')}")
    for step in ("/request_coach", "/handover:yes"):
        await talk.send(payload=step)
    await talk.send("Amina")
    for step in ("/handover:contact:chat", "/handover:district:Rinkeby", "/handover:age:20-29",
                 "/handover:topic:work"):
        await talk.send(payload=step)
    await talk.send("I would like help with my CV")  # relayed to the coach, not to NLU
    return talk


async def coach_journey(client, aiohttp_client) -> None:
    services = client.server.app[SERVICES]
    accounts = CoachAccounts(services.redis, services.settings.key_prefix, services.teams)
    await accounts.add("sara", PASSWORD, ["jobbtorg-unga-jarva"], name="Sara")
    browser = await aiohttp_client(client.server)
    wrong = await browser.post("/coach/api/login", json={"username": "sara", "password": "no"})
    assert wrong.status == 401
    me = await (await browser.post("/coach/api/login",
                                   json={"username": "sara", "password": PASSWORD})).json()
    csrf = {"X-CSRF-Token": me["csrf_token"]}
    lead = (await (await browser.get("/coach/api/leads")).json())["leads"][0]["id"]
    assert (await browser.post(f"/coach/api/leads/{lead}/claim", headers=csrf)).status == 200
    await browser.post(f"/coach/api/leads/{lead}/messages", json={"text": "Hi!"}, headers=csrf)
    await browser.post(f"/coach/api/leads/{lead}/close", json={"outcome": "contacted"},
                       headers=csrf)


async def telegram_journey(client) -> None:
    update_id = iter(range(100, 200))

    def update(**fields: object) -> dict:
        return {"update_id": next(update_id), **fields}

    user = {"id": 555, "is_bot": False, "first_name": "A", "language_code": "sv"}
    chat = {"id": 555, "type": "private"}
    for body in (
        update(message={"message_id": 1, "date": 0, "text": "/start poster_tensta",
                        "chat": chat, "from": user}),
        update(callback_query={"id": "cb1", "chat_instance": "1", "data": "/info_sfi",
                               "from": user, "message": {"message_id": 2, "date": 0,
                                                         "text": "menu", "chat": chat}}),
    ):
        resp = await client.post("/telegram/webhook", json=body,
                                 headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
        assert resp.status == 200, await resp.text()


async def sms_journey(client) -> None:
    for number, text in enumerate(("/greet", "1", "STOP"), start=1):
        form = {"from": PHONE, "to": "+46766861234", "message": text, "id": f"m{number}"}
        resp = await client.post("/sms/46elks", data=form, headers=elks_auth(ELKS_SECRET))
        assert resp.status == 200, await resp.text()
    await client.post("/sms/46elks/status", headers=elks_auth(STATUS_SECRET),
                      data={"id": "s00000000000000000000000000000001", "status": "delivered"})


async def test_every_key_a_full_journey_creates_is_declared(aiohttp_client, settings, providers,
                                                            redis, prefix) -> None:
    client = await aiohttp_client(create_app(settings, clock=CLOCK))
    services = client.server.app[SERVICES]
    talk = await web_journey(client)
    await coach_journey(client, aiohttp_client)
    await telegram_journey(client)
    await sms_journey(client)
    await services.deliveries.send("terminal:local-test", [Reply("A coach wrote")])

    stop = asyncio.Event()  # the worker sends what the outbox holds and writes its heartbeat
    running = asyncio.create_task(worker.run(settings, stop, poll_seconds=0.2))
    deadline = time.monotonic() + 20
    while (not providers.elks_sent or not providers.telegram_sent) and \
            time.monotonic() < deadline:
        await asyncio.sleep(0.2)
    stop.set()
    await asyncio.wait_for(running, 10)
    assert providers.elks_sent and providers.telegram_sent

    keys = Keys(prefix)
    during = [key async for key in redis.scan_iter(match=f"{prefix}:*", count=500)]

    form = {"from": PHONE, "to": "+46766861234", "message": "START", "id": "m4"}
    await client.post("/sms/46elks", data=form, headers=elks_auth(ELKS_SECRET))
    await talk.send(payload="/handover:end")
    await talk.send(payload="/delete_my_data")
    await talk.send(payload="/erase:yes")
    after = [key async for key in redis.scan_iter(match=f"{prefix}:*", count=500)]

    undeclared = sorted(key for key in {*during, *after} if keys.match(key) is None)
    assert undeclared == []
    seen: set[KeyPattern] = {p for key in during if (p := keys.match(key)) is not None}
    expected = {core_keys.CONV_STATE, core_keys.BOOKING, core_keys.BOOKING_SLOT,
                core_keys.LEAD, core_keys.LEAD_STREAM, core_keys.COACH,
                core_keys.COACH_SESSION, core_keys.COACH_LOGIN_FAILURES,
                core_keys.WORKER_HEARTBEAT, optout.OPTOUT, inbox.INBOUND_SEEN,
                send_limits.SEND_RATE, sms.PROVIDER, sms.STATUS, webchat.SESSION,
                terminal.INBOX}
    assert expected <= seen, sorted(p.template for p in expected - seen)
    assert {telegram.CALLBACK, webchat.LOG} <= set(REGISTRY.values())
