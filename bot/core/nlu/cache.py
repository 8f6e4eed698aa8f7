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

from bot.core import batch, json_codec
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

    @staticmethod
    def decode(raw: str | None) -> ParseResult | None:
        if not raw:
            return None
        try:
            # Our own entry (`Lookup.put`); from_json still checks each field.
            return ParseResult.from_json(cast(ParseResultJSON, json_codec.loads(raw)))
        except (ValueError, KeyError, TypeError):
            return None  # written by another version: parse again and overwrite


@dataclass
class Lookup:
    """A text's cache entry: read with a turn's other reads and written with its other writes
    when it was missing, so the cache costs a message no round trip of its own."""

    cache: ParseCache | None
    key: str | None          # None: not cached (no cache, model unknown, may be personal)
    raw: str | None = None   # the entry as read
    cache_down: bool = False  # the key could not be made (Redis failing over): not counted

    def reads(self) -> list[Command]:
        return [("GET", self.key)] if self.key else []

    def found(self, replies: list[Any]) -> None:
        """`replies`: the answers to `reads`."""
        raw = replies[0] if replies else None
        self.raw = raw if isinstance(raw, str) else None

    def put(self, result: ParseResult) -> Command:
        ttl = self.cache.ttl_seconds if self.cache else TTL_SECONDS
        return ("SET", str(self.key), json_codec.dumps(result.to_json()), "EX", ttl)


class CachedParser:
    """What the dialogue parses with: the cache in front of the Rasa pool. A cache that
    cannot be read (Redis failing over) is passed by, never a reason to fail a message."""

    def __init__(self, pool: RasaPool, cache: ParseCache | None) -> None:
        self.pool = pool
        self.cache = cache

    async def lookup(self, text: str) -> Lookup:
        """The cache entry `text` would have, to be read along with the turn."""
        model = self.pool.model
        if self.cache is None or not model:
            return Lookup(self.cache, None)
        try:
            return Lookup(self.cache, await self.cache.key(model, text))
        except RedisError as exc:
            log.warning("nlu_cache_unavailable", extra={"detail": type(exc).__name__})
            return Lookup(self.cache, None, cache_down=True)

    async def parse_looked_up(self, text: str, lookup: Lookup) -> tuple[ParseResult, bool]:
        """The parse of `text` whose cache entry was read: (result, whether the caller should
        write `lookup.put(result)`)."""
        if lookup.key is None:
            if not lookup.cache_down:
                NLU_CACHE.labels(result="skip").inc()
            return await self.pool.parse(text), False
        hit = ParseCache.decode(lookup.raw)
        if hit is not None:
            NLU_CACHE.labels(result="hit").inc()
            return hit, False
        NLU_CACHE.labels(result="miss").inc()
        result = await self.pool.parse(text)
        return result, not result.entities

    async def parse(self, text: str) -> ParseResult:
        """A parse outside a turn: the entry read and written by commands of its own."""
        lookup = await self.lookup(text)
        if lookup.cache is not None and lookup.key is not None:
            try:
                lookup.found(await batch.run(lookup.cache.redis, lookup.reads()))
            except RedisError as exc:  # passed by, not counted as a lookup
                log.warning("nlu_cache_unavailable", extra={"detail": type(exc).__name__})
                return await self.pool.parse(text)
        result, keep = await self.parse_looked_up(text, lookup)
        if keep and lookup.cache is not None:
            try:
                await batch.run(lookup.cache.redis, [lookup.put(result)])
            except RedisError as exc:
                log.warning("nlu_cache_unavailable", extra={"detail": type(exc).__name__})
        return result
