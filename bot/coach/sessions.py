"""Coach login sessions in Redis, under the key prefix like every other key.

aiohttp-session's own RedisStorage writes `<cookie name>_<id>` outside any prefix and needs a
second Redis client that returns bytes; this storage uses the gateway's one client and the key
registry (`coach-session:<token>`), and deletes the key when a session is invalidated.
"""

from __future__ import annotations

import json
import re
import secrets

from aiohttp import web
from aiohttp_session import AbstractStorage, Session

from bot.core.keys import COACH_SESSION, Keys
from bot.core.redis_types import StrRedis

TOKEN = re.compile(r"^[A-Za-z0-9_-]{32,64}$")


class RedisSessionStorage(AbstractStorage):
    def __init__(self, redis: StrRedis, keys: Keys, *, cookie_name: str, max_age: int,
                 secure: bool, path: str) -> None:
        super().__init__(cookie_name=cookie_name, max_age=max_age, path=path, secure=secure,
                         httponly=True, samesite="Strict", domain=None)
        self.redis = redis
        self.keys = keys

    def _key(self, token: str) -> str:
        return self.keys(COACH_SESSION, token=token)

    async def load_session(self, request: web.Request) -> Session:
        token = self.load_cookie(request)
        if not isinstance(token, str) or not TOKEN.match(token):
            return Session(None, data=None, new=True, max_age=self.max_age)
        raw = await self.redis.get(self._key(token))
        if raw is None:
            return Session(None, data=None, new=True, max_age=self.max_age)
        try:
            data = json.loads(raw)
        except ValueError:
            data = None
        return Session(token, data=data, new=False, max_age=self.max_age)

    async def save_session(self, request: web.Request, response: web.StreamResponse,
                           session: Session) -> None:
        token = session.identity
        if session.empty:
            self.save_cookie(response, "", max_age=session.max_age)
            if token is not None:
                await self.redis.delete(self._key(str(token)))
            return
        if token is None:
            token = secrets.token_urlsafe(32)
        self.save_cookie(response, str(token), max_age=session.max_age)
        await self.redis.set(self._key(str(token)), json.dumps(self._get_session_data(session)),
                             ex=session.max_age)
