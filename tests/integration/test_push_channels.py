"""Telegram and SMS end to end: webhooks in (with the real Rasa model and real Redis), the
worker sending through the outbox to fake provider servers that speak the real wire formats."""

from __future__ import annotations

import asyncio
import time
from urllib.parse import urlencode

import pytest

from bot.core.keys import JOBS_DUE, Keys
from bot.core.messages import Reply
from bot.runtime import worker
from bot.runtime.gateway import SERVICES, create_app
from connectors.sms import STATUS, twilio_signature
from tests.conftest import make_settings
from tests.fakes import (
    ELKS_PASSWORD,
    ELKS_USER,
    TELEGRAM_TOKEN,
    TWILIO_SID,
    TWILIO_TOKEN,
    elks_auth,
)
from tests.job_queue import queue_idle
from tests.waiting import until

SECRET = "telegram-webhook-secret"
ELKS_SECRET = "elks-webhook-secret"
STATUS_SECRET = "elks-status-secret"
PUBLIC_URL = "https://lotsen.example.org"
PHONE = "+46701234567"


@pytest.fixture
def settings(prefix, rasa_server, providers, redis):
    return make_settings(
        prefix, rasa_server, public_url=PUBLIC_URL, telegram_token=TELEGRAM_TOKEN,
        telegram_webhook_secret=SECRET, telegram_api_url=providers.url,
        elks_username=ELKS_USER, elks_password=ELKS_PASSWORD, elks_webhook_secret=ELKS_SECRET,
        elks_status_secret=STATUS_SECRET,
        elks_api_url=providers.url, twilio_account_sid=TWILIO_SID,
        twilio_auth_token=TWILIO_TOKEN, twilio_from="+46766861234",
        twilio_api_url=providers.url)


@pytest.fixture
async def gateway(aiohttp_client, settings):
    return await aiohttp_client(create_app(settings))


@pytest.fixture
async def running_worker(settings):
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(settings, stop, poll_seconds=0.5))
    yield
    stop.set()
    await asyncio.wait_for(task, 10)


_update_id = iter(range(1000, 10**6))


def text_update(chat: int, text: str, language: str = "sv") -> dict:
    return {"update_id": next(_update_id), "message": {
        "message_id": next(_update_id), "date": int(time.time()), "text": text,
        "chat": {"id": chat, "type": "private", "first_name": "A"},
        "from": {"id": chat, "is_bot": False, "first_name": "A", "language_code": language}}}


def button_update(chat: int, data: str) -> dict:
    return {"update_id": next(_update_id), "callback_query": {
        "id": f"cb{next(_update_id)}", "chat_instance": "1", "data": data,
        "from": {"id": chat, "is_bot": False, "first_name": "A", "language_code": "sv"},
        "message": {"message_id": 1, "date": int(time.time()), "text": "menu",
                    "chat": {"id": chat, "type": "private"}}}}


async def telegram(gateway, update: dict, secret: str = SECRET):
    return await gateway.post("/telegram/webhook", json=update,
                              headers={"X-Telegram-Bot-Api-Secret-Token": secret})


async def test_telegram_conversation_with_deep_link_buttons_and_free_text(
        gateway, providers, running_worker, redis, prefix) -> None:
    content = gateway.server.app[SERVICES].content
    resp = await telegram(gateway, text_update(555, "/start poster_tensta"))
    assert resp.status == 200
    await until(lambda: len(providers.telegram_sent) == 1)
    greeting = providers.telegram_sent[0]
    assert greeting["chat_id"] == 555 and "Lotsen" in greeting["text"]
    keyboard = greeting["reply_markup"]["inline_keyboard"]
    assert keyboard[0][0]["callback_data"] == "/info_jobbtorg"
    assert all(len(row[0]["callback_data"].encode()) <= 64 for row in keyboard)
    state = await gateway.server.app[SERVICES].engine.store.load("telegram:555")
    assert state.source == "poster_tensta"

    await telegram(gateway, button_update(555, "/info_sfi_parents"))
    await until(lambda: len(providers.telegram_sent) == 2 and providers.telegram_answered)
    assert providers.telegram_sent[1]["text"] == content.text("info_sfi_parents", "sv")

    await telegram(gateway, text_update(555, "where can I learn swedish", "en"))
    await until(lambda: len(providers.telegram_sent) == 3)
    assert providers.telegram_sent[2]["text"] == content.text("info_sfi", "en")

    await telegram(gateway, {"update_id": next(_update_id), "message": {
        "message_id": 9, "date": int(time.time()), "chat": {"id": 555, "type": "private"},
        "photo": [{"file_id": "x", "file_unique_id": "y", "width": 1, "height": 1}]}})
    await until(lambda: len(providers.telegram_sent) == 4)
    assert providers.telegram_sent[3]["text"] == content.text("non_text", "en")


