"""Several Redis commands as one: a turn's reads in one round trip, its writes in another.

The gateway's busiest path is one web chat message. Each command redis-py sends costs the
gateway CPU of its own (packing every argument, a reply to read, a timeout armed and
cancelled); a pipeline still reads a reply per command, and a transaction two. `run` sends a
list of commands as one EVAL of a small Lua script that calls them in order and returns their
replies. The commands travel as one JSON argument (packed by the json module's C encoder
rather than redis-py's argument by argument): one command packed, one reply read, and atomic
like a transaction (a script runs alone on the server).

The commands touch keys they do not declare to the script, which standalone Redis and Sentinel
accept; Redis Cluster would not (docs/scaling.md says why Lotsen does not use it).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from bot.core import json_codec
from bot.core.redis_types import Command, StrRedis

# ARGV[1]: the commands as a JSON array of arrays of strings.
BATCH = """
local replies = {}
for _, command in ipairs(cjson.decode(ARGV[1])) do
  replies[#replies + 1] = redis.call(unpack(command))
end
return replies
"""


def encode(commands: Iterable[Command]) -> bytes:
    """The commands as the script's one argument (every word a string, as Redis takes it)."""
    return json_codec.dumps_bytes([[str(word) for word in command] for command in commands])


async def run(redis: StrRedis, commands: Iterable[Command]) -> list[Any]:
    """The commands' replies, in order (a missing value is None; HGETALL's a flat list)."""
    listed = list(commands)
    if not listed:
        return []
    replies: list[Any] = await redis.eval(BATCH, 0, encode(listed))
    return replies


def as_hash(reply: list[str] | None) -> dict[str, str]:
    """HGETALL's reply inside a batch (a flat list of fields and values) as a dict."""
    items = reply or []
    return dict(zip(items[::2], items[1::2], strict=True))
