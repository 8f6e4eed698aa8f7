"""Coach accounts in Redis with argon2 password hashes, and the login attempt limit."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from redis.asyncio import Redis

from bot.core.handover.teams import Teams
from bot.core.keys import COACH, COACH_LOGIN_FAILURES, Keys

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,39}$")
MIN_PASSWORD = 10
MAX_FAILED_LOGINS = 5
FAILED_LOGIN_WINDOW = 15 * 60


class AccountError(ValueError):
    pass


@dataclass(frozen=True)
class Coach:
    username: str
    name: str
    teams: tuple[str, ...]


class CoachAccounts:
    def __init__(self, redis: Redis, prefix: str, teams: Teams) -> None:
        self.redis = redis
        self.keys = Keys(prefix)
        self.teams = teams
        self.hasher = PasswordHasher()

    def _key(self, username: str) -> str:
        return self.keys(COACH, username=username)

    async def add(self, username: str, password: str, teams: list[str],
                  name: str | None = None) -> Coach:
        if not USERNAME.match(username):
            raise AccountError("username: 2-40 characters, lower-case letters, digits, . _ -")
        if len(password) < MIN_PASSWORD:
            raise AccountError(f"password: at least {MIN_PASSWORD} characters")
        unknown = [t for t in teams if t not in self.teams.teams]
        if not teams or unknown:
            raise AccountError(f"unknown team(s) {unknown or '(none given)'}; "
                               f"`python -m bot.admin teams` lists them")
        coach = Coach(username, name or username, tuple(dict.fromkeys(teams)))
        await self.redis.hset(self._key(username), mapping={
            "password": self.hasher.hash(password), "name": coach.name,
            "teams": json.dumps(list(coach.teams)), "created": int(time.time())})
        return coach

    async def get(self, username: str) -> Coach | None:
        if not USERNAME.match(username or ""):
            return None
        data = await self.redis.hgetall(self._key(username))
        if not data:
            return None
        return Coach(username, data.get("name", username), tuple(json.loads(data["teams"])))

    async def verify(self, username: str, password: str) -> Coach | None:
        data = await self.redis.hgetall(self._key(username)) if USERNAME.match(
            username or "") else {}
        stored = data.get("password")
        if not stored:
            self.hasher.hash(password)  # same work either way: no user enumeration by timing
            return None
        try:
            self.hasher.verify(stored, password)
        except (VerificationError, InvalidHashError):
            return None
        if self.hasher.check_needs_rehash(stored):
            await self.redis.hset(self._key(username), "password", self.hasher.hash(password))
        return await self.get(username)

    async def login_blocked(self, username: str, address: str) -> bool:
        keys = [self._fail_key("user", username), self._fail_key("ip", address)]
        counts = [int(await self.redis.get(k) or 0) for k in keys]
        return max(counts) >= MAX_FAILED_LOGINS

    async def record_failure(self, username: str, address: str) -> None:
        for key in (self._fail_key("user", username), self._fail_key("ip", address)):
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.incr(key)
                pipe.expire(key, FAILED_LOGIN_WINDOW)
                await pipe.execute()

    async def clear_failures(self, username: str) -> None:
        await self.redis.delete(self._fail_key("user", username))

    def _fail_key(self, kind: str, value: str) -> str:
        return self.keys(COACH_LOGIN_FAILURES, kind=kind, value=value[:64])
