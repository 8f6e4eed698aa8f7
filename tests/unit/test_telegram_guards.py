"""Telegram: only private chats (a group gets one polite refusal and the bot leaves; nothing is
stored), updates checked before anything is stored or queued, and deliveries processed exactly
once: a retry after a failure is processed, a retry of a finished one is not, a retry while the
first attempt runs is told to come back later."""

from __future__ import annotations

import asyncio

import pytest

from bot.core.keys import JOBS_DUE, Keys
from bot.runtime import worker
from bot.runtime.gateway import SERVICES, create_app
from tests.conftest import make_settings
from tests.fakes import TELEGRAM_TOKEN
from tests.redis_keys import conversation_keys
from tests.waiting import until

SECRET = "tg-secret"
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET}


@pytest.fixture
def settings(prefix, providers, redis):
    return make_settings(prefix, public_url="https://lotsen.example.org",
                         telegram_token=TELEGRAM_TOKEN, telegram_webhook_secret=SECRET,
                         telegram_api_url=providers.url)


@pytest.fixture
async def gateway(aiohttp_client, settings):
    return await aiohttp_client(create_app(settings))


async def run_worker_until(settings, condition, timeout: float = 15.0) -> None:
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(settings, stop, poll_seconds=0.2))
    try:
        await until(condition, timeout=timeout, what="the fake Telegram")
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


def message(update_id: int, chat: dict, text: str = "hej") -> dict:
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": 0, "text": text, "chat": chat,
        "from": {"id": 42, "is_bot": False, "first_name": "A", "language_code": "en"}}}


async def test_a_group_gets_one_polite_refusal_the_bot_leaves_and_nothing_is_stored(
        gateway, settings, providers, redis, prefix) -> None:
    group = {"id": -100123, "type": "supergroup", "title": "Class 9B"}
    for update_id, text in ((1, "/start"), (2, "/erase:yes")):
        resp = await gateway.post("/telegram/webhook", json=message(update_id, group, text),
                                  headers=HEADERS)
        assert resp.status == 200
    await run_worker_until(settings, lambda: len(providers.telegram_left) >= 1)
    content = gateway.server.app[SERVICES].content
    refusals = [m for m in providers.telegram_sent if m["chat_id"] == -100123]
    assert refusals[0]["text"] == content.text("group_refused", "en",
                                               link="https://t.me/lotsen_test_bot")
    assert providers.telegram_left[0] == -100123
    stored = await conversation_keys(redis, prefix)
    assert stored == []  # no conversation, transcript or state for the group or its members


@pytest.mark.parametrize("update", [
    {"update_id": 7, "message": 5},
    {"update_id": 7, "message": {"chat": {"id": None, "type": "private"}, "text": "hej"}},
    {"update_id": 7, "message": {"chat": {"id": "12", "type": "private"}, "text": "hej"}},
    {"update_id": 7, "message": {"chat": {"id": 12, "type": "private"}, "text": 5}},
    {"update_id": 7, "message": {"chat": {"id": 12, "type": "private"}, "text": "hej",
                                 "from": {"id": True}}},
    {"update_id": 7, "callback_query": {"id": 1, "from": {"id": 1}}},
    {"update_id": 7, "callback_query": {"id": "1", "from": {"id": 1}, "data": ["x"]}},
    {"update_id": True},
])
async def test_malformed_updates_are_400_and_nothing_is_stored(gateway, redis, prefix,
                                                               update) -> None:
    resp = await gateway.post("/telegram/webhook", json=update, headers=HEADERS)
    assert resp.status == 400 and "error" in await resp.json()
    assert [k async for k in redis.scan_iter(match=f"{prefix}:*")] == []


async def test_a_delivery_that_failed_is_processed_on_the_providers_retry(
        gateway, redis, prefix, monkeypatch) -> None:
    channel = gateway.server.app[SERVICES].channels["telegram"]
    private = {"id": 777, "type": "private"}
    original, calls = channel.inbox.handle, []

    async def fail_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("storage hiccup")
        return await original(*args, **kwargs)

    monkeypatch.setattr(channel.inbox, "handle", fail_once)
    update = message(50, private, "/start")
    assert (await gateway.post("/telegram/webhook", json=update, headers=HEADERS)).status == 500
    retry = await gateway.post("/telegram/webhook", json=update, headers=HEADERS)
    assert retry.status == 200 and "duplicate" not in await retry.json()
    again = await gateway.post("/telegram/webhook", json=update, headers=HEADERS)
    assert (await again.json())["duplicate"] is True
    assert len(calls) == 2
    jobs = await redis.zcard(Keys(prefix)(JOBS_DUE))
    assert jobs == 1  # exactly one reply queued


async def test_a_retry_while_the_first_attempt_runs_is_told_to_come_back(
        gateway, monkeypatch) -> None:
    channel = gateway.server.app[SERVICES].channels["telegram"]
    entered, release = asyncio.Event(), asyncio.Event()
    original = channel.inbox.handle

    async def slow(*args, **kwargs):
        entered.set()
        await release.wait()
        return await original(*args, **kwargs)

    monkeypatch.setattr(channel.inbox, "handle", slow)
    update = message(60, {"id": 778, "type": "private"}, "/start")
    first = asyncio.create_task(gateway.post("/telegram/webhook", json=update, headers=HEADERS))
    await asyncio.wait_for(entered.wait(), 10)
    busy = await gateway.post("/telegram/webhook", json=update, headers=HEADERS)
    assert busy.status == 503 and busy.headers["Retry-After"]
    release.set()
    assert (await first).status == 200
