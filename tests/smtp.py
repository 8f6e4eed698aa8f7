"""A real SMTP server on loopback for tests (aiosmtpd in its own thread): the `smtp_server`
fixture gives its URL and the messages it received, parsed."""

from __future__ import annotations

import asyncio
import email
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import policy
from email.message import Message

import pytest
from aiosmtpd.controller import Controller

from scripts.stack import free_port


@dataclass
class SmtpServer:
    url: str = ""
    messages: list[tuple[list[str], Message, float]] = field(default_factory=list)

    async def handle_DATA(self, server, session, envelope) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=policy.default)
        self.messages.append((list(envelope.rcpt_tos), parsed, time.monotonic()))
        return "250 OK"

    async def wait_for(self, count: int, timeout: float) -> list[tuple[list[str], Message, float]]:
        deadline = time.monotonic() + timeout
        while len(self.messages) < count and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        return self.messages


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    port = free_port()
    controller = Controller(server, hostname="127.0.0.1", port=port)
    controller.start()
    server.url = f"smtp://127.0.0.1:{port}"
    try:
        yield server
    finally:
        controller.stop()
