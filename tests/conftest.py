"""Shared fixtures: real Redis (own key prefix, cleaned up), one real Rasa server per session."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass

import pytest
from redis.asyncio import Redis

from bot.config import Settings
from bot.runtime.gateway import create_app
from scripts.stack import free_port, start_rasa, stop, wait_rasa
from tests.fakes import Providers
from tests.smtp import smtp_server  # noqa: F401 (a fixture for every test)

REDIS_URL = "redis://127.0.0.1:6379/0"


@dataclass(frozen=True)
class RasaServer:
    url: str
    token: str
    port: int


@pytest.fixture(scope="session")
def rasa_server() -> Iterator[RasaServer]:
    """The real trained model behind a real `rasa run --enable-api` (about 20 s to start)."""
    port, token = free_port(), secrets.token_urlsafe(12)
    process = start_rasa(port, token)
    try:
        wait_rasa(port, token, process, timeout=180)
        yield RasaServer(f"http://127.0.0.1:{port}", token, port)
    finally:
        stop(process)


@pytest.fixture
async def providers(aiohttp_server) -> Providers:
    """Fake Telegram, 46elks and Twilio servers on loopback (tests/fakes.py)."""
    fake = Providers()
    server = await aiohttp_server(fake.app())
    fake.url = str(server.make_url("")).rstrip("/")  # type: ignore[attr-defined]
    return fake


@pytest.fixture
def prefix() -> str:
    return f"lotsen-test-{secrets.token_hex(4)}"


@pytest.fixture
async def redis(prefix: str) -> AsyncIterator[Redis]:
    client = Redis.from_url(REDIS_URL, decode_responses=True)
    yield client
    async for key in client.scan_iter(match=f"{prefix}:*", count=500):
        await client.delete(key)
    await client.aclose()


def make_settings(prefix: str, rasa: RasaServer | None = None, **overrides: object) -> Settings:
    # Every test client is one loopback address: exempt from the per-address limits, as a load
    # test would be (tests of those limits override it).
    values: dict[str, object] = {"redis_url": REDIS_URL, "key_prefix": prefix,
                                 "rasa_url": "http://127.0.0.1:9", "admin_token": "test-admin",
                                 "limit_exempt": "127.0.0.1,::1"}
    if rasa is not None:
        values.update(rasa_url=rasa.url, rasa_token=rasa.token)
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture
async def chat(aiohttp_client, rasa_server: RasaServer, prefix: str, redis: Redis):
    """An HTTP client for a gateway wired to the real Rasa and Redis."""
    return await aiohttp_client(create_app(make_settings(prefix, rasa_server)))


class Conversation:
    """Drives one web chat session through the HTTP routes, as the widget does."""

    def __init__(self, client, session: str) -> None:
        self.client = client
        self.session = session
        self.language: str | None = None

    @classmethod
    async def start(cls, client, language: str | None = None) -> Conversation:
        body = {"language": language} if language else {}
        resp = await client.post("/webchat/sessions", json=body)
        assert resp.status == 201, await resp.text()
        return cls(client, (await resp.json())["session"])

    async def send(self, text: str | None = None, payload: str | None = None) -> dict:
        body = {"text": text} if payload is None else {"payload": payload}
        resp = await self.client.post(f"/webchat/sessions/{self.session}/messages", json=body)
        assert resp.status == 200, await resp.text()
        data = await resp.json()
        self.language = data["language"]
        return data

    async def say(self, text: str) -> str:
        """Send text; return the replies' texts joined."""
        data = await self.send(text)
        return "\n".join(r["text"] for r in data["replies"])

    async def messages(self, after: int = 0) -> list[dict]:
        resp = await self.client.get(f"/webchat/sessions/{self.session}/messages",
                                     params={"after": str(after)})
        assert resp.status == 200
        return (await resp.json())["messages"]
