"""A Telegram group gets one refusal, however many members write at once, and the refusal is
never sent twice: when leaveChat fails, the job that sends the refusal and then leaves is run
again without sending the refusal again. Against the fake Telegram server (tests/fakes.py),
with leaveChat failing once."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest
from aiohttp import web

from bot.runtime import worker
from bot.runtime.gateway import SERVICES, create_app
from connectors.telegram import GROUP_REFUSED, GROUP_REFUSED_SECONDS, LEAVE_GROUP_JOB
from tests.conftest import make_settings
from tests.fakes import TELEGRAM_TOKEN, Providers
from tests.job_queue import queue_idle
from tests.waiting import until

SECRET = "tg-secret"
HEADERS = {"X-Telegram-Bot-Api-Secret-Token": SECRET}
GROUP = {"id": -100777, "type": "group", "title": "Parents of 3B"}


@dataclass
class FailingLeave(Providers):
    """The fake Telegram, with leaveChat failing `leave_failures` times first."""

    leave_failures: int = 0
    leave_failure: tuple[int, dict[str, object]] = (502, {})
    leave_calls: int = 0

    async def telegram(self, request: web.Request) -> web.Response:
        if request.match_info["method"] == "leaveChat":
            self.leave_calls += 1
            if self.leave_failures > 0:
                self.leave_failures -= 1
                status, parameters = self.leave_failure
                return web.json_response({"ok": False, "error_code": status,
                                          "description": "Bad Gateway" if status == 502 else
                                          "Too Many Requests: retry after 1",
                                          "parameters": parameters}, status=status)
        return await super().telegram(request)


@pytest.fixture
async def providers(aiohttp_server) -> FailingLeave:
    fake = FailingLeave()
    server = await aiohttp_server(fake.app())
    fake.url = str(server.make_url("")).rstrip("/")  # type: ignore[attr-defined]
    return fake


@pytest.fixture
def settings(prefix, providers, redis):
    return make_settings(prefix, public_url="https://lotsen.example.org",
                         telegram_token=TELEGRAM_TOKEN, telegram_webhook_secret=SECRET,
                         telegram_api_url=providers.url)


@pytest.fixture
async def gateway(aiohttp_client, settings):
    return await aiohttp_client(create_app(settings))


def group_message(update_id: int, member: int, language: str, text: str = "hej") -> dict:
    return {"update_id": update_id, "message": {
        "message_id": update_id, "date": 0, "text": text, "chat": GROUP,
        "from": {"id": member, "is_bot": False, "first_name": "M", "language_code": language}}}


async def run_worker_until_done(settings, redis, prefix, providers: FailingLeave) -> None:
    """The worker, until the bot left the group and no job is left (a retry included)."""
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(settings, stop, poll_seconds=0.2))
    try:
        await until(lambda: providers.telegram_left, what="the bot to leave the group")
        await until(lambda: queue_idle(redis, prefix), what="every job to end")
    finally:
        stop.set()
        await asyncio.wait_for(task, 10)


def refusals(providers: Providers) -> list[dict]:
    return [m for m in providers.telegram_sent if m["chat_id"] == GROUP["id"]]


async def test_two_members_writing_at_once_get_one_refusal(gateway, settings, providers,
                                                           redis, prefix) -> None:
    first, second = await asyncio.gather(
        gateway.post("/telegram/webhook", json=group_message(1, 41, "en"), headers=HEADERS),
        gateway.post("/telegram/webhook", json=group_message(2, 42, "sv"), headers=HEADERS))
    assert first.status == second.status == 200
    queue = gateway.server.app[SERVICES].jobs
    jobs = await queue.load([str(m) for m in await redis.zrange(queue.keys.due, 0, -1)])
    assert [job.name for job in jobs if job is not None] == [LEAVE_GROUP_JOB]
    marker = gateway.server.app[SERVICES].keys(GROUP_REFUSED, chat=GROUP["id"])
    assert 0 < await redis.ttl(marker) <= GROUP_REFUSED_SECONDS  # it expires by itself
    await run_worker_until_done(settings, redis, prefix, providers)
    assert len(refusals(providers)) == 1 and providers.telegram_left == [GROUP["id"]]


@pytest.mark.parametrize("failure", [(502, {}), (429, {"retry_after": 1})],
                         ids=["bad_gateway", "retry_after"])
async def test_when_leaving_fails_the_retry_does_not_send_the_refusal_again(
        gateway, settings, providers, redis, prefix, failure) -> None:
    providers.leave_failures, providers.leave_failure = 1, failure
    resp = await gateway.post("/telegram/webhook", json=group_message(3, 43, "en"),
                              headers=HEADERS)
    assert resp.status == 200
    await run_worker_until_done(settings, redis, prefix, providers)
    assert providers.leave_calls == 2  # failed once, then left
    assert len(refusals(providers)) == 1
    assert providers.telegram_left == [GROUP["id"]]
    assert await gateway.server.app[SERVICES].jobs.dead_letters() == []
