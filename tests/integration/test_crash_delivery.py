"""Nothing is lost or doubled when a process dies: 10 Telegram updates a second for 30 seconds,
each from its own chat, through a gateway and a worker running as real processes, with the real
Rasa model behind a proxy that makes every parse slow. The gateway is killed with SIGKILL once
and the worker once (each restarted, as `make run` does); a webhook call that fails is retried
the way Telegram retries. Every update must get exactly one reply."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections import Counter

import aiohttp
from aiohttp import web

from scripts.stack import free_port, start_python, stop, wait_http
from tests.fakes import TELEGRAM_TOKEN
from tests.job_queue import queue_idle
from tests.waiting import until

SECRET = "crash-test-secret"
UPDATES, PER_SECOND, NLU_DELAY = 300, 10, 0.3
RETRY_SECONDS = 0.5  # between a failed webhook call and its retry (Telegram waits longer)


def slow_rasa(target: str) -> web.Application:
    """Rasa's HTTP API, forwarded after a delay (a slow NLU under load)."""
    async def forward(request: web.Request) -> web.Response:
        await asyncio.sleep(NLU_DELAY)
        async with aiohttp.ClientSession() as http, http.request(
                request.method, f"{target}{request.rel_url}", data=await request.read(),
                headers={"Content-Type": request.content_type}) as resp:
            return web.Response(status=resp.status, body=await resp.read(),
                                content_type=resp.content_type)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", forward)
    return app


def update(number: int) -> dict:
    chat = 700000 + number
    return {"update_id": 900000 + number, "message": {
        "message_id": number, "date": 0, "text": "hej, vad är sfi?",
        "chat": {"id": chat, "type": "private"},
        "from": {"id": chat, "is_bot": False, "first_name": "A", "language_code": "sv"}}}


async def deliver(http: aiohttp.ClientSession, url: str, body: dict, tries: Counter) -> None:
    """Like Telegram: retry a failed or refused webhook call until it is answered 200."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        tries[body["update_id"]] += 1
        try:
            async with http.post(url, json=body, timeout=aiohttp.ClientTimeout(total=15),
                                 headers={"X-Telegram-Bot-Api-Secret-Token": SECRET}) as resp:
                if resp.status == 200:
                    return
        except (aiohttp.ClientError, TimeoutError):
            pass
        await asyncio.sleep(RETRY_SECONDS)
    raise AssertionError(f"update {body['update_id']} was never accepted")


async def test_every_update_gets_exactly_one_reply_through_kills(
        rasa_server, providers, aiohttp_server, prefix, redis) -> None:
    slow = await aiohttp_server(slow_rasa(rasa_server.url))
    port = free_port()
    env = {"LOTSEN_PORT": str(port), "LOTSEN_KEY_PREFIX": prefix, "LOTSEN_LOG_LEVEL": "ERROR",
           "LOTSEN_RASA_URL": str(slow.make_url("")).rstrip("/"),
           "LOTSEN_RASA_TOKEN": rasa_server.token, "LOTSEN_NLU_TIMEOUT_SECONDS": "10",
           "LOTSEN_TELEGRAM_TOKEN": TELEGRAM_TOKEN, "LOTSEN_TELEGRAM_WEBHOOK_SECRET": SECRET,
           "LOTSEN_TELEGRAM_API_URL": providers.url, "LOTSEN_PUBLIC_URL": "http://lotsen.test"}
    url = f"http://127.0.0.1:{port}"
    processes = {"gateway": start_python(["bot", "serve"], env),
                 "worker": start_python(["bot", "worker"], env)}
    await asyncio.to_thread(wait_http, f"{url}/healthz", 60, processes["gateway"], "gateway")

    async def kill_and_restart(name: str) -> None:
        os.killpg(processes[name].pid, signal.SIGKILL)
        processes[name].wait(10)
        args = ["bot", "serve"] if name == "gateway" else ["bot", "worker"]
        processes[name] = start_python(args, env)

    tries: Counter = Counter()
    try:
        async with aiohttp.ClientSession() as http:
            sending = []
            for number in range(UPDATES):
                if number == UPDATES // 3:
                    await kill_and_restart("gateway")
                if number == 2 * UPDATES // 3:
                    await kill_and_restart("worker")
                sending.append(asyncio.create_task(
                    deliver(http, f"{url}/telegram/webhook", update(number), tries)))
                await asyncio.sleep(1 / PER_SECOND)
            await asyncio.gather(*sending)
        await until(lambda: len({m["chat_id"] for m in providers.telegram_sent}) >= UPDATES,
                    timeout=150, interval=0.5, what=f"a reply to each of {UPDATES} updates")
        # A duplicate would come from a job run twice: once no job is due or running (a job
        # the killed worker held runs again when its lease ends), any duplicate has been sent.
        await until(lambda: queue_idle(redis, prefix), timeout=150, interval=0.5,
                    what="the worker to finish every job")
    finally:
        for process in processes.values():
            stop(process)
    replies = Counter(m["chat_id"] for m in providers.telegram_sent)
    assert sorted(replies) == [700000 + n for n in range(UPDATES)]  # every update answered
    assert {chat: n for chat, n in replies.items() if n != 1} == {}  # ... exactly once
    assert max(tries.values()) > 1  # the kill made Telegram retry: the test saw a crash
