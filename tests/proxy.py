"""A TCP proxy on loopback in front of a real server (Rasa, Redis): the test can close and reopen
it, so the client sees real connection failures, and count the connections it forwarded."""

from __future__ import annotations

import asyncio
from contextlib import suppress

from scripts.stack import free_port


class TcpProxy:
    """Forwards 127.0.0.1:<port> to a target; `close()` makes the target unreachable."""

    def __init__(self, target_port: int) -> None:
        self.target_port = target_port
        self.port = free_port()
        self.server: asyncio.base_events.Server | None = None
        self.writers: set[asyncio.StreamWriter] = set()
        self.connections = 0
        self.parses = 0  # Rasa parse requests forwarded (`POST /model/parse`)

    async def open(self) -> None:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)

    async def close(self) -> None:
        if self.server:
            self.server.close()
            await self.server.wait_closed()
            self.server = None
        for writer in list(self.writers):
            writer.close()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target_port)
        except OSError:
            writer.close()
            return
        self.writers |= {writer, up_writer}
        self.connections += 1

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter,
                       upstream: bool = False) -> None:
            with suppress(ConnectionError, OSError):
                while data := await src.read(65536):
                    if upstream:
                        self.parses += data.count(b"POST /model/parse")
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer, upstream=True), pipe(up_reader, writer))
