"""The closed sets of words staff records use (issue 23's StrEnums): an account's role read
back from Redis, the audit log's actions, and the opt-out keywords. A word Lotsen did not write
never widens what someone may do, and an unknown audit action changes nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from redis.asyncio import Redis

from bot.coach.accounts import CoachAccounts, Role
from bot.coach.audit import AuditAction, AuditLog
from bot.core.handover.teams import Teams
from bot.core.keys import COACH, Keys
from connectors.optout import Keyword, Keywords
from tests.clock import FixedClock

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery"


def accounts(redis: Redis, prefix: str) -> CoachAccounts:
    teams = Teams.load(ROOT / "config" / "teams.yml")
    return CoachAccounts(redis=redis, keys=Keys(prefix),
                         clock=FixedClock(datetime(2026, 3, 2, 10, tzinfo=UTC)), teams=teams)


async def test_a_role_reads_back_as_written(redis: Redis, prefix: str) -> None:
    store = accounts(redis, prefix)
    await store.add("olga", PASSWORD, [], role="operator")
    olga = await store.get("olga")
    assert olga is not None and olga.role is Role.OPERATOR and olga.is_operator


async def test_an_unknown_role_in_redis_gives_the_lesser_role(redis: Redis,
                                                              prefix: str) -> None:
    store = accounts(redis, prefix)
    await store.add("olga", PASSWORD, [], role="operator")
    await redis.hset(Keys(prefix)(COACH, username="olga"), "role", "admin")
    olga = await store.get("olga")
    assert olga is not None and olga.role is Role.COACH and not olga.is_operator


async def test_an_unknown_role_is_refused_when_adding(redis: Redis, prefix: str) -> None:
    store = accounts(redis, prefix)
    with pytest.raises(ValueError, match="role must be one of coach, operator"):
        await store.add("olga", PASSWORD, [], role="admin")
    assert await store.get("olga") is None


async def test_an_unknown_audit_action_writes_nothing(redis: Redis, prefix: str) -> None:
    log = AuditLog(redis=redis, keys=Keys(prefix), keep_days=30,
                   clock=lambda: 1_780_000_000.0)
    with pytest.raises(ValueError):
        await log.record("sara", "lead_deleted")  # an untyped caller's word
    await log.record("sara", AuditAction.LEAD_VIEW, "lead1", "team1")
    entries = await log.entries()
    assert [(e.coach, e.action, e.target) for e in entries] == [("sara", "lead_view", "lead1")]


def test_keywords_are_classified_as_their_enum() -> None:
    keywords = Keywords(ROOT / "bot" / "content" / "languages.yml")
    assert keywords.classify(" STOP! ") is Keyword.STOP
    assert keywords.classify("start") is Keyword.START
    assert keywords.classify("stopp the bus") is None
