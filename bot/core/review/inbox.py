"""The review inbox in Redis: questions the bot did not understand, grouped by similarity.

What is kept is a redacted question (bot.core.review.redact), its language, what the model
guessed and why it was kept (`clarify`, `out_of_scope`, `unhelpful`, or `comment`: a comment
after the satisfaction question), and never a conversation id: an entry cannot be traced back
to a person. A comment is not a question missed, so it is not counted as not understood.
Alike questions share a group (the same words, by Jaccard similarity of their word sets), so an
editor labels a pattern once, not forty messages. Each group expires after the retention
period, counted from its last question; an index per language lists the groups; weekly counters
give the share of messages not understood.

A label is an intent (`info_sfi`), a specific answer (`info_sfi/where`) or `ignore`; labelled
groups are exported as Rasa NLU YAML for `nlu/data/`.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import NotRequired, TypedDict, cast

from bot.core import batch, json_codec
from bot.core.clock import Clock
from bot.core.keys import Erasure, Keys, Owner, declare
from bot.core.metrics import NLU_READ, NOT_UNDERSTOOD
from bot.core.redis_types import Command, StrRedis
from bot.core.review.redact import redact, signature, similarity

REASONS = ("clarify", "out_of_scope", "unhelpful", "comment")
MISSED = ("clarify", "out_of_scope", "unhelpful")  # reasons counted as not understood
IGNORE = "ignore"
SIMILAR = 0.5           # Jaccard similarity from which two questions share a group
RECENT_GROUPS = 300     # groups of a language compared with a new question
MAX_EXAMPLES = 20       # distinct questions kept per group
WEEKS_KEPT = 53

REVIEW_GROUP = declare("review:group:{id}", owner=Owner.SYSTEM, expiry="the retention period "
                       "after its last question", erasure=Erasure.NOT_PERSONAL,
                       note="redacted questions with no conversation id: nothing leads to a "
                            "person")
REVIEW_INDEX = declare("review:index:{language}", owner=Owner.SYSTEM,
                       expiry="members pruned when their group has expired",
                       erasure=Erasure.NOT_PERSONAL, note="group ids by last question time")
REVIEW_WEEK = declare("review:week:{week}", owner=Owner.SYSTEM, expiry=f"{WEEKS_KEPT} weeks",
                      erasure=Erasure.NOT_PERSONAL,
                      note="per language: messages read by NLU and messages not understood")


class ReviewError(ValueError):
    """A label or a language the inbox does not accept."""


class StoredGroup(TypedDict):
    """A group's JSON in Redis (`_save`); `label` and `words` are absent in old entries."""

    language: str
    predicted: str
    count: int
    reasons: dict[str, int]
    examples: list[str]
    label: NotRequired[str]
    last_seen: float
    words: NotRequired[list[str]]


class ReviewGroupJSON(TypedDict):
    """A group as the review API shows it."""

    id: str
    language: str
    predicted: str
    count: int
    reasons: dict[str, int]
    examples: list[str]
    label: str | None
    last_seen: str


class LanguageWeek(TypedDict):
    messages: int
    not_understood: int
    share: float | None  # None: no message that week


class WeekRow(TypedDict):
    week: str
    languages: dict[str, LanguageWeek]


@dataclass
class ReviewGroup:
    id: str
    language: str
    predicted: str
    count: int
    reasons: dict[str, int]
    examples: list[str]
    label: str = ""
    last_seen: float = 0.0
    words: frozenset[str] = field(default_factory=frozenset)

    def to_json(self) -> ReviewGroupJSON:
        return {"id": self.id, "language": self.language, "predicted": self.predicted,
                "count": self.count, "reasons": self.reasons, "examples": self.examples,
                "label": self.label or None,
                "last_seen": datetime.fromtimestamp(self.last_seen).astimezone().isoformat()}


def week_of(moment: datetime) -> str:
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


def _group(group_id: str, data: StoredGroup) -> ReviewGroup:
    return ReviewGroup(group_id, data["language"], data["predicted"], data["count"],
                       data["reasons"], data["examples"], data.get("label", ""),
                       data["last_seen"], frozenset(data.get("words", [])))


