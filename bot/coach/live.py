"""Live updates for the coach panel: `GET /coach/api/events`, Server-Sent Events.

Each gateway process runs one reader (`EventHub`) that follows the staff-event stream in Redis
and hands each event to the process's open SSE connections, so a thousand open panels cost one
Redis connection, not a thousand, and any gateway serves any coach. A connection gets only the
events of the coach's teams and drop-in locations (an operator: all), as ids and kinds; the
panel then asks the API for what changed. The browser's EventSource reconnects by itself and
sends `Last-Event-ID`: the events it missed meanwhile are sent first.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
from collections.abc import Callable

from aiohttp import web
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from bot.coach.accounts import Coach
from bot.coach.guard import SessionGuard
from bot.core.staff_events import StaffEvent, StaffEvents

log = logging.getLogger("lotsen.coach")
HEARTBEAT_SECONDS = 15.0   # a comment line keeps proxies from closing an idle stream
RETRY_MS = 2000            # how soon a browser reconnects
QUEUE_SIZE = 1000          # a connection this far behind is closed (the browser reconnects)
EVENT_ID = re.compile(r"^\d{1,20}-\d{1,20}$")
CLOSED = None


class EventHub:
    def __init__(self, events: StaffEvents) -> None:
        self.events = events
        self.queues: set[asyncio.Queue[StaffEvent | None]] = set()

    def subscribe(self) -> asyncio.Queue[StaffEvent | None]:
        queue: asyncio.Queue[StaffEvent | None] = asyncio.Queue(QUEUE_SIZE)
        self.queues.add(queue)
        return queue

    def unsubscribe(self, queue: asyncio.Queue[StaffEvent | None]) -> None:
        self.queues.discard(queue)

    def close(self) -> None:
        """End every open connection (the gateway is shutting down)."""
        for queue in list(self.queues):
            with contextlib.suppress(asyncio.QueueFull):
                queue.put_nowait(CLOSED)

    async def run(self, stop: asyncio.Event) -> None:
        """Follow the stream until `stop`; then end every open connection."""
        last = None
        try:
            while not stop.is_set():
                try:
                    if last is None:
                        last = await self.events.latest_id()
                    for event in await self.events.after(last, block_ms=1000):
                        last = event.id
                        self._hand_out(event)
                except (RedisConnectionError, RedisTimeoutError, OSError):
                    log.warning("staff_events_unavailable")
                    await asyncio.sleep(1)
        finally:
            self.close()

    def _hand_out(self, event: StaffEvent) -> None:
        for queue in list(self.queues):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:  # too slow: close it; the browser reconnects and resumes
                self.queues.discard(queue)


class LiveRoutes:
    def __init__(self, hub: EventHub, guard: SessionGuard,
                 locations_of: Callable[[Coach], list[str]]) -> None:
        self.hub = hub
        self.guard = guard
        self.locations_of = locations_of

    def routes(self) -> list[web.AbstractRouteDef]:
        return [web.get("/coach/api/events", self.guard(self.stream))]

    def visible(self, coach: Coach, event: StaffEvent) -> bool:
        if event.team:
            return coach.is_operator or event.team in coach.teams
        return event.location in self.locations_of(coach)

    async def stream(self, request: web.Request, coach: Coach) -> web.StreamResponse:
        queue = self.hub.subscribe()  # before the backlog is read: nothing falls between
        try:
            response = web.StreamResponse(headers={
                "Content-Type": "text/event-stream", "Cache-Control": "no-store",
                "X-Accel-Buffering": "no"})
            await response.prepare(request)
            await response.write(f"retry: {RETRY_MS}\n\n".encode())
            sent = ""
            resume = request.headers.get("Last-Event-ID", "")
            if EVENT_ID.match(resume):
                for missed in await self.hub.events.after(resume, count=QUEUE_SIZE):
                    sent = await self._send(response, coach, missed, sent)
            while True:
                try:
                    event = await asyncio.wait_for(queue.get(), HEARTBEAT_SECONDS)
                except TimeoutError:
                    await response.write(b": keep-alive\n\n")
                    continue
                if event is CLOSED:
                    break
                sent = await self._send(response, coach, event, sent)
        except ConnectionResetError:
            pass  # the browser went away
        finally:
            self.hub.unsubscribe(queue)
        return response

    async def _send(self, response: web.StreamResponse, coach: Coach, event: StaffEvent,
                    sent: str) -> str:
        """Write one event (once: the backlog and the live queue may both hold it)."""
        if sent and _order(event.id) <= _order(sent):
            return sent
        if self.visible(coach, event):
            await response.write(f"id: {event.id}\nevent: {event.kind}\n"
                                 f"data: {json.dumps(event.to_json())}\n\n".encode())
        return event.id


def _order(event_id: str) -> tuple[int, int]:
    millis, _, sequence = event_id.partition("-")
    return int(millis), int(sequence or 0)
