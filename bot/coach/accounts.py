"""Coach accounts in Redis with argon2 password hashes, and how login attempts are limited.

Limits that a stranger cannot turn against a coach:
- every attempt is counted *before* the password is checked, atomically (one Lua script), per
  account and per client address, so a burst of parallel guesses is refused, not verified;
- an account does not lock: from the FREE_ATTEMPTS-th attempt on, each further attempt must
  wait 2, 4, 8, ... seconds (at most BACKOFF_CAP), and a success resets it, so the real coach
  gets in once the backoff has passed;
- an address gets ADDRESS_ATTEMPTS failures per window (addresses in LOTSEN_LIMIT_EXEMPT do not
  count; behind a proxy the address comes from X-Forwarded-For only if the proxy is trusted).

argon2 (64 MiB per hash) runs in a small thread pool with a cap on concurrent hashes, so logins
never stall the event loop that serves webhooks and chats. A password change or the removal of
the account ends every session of that coach: sessions carry the account's password
generation, which a change increments.

Roles: a `coach` works the leads of their teams; an `operator` also runs outreach campaigns,
reads the audit log and sees every team's numbers (and may have no team of their own), but reads
only the transcripts of their own teams' leads. A disabled account cannot log in, and its open
sessions end at once (disabling increments the generation, like a password change).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar, TypeVarTuple

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from bot.core.clock import Clock
from bot.core.handover.teams import Teams
from bot.core.keys import COACH, COACH_LOGIN_FAILURES, Keys
from bot.core.mail import valid_address
from bot.core.redis_types import StrRedis

USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{1,39}$")
MIN_PASSWORD = 10
T = TypeVar("T")
Ts = TypeVarTuple("Ts")


class Role(StrEnum):
    """What an account may do (stored in its hash as the word)."""

    COACH = "coach"
    OPERATOR = "operator"


ROLES = tuple(Role)
FREE_ATTEMPTS = 5
BACKOFF_CAP = 15 * 60
ADDRESS_ATTEMPTS = 30
ADDRESS_WINDOW = 15 * 60
# At most half the cores hash at once: the other half keeps serving chats and webhooks.
HASH_CONCURRENCY = max(1, (os.cpu_count() or 2) // 2)

# KEYS: account attempts (hash: n, next), address attempts. ARGV: now, free, cap,
# address limit, address window, count the address (1/0).
# Returns {0, wait} when refused, {1, 0} when the attempt may be verified.
ATTEMPT = """
local now = tonumber(ARGV[1])
if ARGV[6] == '1' then
  local used = tonumber(redis.call('GET', KEYS[2]) or '0')
  if used >= tonumber(ARGV[4]) then return {0, redis.call('TTL', KEYS[2])} end
  redis.call('INCR', KEYS[2])
  if used == 0 then redis.call('EXPIRE', KEYS[2], tonumber(ARGV[5])) end
end
local n = tonumber(redis.call('HGET', KEYS[1], 'n') or '0')
local next_at = tonumber(redis.call('HGET', KEYS[1], 'next') or '0')
if n + 1 >= tonumber(ARGV[2]) then
  if now < next_at then return {0, math.ceil(next_at - now)} end
  local wait = math.min(2 ^ (n + 2 - tonumber(ARGV[2])), tonumber(ARGV[3]))
  redis.call('HSET', KEYS[1], 'next', now + wait)
end
redis.call('HINCRBY', KEYS[1], 'n', 1)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]) * 2)
return {1, 0}
"""


# KEYS: account attempts, address attempts. Forget the account's; take one off the address's.
SUCCEEDED = """
redis.call('DEL', KEYS[1])
if tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then redis.call('DECR', KEYS[2]) end
"""


def _role(stored: str | None) -> Role:
    """The role in an account's hash; an unknown word gives the lesser role."""
    return Role(stored) if stored in ROLES else Role.COACH


class AccountError(ValueError):
    pass


@dataclass(frozen=True)
class Coach:
    username: str
    name: str
    teams: tuple[str, ...]
    generation: int = 0  # increments with every password change: older sessions end
    role: Role = Role.COACH
    disabled: bool = False
    email: str = ""                  # where notifications go ("" = none)
    last_login: float | None = None

    @property
    def is_operator(self) -> bool:
        return self.role == Role.OPERATOR


@dataclass(frozen=True)
class Attempt:
    allowed: bool
    wait_seconds: int = 0


