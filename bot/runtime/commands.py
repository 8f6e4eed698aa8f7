"""Running a channel's own command (`python -m bot chat`) with the full wiring."""

from __future__ import annotations

import sys
from collections.abc import Sequence

from redis.exceptions import ConnectionError as RedisConnectionError

from bot.config import Settings, hide_url_password
from bot.runtime.wiring import build_services


async def run_channel_command(settings: Settings, command: str, argv: Sequence[str]) -> int:
    services = await build_services(settings)
    try:
        await services.redis.ping()
        return await services.channels.commands()[command].run(argv)
    except RedisConnectionError as exc:
        where = hide_url_password(settings.redis_url)
        print(f"error: cannot reach Redis at {where} ({exc})", file=sys.stderr)
        return 1
    finally:
        await services.close()
