"""Scripted journeys through every channel, shared by the key-registry and privacy tests: what a
person does (web chat booking and handover, Telegram with a subscription and a campaign, SMS
with STOP/START), what a coach does, the worker sending everything, and a dump of every key
under a test prefix with its contents."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from itertools import count
from pathlib import Path

from redis.asyncio import Redis

from bot.config import Settings
from bot.core.clock import Clock, system_clock
from bot.core.outreach.flow import ALL_DISTRICTS, OFFER
from bot.core.outreach.flow import DONE as SUB_DONE
from bot.core.outreach.flow import YES as SUB_YES
from bot.runtime import worker
from bot.runtime.gateway import SERVICES
from tests.clock import FixedClock
from tests.conftest import Conversation, make_settings
from tests.fakes import ELKS_PASSWORD, ELKS_USER, TELEGRAM_TOKEN, Providers, elks_auth
from tests.job_queue import queue_idle
from tests.waiting import until

FIXTURE_CONFIG = Path(__file__).resolve().parent / "fixtures" / "config"
CLOCK = FixedClock(datetime(2026, 11, 23, 11, 0, tzinfo=UTC))  # a Monday, 12:00 in Stockholm
TELEGRAM_SECRET, ELKS_SECRET, STATUS_SECRET = "tg-secret", "elks-secret", "elks-status-secret"
PHONE = "+46701234567"
CHAT = 987654321
NAME = "Aminata"
PASSWORD = "correct horse battery"
_ids = count(1000)


def journey_settings(prefix: str, providers: Providers, **extra: object) -> Settings:
    return make_settings(
        prefix, config_dir=FIXTURE_CONFIG, public_url="http://lotsen.test",
        telegram_token=TELEGRAM_TOKEN, telegram_webhook_secret=TELEGRAM_SECRET,
        telegram_api_url=providers.url, elks_username=ELKS_USER, elks_password=ELKS_PASSWORD,
        elks_webhook_secret=ELKS_SECRET, elks_status_secret=STATUS_SECRET,
        elks_api_url=providers.url, **extra)


def booking_code(reply: dict) -> str:
    text = reply["replies"][0]["text"]
    return text.split("booking code is ")[1][:6]


async def web_booking_and_handover(client) -> tuple[Conversation, list[str]]:
    """Book, cancel, book again, then ask for a coach and consent; returns the booking codes."""
    talk = await Conversation.start(client, language="en")
    await talk.send(payload="/greet")
    tomorrow_at_ten = CLOCK.slot("unga-jarva", 1, "10:00")
    in_two_days_at_ten = CLOCK.slot("unga-jarva", 2, "10:00")
    first = booking_code(await talk.send(payload=f"/book:ok:{tomorrow_at_ten}"))
    await talk.send(payload=f"/book:cancel:{first}")
    second = booking_code(await talk.send(payload=f"/book:ok:{in_two_days_at_ten}"))
    for step in ("/request_coach", "/handover:yes"):
        await talk.send(payload=step)
    await talk.send(NAME)
    for step in ("/handover:contact:chat", "/handover:district:Rinkeby", "/handover:age:20-29",
                 "/handover:topic:work"):
        await talk.send(payload=step)
    return talk, [first, second]


async def coach_logs_in(client, aiohttp_client):
    """A coach account and a logged-in browser; returns (browser, csrf headers)."""
    services = client.server.app[SERVICES]
    accounts = services.accounts
    await accounts.add("sara", PASSWORD, ["jobbtorg-unga-jarva"], name="Sara")
    browser = await aiohttp_client(client.server)
    wrong = await browser.post("/coach/api/login", json={"username": "sara", "password": "no"})
    assert wrong.status == 401
    me = await (await browser.post("/coach/api/login",
                                   json={"username": "sara", "password": PASSWORD})).json()
    return browser, {"X-CSRF-Token": me["csrf_token"]}


async def coach_claims_and_writes(browser, csrf: dict, *, close: bool) -> str:
    lead = (await (await browser.get("/coach/api/leads")).json())["leads"][0]["id"]
    assert (await browser.post(f"/coach/api/leads/{lead}/claim", headers=csrf)).status == 200
    await browser.post(f"/coach/api/leads/{lead}/messages", json={"text": "Hi!"}, headers=csrf)
    if close:
        await browser.post(f"/coach/api/leads/{lead}/close", json={"outcome": "contacted"},
                           headers=csrf)
    return lead


async def telegram(client, *texts: str, chat: int = CHAT, button: str | None = None,
                   language: str = "sv") -> None:
    user = {"id": chat, "is_bot": False, "first_name": "A", "language_code": language}
    where = {"id": chat, "type": "private"}
    bodies = [{"update_id": next(_ids), "message": {"message_id": next(_ids), "date": 0,
                                                      "text": text, "chat": where,
                                                      "from": user}} for text in texts]
    if button:
        bodies.append({"update_id": next(_ids), "callback_query": {
            "id": f"cb{next(_ids)}", "chat_instance": "1", "data": button, "from": user,
            "message": {"message_id": next(_ids), "date": 0, "text": "menu", "chat": where}}})
    for body in bodies:
        resp = await client.post("/telegram/webhook", json=body,
                                 headers={"X-Telegram-Bot-Api-Secret-Token": TELEGRAM_SECRET})
        assert resp.status == 200, await resp.text()


async def campaign(client, chat: int = CHAT) -> str:
    """A Telegram subscriber (the subscription flow's buttons) and a campaign sent to them
    (the admin API); the worker sends it. Returns the campaign id."""
    for payload in (OFFER["sfi_parents"], SUB_YES, SUB_DONE, ALL_DISTRICTS):
        await telegram(client, chat=chat, button=payload)
    headers = {"Authorization": "Bearer test-admin"}
    created = await client.post("/api/campaigns", headers=headers, json={
        "name": "journey", "audience": {"topics": ["sfi_parents"]},
        "texts": {"sv": "Nytt om sfi för föräldralediga!"}})
    assert created.status == 201, await created.text()
    campaign_id = (await created.json())["id"]
    sent = await client.post(f"/api/campaigns/{campaign_id}/send", headers=headers)
    assert sent.status == 202, await sent.text()
    return str(campaign_id)


async def sms(client, *texts: str, number: str = PHONE) -> None:
    for text in texts:
        form = {"from": number, "to": "+46766861234", "message": text, "id": f"m{next(_ids)}"}
        resp = await client.post("/sms/46elks", data=form, headers=elks_auth(ELKS_SECRET))
        assert resp.status == 200, await resp.text()


async def sms_delivery_report(client) -> None:
    await client.post("/sms/46elks/status", headers=elks_auth(STATUS_SECRET),
                      data={"id": "s00000000000000000000000000000001", "status": "delivered"})


async def run_worker_until_sent(settings: Settings, redis: Redis, timeout: float = 30,
                                clock: Clock = system_clock) -> None:
    """Run the worker, on the same clock as the gateway, until nothing that is due now by that
    clock is left in the queue."""
    stop = asyncio.Event()
    running = asyncio.create_task(worker.run(settings, stop, poll_seconds=0.2, clock=clock))
    try:
        await asyncio.sleep(0.5)  # a first round: what the worker schedules by itself
        await until(lambda: queue_idle(redis, settings.key_prefix, clock().timestamp()),
                    timeout=timeout, interval=0.2, what="the worker to send what is due")
    finally:
        stop.set()
        await asyncio.wait_for(running, 10)


async def dump(redis: Redis, prefix: str) -> dict[str, str]:
    """Every key under the prefix with its whole content as text (any type)."""
    found: dict[str, str] = {}
    async for key in redis.scan_iter(match=f"{prefix}:*", count=500):
        kind = await redis.type(key)
        if kind == "string":
            value: object = await redis.get(key)
        elif kind == "hash":
            value = await redis.hgetall(key)
        elif kind == "list":
            value = await redis.lrange(key, 0, -1)
        elif kind == "set":
            value = sorted(await redis.smembers(key))
        elif kind == "zset":
            value = await redis.zrange(key, 0, -1, withscores=True)
        elif kind == "stream":
            value = await redis.xrange(key)
        else:
            continue  # deleted meanwhile
        found[key] = json.dumps(value, ensure_ascii=False, default=str)
    return found