async def test_telegram_wrong_secret_is_403_and_nothing_is_processed(gateway, providers, redis,
                                                                     prefix) -> None:
    resp = await telegram(gateway, text_update(556, "hej"), secret="wrong")
    assert resp.status == 403
    resp = await gateway.post("/telegram/webhook", json=text_update(556, "hej"))
    assert resp.status == 403
    assert [k async for k in redis.scan_iter(match=f"{prefix}:*556*")] == []  # any key at all
    assert await redis.zcard(Keys(prefix)(JOBS_DUE)) == 0


async def test_telegram_malformed_and_duplicate_updates(gateway, providers, running_worker,
                                                        redis, prefix) -> None:
    resp = await gateway.post("/telegram/webhook", data=b"{oops",
                              headers={"X-Telegram-Bot-Api-Secret-Token": SECRET})
    assert resp.status == 400
    update = text_update(557, "hej")
    first, second = await telegram(gateway, update), await telegram(gateway, update)
    assert (await first.json()) == {"ok": True} and (await second.json())["duplicate"]
    await until(lambda: len(providers.telegram_sent) == 1)
    await until(lambda: queue_idle(redis, prefix), what="every queued reply sent")
    assert len(providers.telegram_sent) == 1


async def test_telegram_429_is_retried_after_retry_after_and_delivered_once(
        gateway, providers, running_worker, redis, prefix) -> None:
    providers.telegram_429 = 1
    started = time.monotonic()
    await telegram(gateway, text_update(558, "hej"))
    await until(lambda: len(providers.telegram_sent) == 1)
    assert providers.telegram_rejected == 1
    assert time.monotonic() - started >= 1.0  # waited the retry_after the fake asked for
    await until(lambda: queue_idle(redis, prefix), what="the retried job to finish")
    assert len(providers.telegram_sent) == 1


def elks_form(message: str, message_id: str, sender: str = PHONE) -> dict[str, str]:
    return {"from": sender, "to": "+46766861234", "message": message, "id": message_id,
            "direction": "incoming"}


async def elks(gateway, form: dict[str, str], secret: str = ELKS_SECRET,
               path: str = "/sms/46elks"):
    """What 46elks sends for the webhook URL https://lotsen:<secret>@host/sms/46elks."""
    return await gateway.post(path, data=form, headers=elks_auth(secret))


async def test_sms_conversation_over_46elks_with_a_numbered_choice(gateway, providers,
                                                                   running_worker) -> None:
    content = gateway.server.app[SERVICES].content
    resp = await elks(gateway, elks_form("hej", "m1"))
    assert resp.status == 200 and await resp.text() == ""
    await until(lambda: len(providers.elks_sent) == 1)
    first = providers.elks_sent[0]
    assert first["to"] == PHONE and first["from"] == "Lotsen"
    assert "\n1 " in first["message"] and "\n2 " in first["message"]  # numbered menu
    assert "<" not in first["message"] and "*" not in first["message"]  # no markup
    second = content.menus["short_main"][1]  # SMS has its own, shorter main menu
    assert f"\n2 {content.button(second, 'sv').title}" in first["message"]
    await elks(gateway, elks_form("2", "m2"))
    await until(lambda: len(providers.elks_sent) == 2)
    short = content.reply(second.lstrip("/"), "sv", short=True).text
    assert providers.elks_sent[1]["message"].startswith(short)  # the short SMS form


