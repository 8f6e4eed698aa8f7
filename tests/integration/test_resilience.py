"""Rasa or Redis going away mid-conversation, and coming back without a restart.

Rasa sits behind a small TCP proxy that the test can close and reopen, so the gateway talks to
the real Rasa model and sees a real connection failure. Redis is a private redis-server on its
own port that the test stops and starts again.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
from contextlib import suppress

import pytest
from aiohttp.test_utils import TestClient

from bot.runtime.gateway import create_app
from scripts.stack import free_port
from tests.conftest import Conversation, make_settings
from tests.proxy import TcpProxy
from tests.waiting import until, until_sync


async def test_rasa_down_gives_menu_and_readyz_says_so_then_recovers(
        aiohttp_client, rasa_server, prefix, redis) -> None:
    proxy = TcpProxy(rasa_server.port)
    await proxy.open()
    settings = make_settings(prefix, rasa_server, rasa_url=f"http://127.0.0.1:{proxy.port}")
    client: TestClient = await aiohttp_client(create_app(settings))
    talk = await Conversation.start(client)
    assert "föräldraledig" in (await talk.say("sfi för föräldralediga, hur funkar det")).lower()

    await proxy.close()
    data = await talk.send("var kan jag lära mig svenska")
    text = data["replies"][0]["text"]
    assert "1. " in text and "2. " in text  # numbered topic menu
    ready = await client.get("/readyz")
    body = await ready.json()
    assert ready.status == 503 and body["down"] == ["rasa"] and body["checks"]["redis"] == "ok"
    picked = await talk.say("5")  # numbers still work without NLU
    assert "komvux" in picked.lower()

    await proxy.open()
    await until(lambda: status(client, "/readyz", 200), what="the health check to put Rasa back")
    assert "föräldraledig" in (await talk.say("sfi för föräldralediga, hur funkar det")).lower()
    assert (await client.get("/readyz")).status == 200
    await proxy.close()


async def status(client: TestClient, path: str, wanted: int) -> bool:
    return (await client.get(path)).status == wanted


def listening(port: int) -> bool:
    with suppress(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    return False


@pytest.fixture
def private_redis():
    binary = shutil.which("redis-server")
    if binary is None:
        pytest.fail("the Redis outage test needs redis-server (Debian package redis-server)")
    port = free_port()

    def start() -> subprocess.Popen:
        process = subprocess.Popen([binary, "--port", str(port), "--bind", "127.0.0.1",
                                    "--save", "", "--appendonly", "no"],
                                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        until_sync(lambda: listening(port), timeout=10, what="the private redis-server")
        return process

    holder = {"process": start()}
    yield port, holder, start
    holder["process"].terminate()
    holder["process"].wait()


async def test_redis_down_is_503_with_clear_message_and_recovers(
        aiohttp_client, rasa_server, prefix, private_redis) -> None:
    port, holder, start = private_redis
    settings = make_settings(prefix, rasa_server, redis_url=f"redis://127.0.0.1:{port}/0")
    client = await aiohttp_client(create_app(settings))
    talk = await Conversation.start(client)
    await talk.send(payload="/greet")

    holder["process"].terminate()
    holder["process"].wait()
    resp = await client.post(f"/webchat/sessions/{talk.session}/messages", json={"text": "hej"})
    body = await resp.text()
    assert resp.status == 503 and "temporarily unavailable" in body and "Traceback" not in body
    ready = await client.get("/readyz")
    assert ready.status == 503 and "redis" in (await ready.json())["down"]

    holder["process"] = start()  # empty Redis: the old session is gone, a new one works

    async def new_session() -> str | None:
        resp = await client.post("/webchat/sessions", json={})
        return (await resp.json())["session"] if resp.status == 201 else None

    session = await until(new_session, timeout=10, interval=0.2, what="a new session")
    fresh = Conversation(client, session)
    assert "Lotsen" in await fresh.say("hej")
