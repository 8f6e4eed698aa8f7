"""Keep-alive HTTP/1.1 connections to one Rasa server, for `/model/parse` only.

Why not aiohttp's client, which the health checks still use: a parse is the one HTTP call on
every message, and aiohttp's request and response objects (headers, timers, tracing, cookies)
cost about three times the CPU of the call itself (`make profile`; the issue-23 note has the
figures). A parse needs much less: one fixed request head, a JSON body, a status and a body
back. The response is read by httptools (llhttp, the parser uvicorn uses); this module only
keeps idle connections for reuse and maps failures to exceptions the pool understands.
"""

from __future__ import annotations

import asyncio
import ssl
from collections import deque
from typing import cast
from urllib.parse import urlsplit

import httptools


class ConnectionClosed(ConnectionError):
    """The server closed the connection before the whole response came."""


class _Exchange(asyncio.Protocol):
    """One TCP (or TLS) connection: one request at a time, its response parsed as it arrives."""

    def __init__(self) -> None:
        self._parser = httptools.HttpResponseParser(self)
        self._transport: asyncio.Transport | None = None
        self._waiter: asyncio.Future[tuple[int, bytes]] | None = None
        self._body: list[bytes] = []
        self.received = False  # any byte of the current response
        self.reusable = False  # the last response allowed keep-alive and came whole

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        # uvloop's transports are not asyncio.Transport subclasses, only alike
        self._transport = cast(asyncio.Transport, transport)

    def data_received(self, data: bytes) -> None:
        self.received = True
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(ValueError(f"malformed HTTP response: {exc}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self._transport = None
        self.reusable = False
        self._fail(exc or ConnectionClosed("connection closed before the response"))

    # httptools callbacks
    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        body, self._body = b"".join(self._body), []
        self.reusable = bool(self._parser.should_keep_alive())
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result((int(self._parser.get_status_code()), body))

    # use
    @property
    def open(self) -> bool:
        return self._transport is not None and not self._transport.is_closing()

    def send(self, request: bytes) -> asyncio.Future[tuple[int, bytes]]:
        assert self._transport is not None
        self.received, self.reusable = False, False
        self._waiter = asyncio.get_running_loop().create_future()
        self._transport.write(request)
        return self._waiter

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()

    def _fail(self, exc: Exception) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)
        self.close()


class ParseConnections:
    """POSTs to one server's `/model/parse` over reused connections (the pool caps how many
    run at once, so at most that many stay open)."""

    def __init__(self, url: str, query: str = "") -> None:
        parts = urlsplit(url)
        self._host = parts.hostname or "localhost"
        self._tls = parts.scheme == "https"
        self._port = parts.port or (443 if self._tls else 80)
        path = f"{parts.path}/model/parse" + (f"?{query}" if query else "")
        host = f"{self._host}:{self._port}" if parts.port else self._host
        self._head = (f"POST {path} HTTP/1.1\r\nHost: {host}\r\n"
                      "Content-Type: application/json\r\nContent-Length: ").encode("ascii")
        self._idle: deque[_Exchange] = deque()
        self._ssl = ssl.create_default_context() if self._tls else None

    async def post(self, body: bytes) -> tuple[int, bytes]:
        """(status, body). A reused connection that the server closed while idle (its
        keep-alive ran out) is not a failure: the parse is sent again on a new one."""
        request = b"%s%d\r\n\r\n%s" % (self._head, len(body), body)
        while self._idle:
            exchange = self._idle.pop()
            if not exchange.open:
                continue
            try:
                return self._done(exchange, await self._send(exchange, request))
            except ConnectionError:
                if exchange.received:
                    raise  # it had begun to answer: a real failure
        return self._done(*await self._fresh(request))

    async def _fresh(self, request: bytes) -> tuple[_Exchange, tuple[int, bytes]]:
        loop = asyncio.get_running_loop()
        _, exchange = await loop.create_connection(
            _Exchange, self._host, self._port, ssl=self._ssl,
            server_hostname=self._host if self._tls else None)
        return exchange, await self._send(exchange, request)

    @staticmethod
    async def _send(exchange: _Exchange, request: bytes) -> tuple[int, bytes]:
        try:
            return await exchange.send(request)
        except BaseException:
            exchange.close()  # timed out or cancelled mid-response: never reuse it
            raise

    def _done(self, exchange: _Exchange, response: tuple[int, bytes]) -> tuple[int, bytes]:
        if exchange.reusable and exchange.open:
            self._idle.append(exchange)
        else:
            exchange.close()
        return response

    def close(self) -> None:
        while self._idle:
            self._idle.pop().close()
