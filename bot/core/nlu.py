"""Client for the Rasa NLU HTTP server (`POST /model/parse`).

The gateway never imports Rasa. When Rasa is unreachable the client raises `NLUUnavailable`
quickly (a short circuit-breaker pause avoids waiting for a timeout on every message), and the
dialogue engine falls back to a numbered menu; the next call after the pause tries Rasa again, so
free text comes back without a restart.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import aiohttp


class NLUUnavailable(RuntimeError):
    """Rasa could not be reached or did not answer in time."""


@dataclass(frozen=True)
class Entity:
    entity: str
    value: str

    def to_json(self) -> dict[str, str]:
        return {"entity": self.entity, "value": self.value}


@dataclass(frozen=True)
class ParseResult:
    intent: str
    confidence: float
    entities: tuple[Entity, ...] = ()
    ranking: tuple[tuple[str, float], ...] = field(default=())

    def entity(self, name: str) -> str | None:
        return next((e.value for e in self.entities if e.entity == name), None)


class RasaClient:
    def __init__(self, session: aiohttp.ClientSession, base_url: str, token: str = "",
                 timeout_seconds: float = 3.0, pause_after_failure: float = 2.0) -> None:
        self._session = session
        self._url = base_url.rstrip("/")
        self._token = token
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._pause = pause_after_failure
        self._down_until = 0.0

    def _params(self) -> dict[str, str]:
        return {"token": self._token} if self._token else {}

    async def parse(self, text: str) -> ParseResult:
        if time.monotonic() < self._down_until:
            raise NLUUnavailable("Rasa failed a moment ago; not retrying yet")
        try:
            async with self._session.post(f"{self._url}/model/parse", json={"text": text},
                                          params=self._params(), timeout=self._timeout) as resp:
                if resp.status != 200:
                    raise NLUUnavailable(f"Rasa answered HTTP {resp.status}")
                data: dict[str, Any] = await resp.json()
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            self._down_until = time.monotonic() + self._pause
            raise NLUUnavailable(f"Rasa unreachable: {type(exc).__name__}") from exc
        self._down_until = 0.0
        return _to_result(data)

    async def status(self) -> tuple[bool, str]:
        """(ready, detail) for `/readyz`: Rasa answers and has a model loaded."""
        try:
            async with self._session.get(f"{self._url}/status", params=self._params(),
                                         timeout=self._timeout) as resp:
                if resp.status != 200:
                    return False, f"HTTP {resp.status}"
                data = await resp.json()
        except (TimeoutError, aiohttp.ClientError, ValueError) as exc:
            return False, f"unreachable ({type(exc).__name__})"
        if not data.get("model_file"):
            return False, "no model loaded"
        return True, "ok"


def _to_result(data: dict[str, Any]) -> ParseResult:
    intent = data.get("intent") or {}
    entities = tuple(
        Entity(str(e.get("entity")), str(e.get("value")))
        for e in data.get("entities") or []
        if e.get("entity") and e.get("value") is not None
    )
    ranking = tuple(
        (str(r.get("name")), float(r.get("confidence") or 0.0))
        for r in data.get("intent_ranking") or []
    )
    return ParseResult(
        intent=str(intent.get("name") or "out_of_scope"),
        confidence=float(intent.get("confidence") or 0.0),
        entities=_dedupe(entities),
        ranking=ranking,
    )


def _dedupe(entities: tuple[Entity, ...]) -> tuple[Entity, ...]:
    seen: dict[tuple[str, str], Entity] = {}
    for e in entities:
        seen.setdefault((e.entity, e.value), e)
    return tuple(seen.values())