class ReviewInbox:
    def __init__(self, *, redis: StrRedis, keys: Keys, retention_seconds: int, clock: Clock,
                 shared_words: Iterable[str] = ()) -> None:
        self.redis = redis
        self.keys = keys
        self.retention = retention_seconds
        self.clock = clock
        self.shared_words = frozenset(shared_words)

    # ------------------------------------------------------------- from the dialogue engine
    def seen_writes(self, language: str) -> list[Command]:
        """One message was read by NLU (the denominator of the share not understood): counted
        with the turn's own writes."""
        NLU_READ.labels(language=language).inc()
        return self._count_writes(language, "messages")

    async def seen(self, language: str) -> None:
        await batch.run(self.redis, self.seen_writes(language))

    async def record(self, text: str, language: str, predicted: str, reason: str) -> str | None:
        """Keep `text` (redacted here) for review; returns its group id (None: nothing left)."""
        if reason not in REASONS:
            raise ValueError(f"unknown review reason {reason!r}")
        if reason in MISSED:
            NOT_UNDERSTOOD.labels(language=language, reason=reason).inc()
            await self._count(language, "missed")
        cleaned = redact(text, self.shared_words).strip()
        words = signature(cleaned)
        if not words:
            return None
        now = self.clock().timestamp()
        group = await self._similar_group(language, words)
        if group is None:
            group = ReviewGroup(secrets.token_urlsafe(9), language, predicted, 0, {}, [],
                                words=words)
        elif group.label:
            group.label = ""  # a new question after labelling: the group needs a new look
        group.count += 1
        group.reasons[reason] = group.reasons.get(reason, 0) + 1
        group.last_seen = now
        if cleaned not in group.examples and len(group.examples) < MAX_EXAMPLES:
            group.examples.append(cleaned)
        group.words = group.words | words if len(group.words) < 40 else group.words
        await self._save(group)
        return group.id

    # ------------------------------------------------------------- for editors
    async def groups(self, language: str, *, labelled: bool | None = None) -> list[ReviewGroup]:
        """The language's groups, most frequent first (`labelled` filters)."""
        index = self.keys(REVIEW_INDEX, language=language)
        loaded = await self._load(await self.redis.zrevrange(index, 0, -1))
        gone = [gid for gid, group in loaded.items() if group is None]
        if gone:
            await self.redis.zrem(index, *gone)
        found = [g for g in loaded.values()
                 if g is not None and (labelled is None or bool(g.label) == labelled)]
        return sorted(found, key=lambda g: (-g.count, -g.last_seen))

    async def get(self, group_id: str) -> ReviewGroup | None:
        return (await self._load([group_id]))[group_id]

    async def label(self, group_id: str, label: str) -> ReviewGroup | None:
        group = await self.get(group_id)
        if group is None:
            return None
        group.label = label
        await self._save(group, touch_index=False)
        return group

    async def weeks(self, languages: Iterable[str], count: int = 8) -> list[WeekRow]:
        """The share of messages not understood per language for the last `count` weeks."""
        now = self.clock()
        rows: list[WeekRow] = []
        for back in range(count):
            week = week_of(datetime.fromtimestamp(now.timestamp() - back * 7 * 86400, now.tzinfo))
            counts = await self.redis.hgetall(self.keys(REVIEW_WEEK, week=week))
            values = {k: int(v) for k, v in counts.items()}
            per_language: dict[str, LanguageWeek] = {}
            for language in languages:
                messages = values.get(f"{language}:messages", 0)
                missed = values.get(f"{language}:missed", 0)
                per_language[language] = {
                    "messages": messages, "not_understood": missed,
                    "share": round(missed / messages, 4) if messages else None}
            rows.append({"week": week, "languages": per_language})
        return rows

    # ------------------------------------------------------------- storage
    async def _similar_group(self, language: str, words: frozenset[str]) -> ReviewGroup | None:
        ids = await self.redis.zrevrange(self.keys(REVIEW_INDEX, language=language),
                                         0, RECENT_GROUPS - 1)
        best, best_score = None, SIMILAR
        for group in (await self._load(ids)).values():
            if group is None:
                continue
            score = similarity(words, group.words)
            if score >= best_score:
                best, best_score = group, score
        return best

    async def _load(self, ids: Iterable[str]) -> dict[str, ReviewGroup | None]:
        """Groups by id in one round trip (None: expired), in the order given."""
        names = list(ids)
        if not names:
            return {}
        bodies = await self.redis.mget([self.keys(REVIEW_GROUP, id=gid) for gid in names])
        # cast: the JSON is our own (`_save`).
        return {gid: None if raw is None else _group(gid, cast(StoredGroup, json_codec.loads(raw)))
                for gid, raw in zip(names, bodies, strict=True)}

    async def _save(self, group: ReviewGroup, touch_index: bool = True) -> None:
        body = json_codec.dumps({"language": group.language, "predicted": group.predicted,
                                 "count": group.count, "reasons": group.reasons,
                                 "examples": group.examples, "label": group.label,
                                 "last_seen": group.last_seen, "words": sorted(group.words)})
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.set(self.keys(REVIEW_GROUP, id=group.id), body, ex=self.retention)
            if touch_index:
                pipe.zadd(self.keys(REVIEW_INDEX, language=group.language),
                          {group.id: group.last_seen})
            await pipe.execute()

    def _count_writes(self, language: str, what: str) -> list[Command]:
        key = self.keys(REVIEW_WEEK, week=week_of(self.clock()))
        return [("HINCRBY", key, f"{language}:{what}", 1),
                ("EXPIRE", key, WEEKS_KEPT * 7 * 86400)]

    async def _count(self, language: str, what: str) -> None:
        await batch.run(self.redis, self._count_writes(language, what))
