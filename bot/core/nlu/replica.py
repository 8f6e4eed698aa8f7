"""One Rasa server as the pool sees it: its address, how many parses it has in flight, whether
it is healthy, and which model it serves.

A replica only talks HTTP; choosing, queueing and health checks are the pool's (pool.py).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from urllib.parse import urlencode, urlsplit

import aiohttp

from bot.core import json_codec
from bot.core.nlu.connection import ParseConnections
from bot.core.nlu.errors import NLUUnavailable
from bot.core.nlu.result import RasaParse


class ReplicaFailed(NLUUnavailable):
    """This replica failed for real (refused, reset, 5xx, timed out): take it out."""


@dataclass(eq=False)
class Replica:
    url: str
    token: str = ""
    outstanding: int = 0
    healthy: bool = True
    model: str | None = None  # the model file it serves (from /status), once known

    def __post_init__(self) -> None:
        # Parses go over their own lean connections (connection.py); /status over aiohttp.
        self._parses = ParseConnections(self.url, urlencode(self._params()))

    @property
    def name(self) -> str:
        """host:port only (never credentials, path or query), for logs and metrics."""
        parts = urlsplit(self.url)
        return f"{parts.hostname}:{parts.port or 80}"

    def _params(self) -> dict[str, str]:
        return {"token": self.token} if self.token else {}

    async def parse(self, text: str, timeout_seconds: float) -> RasaParse:
        """Rasa's `/model/parse` answer. Raises ReplicaFailed for what says the server is
        broken, NLUUnavailable for answers that say the request was (a 4xx)."""
        try:
            async with asyncio.timeout(timeout_seconds):
                status, body = await self._parses.post(json_codec.dumps_bytes({"text": text}))
            data: RasaParse = json_codec.loads(body) if status == 200 else {}
        except (TimeoutError, OSError, ValueError) as exc:
            raise ReplicaFailed(f"Rasa {self.name} unreachable: {type(exc).__name__}") from exc
        if status >= 500:
            raise ReplicaFailed(f"Rasa {self.name} answered HTTP {status}")
        if status != 200:
            raise NLUUnavailable(f"Rasa {self.name} answered HTTP {status}")
        return data

    def close(self) -> None:
        """Closes its idle parse connections."""
        self._parses.close()

    async def status(self, session: aiohttp.ClientSession,
                     timeout: aiohttp.ClientTimeout) -> tuple[bool, str]:
        """(ready, detail): the server answers `/status` and has a model loaded."""
        try:
            async with session.get(f"{self.url}/status", params=self._params(),
                                   timeout=timeout) as resp:
                if resp.status != 200:
                    return False, f"HTTP {resp.status}"
                data = await resp.json()
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            return False, f"unreachable ({type(exc).__name__})"
        model = data.get("model_file") or data.get("model_id")
        if not model:
            return False, "no model loaded"
        self.model = str(model)
        return True, "ok"
