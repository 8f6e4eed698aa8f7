"""The lean parse client (bot/core/nlu/connection.py) against a small HTTP/1.1 server on loopback
whose connection handling each test sets: reuse, a keep-alive that ran out, a cut response."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import pytest

from bot.core.nlu.connection import ParseConnections
from bot.core.nlu.errors import NLUUnavailable
from bot.core.nlu.replica import Replica, ReplicaFailed


@dataclass
class Server:
    """Answers POSTs with the request's JSON body echoed back under "echo"."""

    close_idle: bool = False  # close each connection after its response, without a word
    cut: bool = False  # send half a response, then close
    hang: bool = False  # never answer
    status: int = 200
    keep_alive: bool = True
    connections: int = 0
    requests: list[str] = field(default_factory=list)
    port: int = 0
    released: asyncio.Event = field(default_factory=asyncio.Event)  # ends a hang

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode().split("\r\n")
                length = next(int(line.split(":")[1]) for line in lines
                              if line.lower().startswith("content-length"))
                body = await reader.readexactly(length)
                self.requests.append(lines[0])
                if self.hang:
                    await self.released.wait()
                    break
                payload = json.dumps({"echo": json.loads(body)}).encode()
                headers = (f"HTTP/1.1 {self.status} X\r\nContent-Type: application/json\r\n"
                           f"Content-Length: {len(payload)}\r\n"
                           f"Connection: {'keep-alive' if self.keep_alive else 'close'}\r\n\r\n")
                response = headers.encode() + payload
                writer.write(response[: len(response) // 2] if self.cut else response)
                await writer.drain()
                if self.cut or self.close_idle or not self.keep_alive:
                    break
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()


@pytest.fixture
async def server() -> AsyncIterator[Server]:
    state = Server()
    listener = await asyncio.start_server(state.handle, "127.0.0.1", 0)
    state.port = listener.sockets[0].getsockname()[1]
    yield state
    state.released.set()
    listener.close()


def url(server: Server) -> str:
    return f"http://127.0.0.1:{server.port}/base"


async def test_parses_share_one_kept_alive_connection(server: Server) -> None:
    client = ParseConnections(url(server), "token=s%26cret")
    for word in ("hej", "salaan", "سلام"):
        status, body = await client.post(json.dumps({"text": word}).encode())
        assert status == 200 and json.loads(body) == {"echo": {"text": word}}
    assert server.connections == 1
    assert server.requests == ["POST /base/model/parse?token=s%26cret HTTP/1.1"] * 3
    client.close()


async def test_a_connection_the_server_closed_while_idle_is_replaced_without_an_error(
        server: Server) -> None:
    server.close_idle = True
    client = ParseConnections(url(server))
    for word in ("ett", "två", "tre"):
        status, body = await client.post(json.dumps({"text": word}).encode())
        assert status == 200 and json.loads(body)["echo"]["text"] == word
    assert server.connections == 3 and len(server.requests) == 3  # each parse sent once
    client.close()


async def test_connection_close_is_honoured(server: Server) -> None:
    server.keep_alive = False
    client = ParseConnections(url(server))
    for _ in range(2):
        assert (await client.post(b'{"text": "x"}'))[0] == 200
    assert server.connections == 2
    client.close()


async def test_a_response_cut_half_way_is_a_failure_not_a_retry(server: Server) -> None:
    replica = Replica(url(server))
    await replica.parse("först", 2.0)  # a kept-alive connection to reuse
    server.cut = True
    with pytest.raises(ReplicaFailed):
        await replica.parse("sen", 2.0)
    assert len(server.requests) == 2  # the cut parse was not sent again
    replica.close()


async def test_a_hung_server_times_out_and_its_connection_is_not_reused(server: Server) -> None:
    replica = Replica(url(server))
    server.hang = True
    with pytest.raises(ReplicaFailed, match="TimeoutError"):
        await replica.parse("hallå", 0.2)
    server.hang = False
    assert (await replica.parse("igen", 2.0))["echo"] == {"text": "igen"}  # type: ignore[typeddict-item]
    assert server.connections == 2
    replica.close()


async def test_status_codes_map_to_the_pool_s_exceptions(server: Server) -> None:
    replica = Replica(url(server))
    server.status = 503
    with pytest.raises(ReplicaFailed, match="HTTP 503"):
        await replica.parse("x", 2.0)
    server.status = 400
    with pytest.raises(NLUUnavailable, match="HTTP 400") as caught:
        await replica.parse("x", 2.0)
    assert not isinstance(caught.value, ReplicaFailed)
    replica.close()


async def test_a_refused_connection_is_a_replica_failure(server: Server) -> None:
    probe = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
    port = probe.sockets[0].getsockname()[1]
    probe.close()
    await probe.wait_closed()
    with pytest.raises(ReplicaFailed, match="unreachable"):
        await Replica(f"http://127.0.0.1:{port}").parse("x", 2.0)