class CoachAccounts:
    def __init__(self, *, redis: StrRedis, keys: Keys, clock: Clock, teams: Teams) -> None:
        self.redis = redis
        self.keys = keys
        self.clock = clock
        self.teams = teams
        self.hasher = PasswordHasher()
        self._attempt = redis.register_script(ATTEMPT)
        self._succeeded = redis.register_script(SUCCEEDED)
        self._hashing = asyncio.Semaphore(HASH_CONCURRENCY)
        self._pool = ThreadPoolExecutor(max_workers=HASH_CONCURRENCY,
                                        thread_name_prefix="argon2")

    def _key(self, username: str) -> str:
        return self.keys(COACH, username=username)

    async def _in_pool(self, function: Callable[[*Ts], T], *args: *Ts) -> T:
        async with self._hashing:
            return await asyncio.get_running_loop().run_in_executor(self._pool, function, *args)

    async def add(self, username: str, password: str, teams: list[str],
                  name: str | None = None, role: str = Role.COACH, email: str = "") -> Coach:
        """Create an account, or update one (a new password ends its sessions). A coach needs
        at least one team; an operator may have none."""
        if not USERNAME.match(username):
            raise AccountError("username: 2-40 characters, lower-case letters, digits, . _ -")
        if role not in ROLES:
            raise AccountError(f"role must be one of {', '.join(ROLES)}, not {role!r}")
        self._check_password(password)
        unknown = [t for t in teams if t not in self.teams.teams]
        if unknown or (not teams and role == Role.COACH):
            problem = f"unknown team(s) {unknown}" if unknown else "a coach needs a team"
            raise AccountError(f"{problem}; `python -m bot.admin teams` lists them")
        self._check_email(email)
        coach = Coach(username, name or username, tuple(dict.fromkeys(teams)), role=Role(role))
        hashed = await self._in_pool(self.hasher.hash, password)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._key(username), mapping={
                "password": hashed, "name": coach.name, "role": role, "email": email,
                "teams": json.dumps(list(coach.teams)), "created": int(self.clock().timestamp())})
            pipe.hincrby(self._key(username), "generation", 1)
            await pipe.execute()
        saved = await self.get(username)
        assert saved is not None
        return saved

    @staticmethod
    def _check_email(email: str) -> None:
        if email and not valid_address(email):
            raise AccountError(f"not an e-mail address: {email!r}")

    async def set_email(self, username: str, email: str) -> Coach:
        """Where notifications go ("" stops them)."""
        self._check_email(email)
        if await self.get(username) is None:
            raise AccountError(f"no coach {username!r}")
        await self.redis.hset(self._key(username), "email", email)
        coach = await self.get(username)
        assert coach is not None
        return coach

    async def set_disabled(self, username: str, disabled: bool) -> Coach:
        """Disable (every session ends at once; logins are refused) or enable an account."""
        if await self.get(username) is None:
            raise AccountError(f"no coach {username!r}")
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._key(username), "disabled", "1" if disabled else "0")
            if disabled:
                pipe.hincrby(self._key(username), "generation", 1)
            await pipe.execute()
        coach = await self.get(username)
        assert coach is not None
        return coach

    async def logged_in(self, username: str, when: float) -> None:
        await self.redis.hset(self._key(username), "last_login", str(when))

    async def all(self) -> list[Coach]:
        """Every account, by username."""
        found = []
        async for key in self.redis.scan_iter(match=self.keys.glob(COACH), count=500):
            coach = await self.get(str(key).rsplit(":", 1)[1])
            if coach is not None:
                found.append(coach)
        return sorted(found, key=lambda c: c.username)

    async def with_team(self, team: str) -> list[Coach]:
        """The enabled accounts of a team (who a notification about it goes to)."""
        return [c for c in await self.all() if team in c.teams and not c.disabled]

    def _check_password(self, password: str) -> None:
        if len(password) < MIN_PASSWORD:
            raise AccountError(f"password: at least {MIN_PASSWORD} characters")

    async def set_password(self, username: str, password: str) -> Coach:
        """A new password; every session of the coach ends."""
        self._check_password(password)
        if await self.get(username) is None:
            raise AccountError(f"no coach {username!r}")
        hashed = await self._in_pool(self.hasher.hash, password)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._key(username), "password", hashed)
            pipe.hincrby(self._key(username), "generation", 1)
            await pipe.execute()
        coach = await self.get(username)
        assert coach is not None
        return coach

    async def remove(self, username: str) -> bool:
        """Delete the account; its sessions end with it."""
        return bool(await self.redis.delete(self._key(username)) if USERNAME.match(
            username) else 0)

    async def get(self, username: str) -> Coach | None:
        if not USERNAME.match(username or ""):
            return None
        data = await self.redis.hgetall(self._key(username))
        if not data or "teams" not in data:
            return None
        last_login = data.get("last_login")
        return Coach(username, data.get("name", username), tuple(json.loads(data["teams"])),
                     int(data.get("generation", 0)), _role(data.get("role")),
                     disabled=data.get("disabled") == "1", email=data.get("email", ""),
                     last_login=float(last_login) if last_login else None)

    async def attempt(self, username: str, address: str, *, count_address: bool = True
                      ) -> Attempt:
        """Count one login attempt before its password is checked; refused when over a limit."""
        keys = [self._fail_key("user", username), self._fail_key("ip", address)]
        allowed, wait = await self._attempt(
            keys=keys, args=[self.clock().timestamp(), FREE_ATTEMPTS, BACKOFF_CAP, ADDRESS_ATTEMPTS,
                             ADDRESS_WINDOW, 1 if count_address else 0])
        return Attempt(bool(allowed), max(1, int(wait)) if not allowed else 0)

    async def verify(self, username: str, password: str) -> Coach | None:
        data = await self.redis.hgetall(self._key(username)) if USERNAME.match(
            username or "") else {}
        stored = data.get("password")
        if not stored:
            await self._in_pool(self.hasher.hash, password)  # same work: no enumeration
            return None
        try:
            await self._in_pool(self.hasher.verify, stored, password)
        except (VerificationError, InvalidHashError):
            return None
        if self.hasher.check_needs_rehash(stored):
            rehashed = await self._in_pool(self.hasher.hash, password)
            await self.redis.hset(self._key(username), "password", rehashed)
        return await self.get(username)

    async def succeeded(self, username: str, address: str) -> None:
        """A correct password: the account's backoff goes, and the attempt no longer counts
        against the address (only failures should)."""
        await self._succeeded(keys=[self._fail_key("user", username),
                                    self._fail_key("ip", address)])

    def _fail_key(self, kind: str, value: str) -> str:
        return self.keys(COACH_LOGIN_FAILURES, kind=kind, value=value[:64])
