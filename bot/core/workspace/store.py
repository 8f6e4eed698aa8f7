"""The content workspace in Redis: drafts waiting for a second person, the published
overrides of the shipped texts, every published version, and who reviewed what.

A publish (an approval or a rollback) is one Lua script: the draft leaves the waiting list, the
version is appended to the text's history, the override and the review are written and the
content version counter moves, all or nothing; then every process is told on pub/sub (live.py).
A text's version n is the n-th entry of its history; version 0 is the shipped file's text.
A fact document (the drop-in schedule, the locations: bot/core/workspace/facts.py) is one more
"text" here, language `facts`, published by the same script in a transaction with its jobs.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass
from typing import Any

from bot.core import json_codec
from bot.core.clock import Clock
from bot.core.keys import (
    CONTENT_DRAFTS,
    CONTENT_HISTORY,
    CONTENT_PUBLISHED,
    CONTENT_REVIEWS,
    CONTENT_VERSION,
    Keys,
)
from bot.core.redis_types import StrPipeline, StrRedis, Value

PUBLISH = """
if ARGV[1] ~= '' and redis.call('HDEL', KEYS[1], ARGV[1]) == 0 then return -1 end
local version = redis.call('RPUSH', KEYS[3], ARGV[3])
local entry = cjson.decode(ARGV[3])
entry['version'] = version
redis.call('HSET', KEYS[2], ARGV[2], cjson.encode(entry))
redis.call('HSET', KEYS[4], ARGV[2], ARGV[4])
local counter = redis.call('INCR', KEYS[5])
redis.call('PUBLISH', KEYS[5], tostring(counter))
return version
"""


def field_of(language: str, text_id: str) -> str:
    return f"{language}|{text_id}"


@dataclass(frozen=True)
class Draft:
    draft: str
    id: str
    language: str
    text: str
    author: str
    at: float
    origin: str = "edit"  # edit | import
    base: int | None = None  # a fact document's draft: the version it was written from

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Version:
    version: int
    text: str
    author: str | None
    approved_by: str | None
    at: float | None
    kind: str  # shipped | edit | rollback


@dataclass(frozen=True)
class Review:
    by: str
    at: float
    source_hash: str


class WorkspaceStore:
    def __init__(self, *, redis: StrRedis, keys: Keys, clock: Clock) -> None:
        self.redis = redis
        self.keys = keys
        self.clock = clock
        self.drafts_key = keys(CONTENT_DRAFTS)
        self.published_key = keys(CONTENT_PUBLISHED)
        self.reviews_key = keys(CONTENT_REVIEWS)
        self.version_key = keys(CONTENT_VERSION)
        self._publish = redis.register_script(PUBLISH)

    def _now(self) -> float:
        return self.clock().timestamp()

    @property
    def channel(self) -> str:
        """The pub/sub channel a publish is announced on (named like the counter)."""
        return self.version_key

    # ------------------------------------------------------------------ drafts
    async def add_draft(self, text_id: str, language: str, text: str, author: str,
                        origin: str = "edit", base: int | None = None) -> Draft:
        draft = Draft(secrets.token_hex(8), text_id, language, text, author, self._now(),
                      origin, base)
        await self.redis.hset(self.drafts_key, draft.draft, json_codec.dumps(draft.to_json()))
        return draft

    async def drafts(self) -> list[Draft]:
        raw = await self.redis.hgetall(self.drafts_key)
        drafts = [Draft(**json_codec.loads(value)) for value in raw.values()]
        return sorted(drafts, key=lambda d: d.at)

    async def draft(self, draft_id: str) -> Draft | None:
        raw = await self.redis.hget(self.drafts_key, draft_id)
        return Draft(**json_codec.loads(raw)) if raw else None

    async def discard(self, draft_id: str) -> bool:
        return bool(await self.redis.hdel(self.drafts_key, draft_id))

    # ------------------------------------------------------------------ publishing
    async def publish(self, *, draft_id: str, text_id: str, language: str, text: str,
                      author: str, approved_by: str, kind: str, source_hash: str) -> int | None:
        """The new version's number; None if the draft was already approved or discarded."""
        keys, args = self._publishing(draft_id, text_id, language, text, author, approved_by,
                                      kind, source_hash, "")
        version = await self._publish(keys=keys, args=args)
        return None if int(version) < 0 else int(version)

    def publish_in(self, pipe: StrPipeline, *, draft_id: str, text_id: str, language: str,
                   text: str, author: str, approved_by: str, kind: str, source_hash: str,
                   ref: str) -> None:
        """The same publish, queued in a transaction that writes more (a schedule's closure
        jobs): all of it or none. Its version is found afterwards by `ref` (`version_of`)."""
        keys, args = self._publishing(draft_id, text_id, language, text, author, approved_by,
                                      kind, source_hash, ref)
        pipe.eval(PUBLISH, len(keys), *keys, *args)

    def _publishing(self, draft_id: str, text_id: str, language: str, text: str, author: str,
                    approved_by: str, kind: str, source_hash: str,
                    ref: str) -> tuple[list[str], list[Value]]:
        now = self._now()
        entry: dict[str, object] = {"text": text, "author": author,
                                    "approved_by": approved_by, "at": now, "kind": kind}
        if ref:
            entry["ref"] = ref
        review = {"by": approved_by, "at": now, "source_hash": source_hash}
        keys = [self.drafts_key, self.published_key,
                self.keys(CONTENT_HISTORY, language=language, id=text_id),
                self.reviews_key, self.version_key]
        return keys, [draft_id, field_of(language, text_id), json_codec.dumps(entry),
                      json_codec.dumps(review)]

    async def version_of(self, language: str, text_id: str, ref: str) -> int | None:
        """The version a `publish_in` with this `ref` became (None: it published nothing)."""
        return next((entry["version"] for entry in await self.history(language, text_id)
                     if entry.get("ref") == ref), None)

    async def published(self) -> dict[str, dict[str, Any]]:
        """field (`<language>|<id>`) -> the current override (text, version, who, when)."""
        raw = await self.redis.hgetall(self.published_key)
        return {field: json_codec.loads(value) for field, value in raw.items()}

    async def published_fields(self, fields: list[str]) -> dict[str, dict[str, Any]]:
        """Those of the current overrides (`published`) that exist, in one read."""
        raw = await self.redis.hmget(self.published_key, fields)
        return {field: json_codec.loads(value) for field, value in zip(fields, raw, strict=True)
                if value is not None}

    async def history(self, language: str, text_id: str) -> list[dict[str, Any]]:
        raw = await self.redis.lrange(self.keys(CONTENT_HISTORY, language=language,
                                                id=text_id), 0, -1)
        return [{**json_codec.loads(value), "version": number}
                for number, value in enumerate(raw, start=1)]

    async def reviews(self) -> dict[str, Review]:
        raw = await self.redis.hgetall(self.reviews_key)
        return {field: Review(**json_codec.loads(value)) for field, value in raw.items()}

    async def version(self) -> int:
        return int(await self.redis.get(self.version_key) or 0)
