"""A parse cache: the same short text under the same model is parsed by Rasa once a day.

Many messages are the same few words ("hej", "ja", "tack", a menu number, a button's title typed
as text); each costs Rasa a full parse. The key is a keyed hash (bot/core/hashing.py) of the
model every replica serves and the normalised text; the value is the parse without the text,
for a day. Only texts that can hold nothing personal are cached: at most MAX_CHARS characters,
unchanged by the review inbox's redaction (no personnummer, phone number, e-mail or name), and a
parse without entities. With the model unknown or mixed (a rolling update) nothing is cached.
"""

from __future__ import annotations

import logging
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from redis.exceptions import RedisError

from bot.core import json_codec
from bot.core.hashing import KeyedHash
from bot.core.keys import Erasure, Keys, Owner, declare
from bot.core.metrics import NLU_CACHE
from bot.core.nlu.pool import RasaPool
from bot.core.nlu.result import ParseResult, ParseResultJSON
from bot.core.redis_types import Command, StrRedis
from bot.core.review.redact import redact

log = logging.getLogger(__name__)

NLU_CACHE_KEY = declare("nlu-cache:{digest}", owner=Owner.SYSTEM, expiry="1 day",
                        erasure=Erasure.NOT_PERSONAL,
                        note="keyed hash of model + normalised short text with nothing personal "
                             "in it; the value is the parse, without the text")
TTL_SECONDS = 24 * 3600
MAX_CHARS = 60
EDGE_PUNCTUATION = " \t.,;:!?¡¿…'\"«»“”()-–—؟،؛።፣፤፧"


def normalised(text: str) -> str:
    """Case, Unicode form, spacing and punctuation at the ends don't change what was said."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    return " ".join(folded.split()).strip(EDGE_PUNCTUATION)


class ParseCache:
    def __init__(self, *, redis: StrRedis, keys: Keys, secret: str = "",
                 shared_words: Iterable[str] = (), ttl_seconds: int = TTL_SECONDS) -> None:
        self.redis = redis
        self.keys = keys
        self._hash = KeyedHash(redis=redis, keys=keys, secret=secret)
        self._shared = tuple(shared_words)
        self.ttl_seconds = ttl_seconds

    async def key(self, model: str, text: str) -> str | None:
        """The entry for `text` under `model`, or None when the text may not be cached."""
        short = normalised(text)
        if not 0 < len(short) <= MAX_CHARS or redact(text, self._shared) != text:
            return None
        digest = await self._hash.hexdigest(f"{model}\0{short}")
        return self.keys(NLU_CACHE_KEY, digest=digest[:40])

    async def get(self, key: str) -> ParseResult | None:
        return self.decode(await self.redis.get(key))

    @staticmethod
    def decode(raw: str | None) -> ParseResult | None:
        if not raw:
            return None
        try:
            # Our own entry (`put`); from_json still checks each field.
            return ParseResult.from_json(cast(ParseResultJSON, json_codec.loads(raw)))
        except (ValueError, KeyError, TypeError):
            return None  # written by another version: parse again and overwrite

    async def put(self, key: str, result: ParseResult) -> None:
        await self.redis.set(key, json_codec.dumps(result.to_json()),
                             ex=self.ttl_seconds)


@dataclass
class Lookup:
    """A cache entry read with a turn's other reads, and written with its other writes when it
    was missing: the cache then costs a message no round trip of its own."""

    cache: ParseCache
    key: str
    raw: str | None = None

    def reads(self) -> list[Command]:
        return [("GET", self.key)]

    def found(self, replies: list[Any]) -> None:
        """`replies`: the answers to `reads` (a GET)."""
        raw = replies[0]
        self.raw = raw if isinstance(raw, str) else None

    def put(self, result: ParseResult) -> Command:
        value = json_codec.dumps(result.to_json())
        return ("SET", self.key, value, "EX", self.cache.ttl_seconds)


class CachedParser:
    """What the dialogue parses with: the cache in front of the Rasa pool. A cache that
    cannot be read (Redis failing over) is passed by, never a reason to fail a message."""

    def __init__(self, pool: RasaPool, cache: ParseCache | None) -> None:
        self.pool = pool
        self.cache = cache

    async def lookup(self, text: str) -> Lookup | None:
        """The cache entry `text` would have, to read along with the turn; None when nothing
        may be cached (no cache, the model unknown or mixed, or a text that may be personal)."""
        model = self.pool.model
        if self.cache is None or not model:
            return None
        try:
            key = await self.cache.key(model, text)
        except RedisError:
            return None
        return Lookup(self.cache, key) if key else None

    async def parse_looked_up(self, text: str, lookup: Lookup) -> tuple[ParseResult, bool]:
        """The parse of `text` whose cache entry was read with the turn: (result, whether the
        caller should write `lookup.put(result)`)."""
        hit = self.cache.decode(lookup.raw) if self.cache and lookup.raw else None
        if hit is not None:
            NLU_CACHE.labels(result="hit").inc()
            return hit, False
        NLU_CACHE.labels(result="miss").inc()
        result = await self.pool.parse(text)
        return result, not result.entities

    async def parse(self, text: str) -> ParseResult:
        model, key, hit = self.pool.model, None, None
        try:
            key = await self.cache.key(model, text) if self.cache and model else None
            hit = await self.cache.get(key) if self.cache and key else None
        except RedisError as exc:  # passed by, not counted as a lookup
            log.warning("nlu_cache_unavailable", extra={"detail": type(exc).__name__})
            return await self.pool.parse(text)
        if key is None:
            NLU_CACHE.labels(result="skip").inc()
            return await self.pool.parse(text)
        if hit is not None:
            NLU_CACHE.labels(result="hit").inc()
            return hit
        NLU_CACHE.labels(result="miss").inc()
        result = await self.pool.parse(text)
        if not result.entities and self.cache is not None:
            try:
                await self.cache.put(key, result)
            except RedisError as exc:
                log.warning("nlu_cache_unavailable", extra={"detail": type(exc).__name__})
        return result
