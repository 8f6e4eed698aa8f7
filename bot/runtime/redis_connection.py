"""The Redis client every process uses: one address, or the master that Redis Sentinel names.

With LOTSEN_REDIS_SENTINELS set, the pool asks the sentinels for the master of
LOTSEN_REDIS_SERVICE before each new connection, drops connections to a demoted master, and a
command that meets a dead or demoted master is retried with backoff (about 14.5 s in all), long
enough for Sentinel to promote the replica: a failover delays messages, it does not lose them
or need a restart. Why not Redis Cluster: docs/scaling.md.

Either way a burst waits for a free connection (up to LOTSEN_REDIS_POOL_TIMEOUT_SECONDS) instead
of failing when all LOTSEN_REDIS_MAX_CONNECTIONS are busy.
"""

from __future__ import annotations

from typing import cast

from redis.asyncio import BlockingConnectionPool, Redis
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel, SentinelConnectionPool
from redis.backoff import ExponentialBackoff
from redis.exceptions import ConnectionError, ReadOnlyError, TimeoutError

from bot.config import Settings, sentinels
from bot.core.redis_types import StrRedis

# 0.5 s, then 1 s between tries: about 14.5 s in all, a Sentinel failover with
# down-after-milliseconds 5000 and time to elect and promote.
FAILOVER_RETRIES = 15


class BlockingSentinelPool(SentinelConnectionPool, BlockingConnectionPool):
    """Sentinel's pool (finds the master) with the blocking pool's wait for a free connection."""


def redis_client(settings: Settings) -> StrRedis:
    """Strings in, strings out (hence `StrRedis`); the same timeouts in both modes."""
    common: dict[str, object] = {"max_connections": settings.redis_max_connections,
                                 "timeout": settings.redis_pool_timeout_seconds,
                                 "decode_responses": True, "socket_timeout": 2.0,
                                 "socket_connect_timeout": 2.0, "health_check_interval": 15}
    if not settings.redis_sentinels:
        return cast(StrRedis, Redis.from_pool(
            BlockingConnectionPool.from_url(settings.redis_url, **common)))
    manager = Sentinel(  # type: ignore[no-untyped-call]  # redis-py leaves Sentinel() untyped
        sentinels(settings.redis_sentinels),
        sentinel_kwargs={"socket_timeout": 1.0, "socket_connect_timeout": 1.0})
    retry = Retry(ExponentialBackoff(cap=1.0, base=0.25), FAILOVER_RETRIES,
                  supported_errors=(ConnectionError, TimeoutError, ReadOnlyError))
    return cast(StrRedis, manager.master_for(
        settings.redis_service, redis_class=Redis, connection_pool_class=BlockingSentinelPool,
        retry=retry, db=_database(settings.redis_url), **common))


def _database(url: str) -> int:
    """The database number of LOTSEN_REDIS_URL (`redis://host:6379/2` → 2), also under Sentinel."""
    tail = url.rsplit("/", 1)[-1] if url.count("/") >= 3 else ""
    return int(tail) if tail.isdigit() else 0
