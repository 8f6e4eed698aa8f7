"""Finding keys in a test's Redis by their declared patterns (bot/core/keys.py), never by
names spelled in the test: a pattern that changes changes here too."""

from __future__ import annotations

from collections.abc import Iterable

from redis.asyncio import Redis

# Imported for the patterns they declare: conv:{conversation}:inbox, :log and :seq.
import connectors.terminal
import connectors.webchat  # noqa: F401
from bot.core.keys import REGISTRY, KeyPattern, Keys


async def scan(redis: Redis, *matches: str) -> list[str]:
    """Every key matching any of the SCAN patterns, sorted."""
    found: set[str] = set()
    for match in matches:
        found.update([key async for key in redis.scan_iter(match=match, count=500)])
    return sorted(found)


def conversation_patterns(without: Iterable[KeyPattern] = ()) -> list[KeyPattern]:
    """The declared patterns of a conversation's own keys (`conv:{conversation}:...`)."""
    skip = set(without)
    return [pattern for pattern in REGISTRY.values()
            if pattern.template.startswith("conv:{conversation}:") and pattern not in skip]


async def conversation_keys(redis: Redis, prefix: str, conversation: str | None = None, *,
                            without: Iterable[KeyPattern] = ()) -> list[str]:
    """The conversation keys under `prefix` (of one conversation, or of any), leaving out the
    patterns `without`."""
    keys = Keys(prefix)
    parts = {} if conversation is None else {"conversation": conversation}
    return await scan(redis, *(keys.glob(pattern, **parts)
                               for pattern in conversation_patterns(without)))


def part(keys: Keys, pattern: KeyPattern, key: str, name: str) -> str | None:
    """The value of the part `name` in `key`, when `key` is of `pattern` (else None)."""
    head = f"{keys.prefix}:"
    found = pattern.regex.fullmatch(key[len(head):]) if key.startswith(head) else None
    return found.group(name) if found else None