async def test_46elks_wrong_or_missing_credentials_are_refused_and_nothing_processed(
        gateway, providers, redis, prefix) -> None:
    assert (await elks(gateway, elks_form("hej", "x1"), secret="nope")).status == 401
    resp = await gateway.post("/sms/46elks", data=elks_form("hej", "x2"))
    assert resp.status == 401
    # The secret in the query string (it would land in proxy and provider logs) is not accepted.
    resp = await gateway.post(f"/sms/46elks?secret={ELKS_SECRET}", data=elks_form("hej", "x3"))
    assert resp.status == 401
    # Delivery reports have their own secret: the inbound one does not open them.
    resp = await elks(gateway, {"id": "s1", "status": "delivered"}, path="/sms/46elks/status")
    assert resp.status == 401
    assert await redis.zcard(Keys(prefix)(JOBS_DUE)) == 0
    assert (await elks(gateway, {"from": PHONE})).status == 400


async def test_twilio_signature_is_checked_against_the_public_url(gateway, providers,
                                                                  running_worker, redis,
                                                                  prefix) -> None:
    form = {"From": "+46709999999", "To": "+46766861234", "Body": "hello, what can you do",
            "MessageSid": "SM1", "AccountSid": TWILIO_SID}
    good = twilio_signature(TWILIO_TOKEN, f"{PUBLIC_URL}/sms/twilio", form)
    bad = await gateway.post("/sms/twilio", data=form, headers={"X-Twilio-Signature": "AAAA"})
    assert bad.status == 403
    assert await redis.zcard(Keys(prefix)(JOBS_DUE)) == 0
    ok = await gateway.post("/sms/twilio", data=form, headers={"X-Twilio-Signature": good})
    assert ok.status == 200 and "<Response>" in await ok.text()
    await until(lambda: len(providers.twilio_sent) == 1)
    assert providers.twilio_sent[0]["To"] == "+46709999999"


async def test_stop_then_a_broadcast_sends_nothing_more(gateway, providers, running_worker,
                                                        redis, prefix) -> None:
    await elks(gateway, elks_form("STOP", "s1"))
    await until(lambda: len(providers.elks_sent) == 1)  # the one confirmation
    content = gateway.server.app[SERVICES].content
    assert providers.elks_sent[0]["message"] == content.text("optout_confirmed", "sv")
    await elks(gateway, elks_form("hej igen", "s2"))
    deliveries = gateway.server.app[SERVICES].deliveries
    await deliveries.send(f"sms:{PHONE}", [Reply("Broadcast: drop-in i morgon!")])
    await until(lambda: queue_idle(redis, prefix), what="the worker to take the broadcast")
    assert len(providers.elks_sent) == 1
    await elks(gateway, elks_form("START", "s3"))
    await until(lambda: len(providers.elks_sent) == 2)
    assert providers.elks_sent[1]["message"] == content.text("optin_confirmed", "sv")


async def test_duplicate_sms_delivery_is_processed_once(gateway, providers, running_worker,
                                                        redis, prefix) -> None:
    for _ in range(3):
        resp = await elks(gateway, elks_form("vad är sfi", "dup1"))
        assert resp.status == 200
    await until(lambda: len(providers.elks_sent) == 1)
    await until(lambda: queue_idle(redis, prefix), what="every queued reply sent")
    assert len(providers.elks_sent) == 1


async def test_delivery_reports_are_recorded(gateway, redis, prefix) -> None:
    resp = await elks(gateway, {"id": "s123", "status": "delivered"}, secret=STATUS_SECRET,
                      path="/sms/46elks/status")
    assert resp.status == 200
    assert (await redis.hgetall(Keys(prefix)(STATUS, message="s123")))["status"] == "delivered"
    form = {"MessageSid": "SM9", "MessageStatus": "delivered"}
    sig = twilio_signature(TWILIO_TOKEN, f"{PUBLIC_URL}/sms/twilio/status", form)
    resp = await gateway.post("/sms/twilio/status", data=urlencode(form),
                              headers={"X-Twilio-Signature": sig,
                                       "Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status == 200
    assert (await redis.hgetall(Keys(prefix)(STATUS, message="SM9")))["status"] == "delivered"
