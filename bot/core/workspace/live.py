"""Published content reaches every process without a restart and without a Redis read per
message: each gateway and worker keeps the overrides in memory (the catalogs' override layer)
and reloads them when the content version moves. A publish announces the new version on
pub/sub; a poll of the counter every `poll_seconds` catches a message missed while the
subscription was down, so a change is live everywhere within that time.

The fact documents (the drop-in schedule and the locations, facts.py) are reloaded the same way:
parsed, and swapped into the `Schedule` and `Places` objects every part of the process holds."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from redis.exceptions import RedisError

from bot.core.i18n import Catalogs
from bot.core.workspace.facts import LANGUAGE as FACTS
from bot.core.workspace.facts import Facts
from bot.core.workspace.inventory import Inventory
from bot.core.workspace.store import WorkspaceStore

log = logging.getLogger("lotsen.content")


class LiveContent:
    def __init__(self, *, store: WorkspaceStore, inventory: Inventory, catalogs: Catalogs,
                 poll_seconds: float = 2.0, facts: Facts | None = None) -> None:
        self.store = store
        self.facts = facts
        self.inventory = inventory
        self.catalogs = catalogs
        self.poll_seconds = poll_seconds
        self.loaded = -1  # the content version in memory

    async def refresh(self) -> bool:
        """Loads the overrides if the version moved; whether it did."""
        version = await self.store.version()
        if version == self.loaded:
            return False
        published = await self.store.published()
        overrides: dict[str, dict[str, str]] = {}
        # Oldest first: where two ids share one message, the one published last is said
        # (Redis's hash order is no order at all once the hash grows).
        for field, entry in sorted(published.items(), key=lambda kv: float(kv[1].get("at", 0))):
            language, _, text_id = field.partition("|")
            if language == FACTS:
                continue
            item = self.inventory.item(text_id)
            if item is not None:
                overrides.setdefault(language, {})[item.msgid] = str(entry["text"])
        self.catalogs.set_overrides(overrides)
        if self.facts is not None:
            self.facts.apply(published)
        self.loaded = version
        log.info("content_loaded", extra={"count": version})
        return True

    async def run(self, stop: asyncio.Event) -> None:
        """Until `stop`: reload on every announcement, and at least every `poll_seconds`."""
        while not stop.is_set():
            pubsub = self.store.redis.pubsub()
            try:
                await pubsub.subscribe(self.store.channel)
                while not stop.is_set():
                    await self.refresh()
                    await pubsub.get_message(ignore_subscribe_messages=True,
                                             timeout=self.poll_seconds)
            except (OSError, RedisError) as exc:
                log.warning("content_watch_failed", extra={"error": type(exc).__name__})
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.poll_seconds)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()
