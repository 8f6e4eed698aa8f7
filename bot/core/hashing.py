"""The one key for keyed hashes of things people wrote or are (HMAC-SHA256): a hash that names
nobody by itself and cannot be reversed by trying every phone number or every short text.

LOTSEN_HASH_SECRET when configured, else a secret generated once and kept in Redis, so every
gateway and worker of one installation hashes alike. Used by opt-outs (connectors/optout.py) and
the parse cache (bot/core/nlu/cache.py).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from bot.core.keys import Erasure, Keys, Owner, declare
from bot.core.redis_types import StrRedis

HASH_SECRET = declare("system:hash-secret", owner=Owner.SYSTEM, expiry="none",
                      erasure=Erasure.NOT_PERSONAL,
                      note="the generated key of keyed hashes (when LOTSEN_HASH_SECRET is unset)")


class KeyedHash:
    def __init__(self, *, redis: StrRedis, keys: Keys, secret: str = "") -> None:
        self.redis = redis
        self.keys = keys
        self._secret = secret.encode() if secret else b""

    async def hexdigest(self, text: str) -> str:
        if not self._secret:
            await self.redis.set(self.keys(HASH_SECRET), secrets.token_hex(32), nx=True)
            self._secret = str(await self.redis.get(self.keys(HASH_SECRET))).encode()
        return hmac.new(self._secret, text.encode(), hashlib.sha256).hexdigest()
