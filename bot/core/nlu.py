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
    # The specific answer the model ranks first within the intent (`info_sfi_parents/
    # bring_child`, or `.../overview` for the topic's own answer) and its share of the intent's
    # confidence; the engine decides whether it is confident enough.
    answer: str | None = None
    answer_confidence: float = 0.0

    def entity(self, name: str) -> str | None:
        return next((e.value for e in self.entities if e.entity == name), None)


FLAT_SEPARATOR = "__"  # a specific answer's class in the model: `info_sfi__where` (nlu/build.py)


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
    """Rasa's answer as topic-level intents plus the specific answer within the topic.

    The model's classes are the intents of spec §4 and, for the five topics, one class per
    specific answer (`info_sfi__where`, `info_sfi__overview`; see nlu/build.py). A topic's
    confidence is the sum of its classes' (DIET reports every class: `ranking_length: 0`); the
    answer is the topic's best class, with its share of the topic's confidence."""
    intent = data.get("intent") or {}
    entities = tuple(
        Entity(str(e.get("entity")), str(e.get("value")))
        for e in data.get("entities") or []
        if e.get("entity") and e.get("value") is not None
    )
    classes = [(str(r.get("name")), float(r.get("confidence") or 0.0))
               for r in data.get("intent_ranking") or []]
    if not classes and intent.get("name"):
        classes = [(str(intent["name"]), float(intent.get("confidence") or 0.0))]
    topics: dict[str, float] = {}
    best: dict[str, tuple[str, float]] = {}
    for name, confidence in classes:
        topic, _, answer = name.partition(FLAT_SEPARATOR)
        topics[topic] = topics.get(topic, 0.0) + confidence
        if answer and (topic not in best or confidence > best[topic][1]):
            best[topic] = (f"{topic}/{answer}", confidence)
    ranking = tuple(sorted(topics.items(), key=lambda item: item[1], reverse=True))
    top, top_confidence = ranking[0] if ranking else ("out_of_scope", 0.0)
    answer, answer_confidence = best.get(top, (None, 0.0))
    return ParseResult(
        intent=top,
        confidence=min(top_confidence, 1.0),
        entities=_dedupe(entities),
        ranking=ranking,
        answer=answer,
        answer_confidence=answer_confidence / top_confidence if top_confidence else 0.0,
    )


def _dedupe(entities: tuple[Entity, ...]) -> tuple[Entity, ...]:
    seen: dict[tuple[str, str], Entity] = {}
    for e in entities:
        seen.setdefault((e.entity, e.value), e)
    return tuple(seen.values())
