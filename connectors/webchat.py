"""Web chat: the JSON routes of spec §7, the chat page at `/` and its embed script `/widget.js`.

A session is an unguessable id. Everything the bot (or later a coach) sends to a session is also
kept, numbered, in the session's message log, so `GET .../messages?after=N` returns what arrived
later, such as coach replies and reminders.
"""

from __future__ import annotations

import json
import re
import secrets
import time
from collections.abc import Sequence
from pathlib import Path

from aiohttp import web
from redis.asyncio import Redis

from bot.core.keys import Erasure, Keys, Owner, declare
from bot.core.limits import Limits
from bot.core.messages import Capabilities, Reply
from bot.http import ClientAddresses, bad_request, error, json_object, too_many, whole_number
from connectors.base import Channel, ChannelContext
from connectors.webchat_widget import widget_route

CHANNEL = "webchat"
STATIC_DIR = Path(__file__).resolve().parent / "webchat_static"
SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
LOG_LIMIT = 500
SESSION = declare("webchat:session:{session}", owner=Owner.CONVERSATION,
                  expiry="the retention period, renewed on use", erasure=Erasure.EXPIRES,
                  note="the session's opening language and creation time")
LOG = declare("conv:{conversation}:log", owner=Owner.CONVERSATION, expiry="the retention period",
              erasure=Erasure.WITH_CONVERSATION, note="what was sent to the session, numbered")
SEQ = declare("conv:{conversation}:seq", owner=Owner.CONVERSATION, expiry="the retention period",
              erasure=Erasure.WITH_CONVERSATION)


class WebchatStore:
    """Sessions and their numbered message logs in Redis."""

    def __init__(self, redis: Redis, keys: Keys, retention_seconds: int) -> None:
        self.redis = redis
        self.keys = keys
        self.retention = retention_seconds

    def _session_key(self, session: str) -> str:
        return self.keys(SESSION, session=session)

    def _log_key(self, session: str) -> str:
        # Under the conversation's namespace, so erasing the conversation erases the log too.
        return self.keys(LOG, conversation=f"{CHANNEL}:{session}")

    def _seq_key(self, session: str) -> str:
        return self.keys(SEQ, conversation=f"{CHANNEL}:{session}")

    async def create(self, language: str | None, idle_seconds: int) -> str:
        """A new session; it expires after `idle_seconds` unless a message is sent in it."""
        session = secrets.token_urlsafe(24)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(self._session_key(session),
                      mapping={"created": int(time.time()), "language": language or ""})
            pipe.expire(self._session_key(session), idle_seconds)
            await pipe.execute()
        return session

    async def keep(self, session: str) -> None:
        """The session was used: it now lasts the retention period."""
        await self.redis.expire(self._session_key(session), self.retention)

    async def language(self, session: str) -> str | None:
        """The language the session was opened with; None if the session does not exist."""
        if not SESSION_ID.match(session):
            return None
        values = await self.redis.hgetall(self._session_key(session))
        if not values:
            return None
        return values.get("language") or ""

    async def append(self, session: str, replies: Sequence[Reply]) -> list[dict[str, object]]:
        entries = []
        for reply in replies:
            seq = await self.redis.incr(self._seq_key(session))
            entries.append({"seq": seq, "ts": int(time.time()), **reply.to_json()})
        if entries:
            async with self.redis.pipeline(transaction=True) as pipe:
                pipe.rpush(self._log_key(session), *[json.dumps(e, ensure_ascii=False)
                                                     for e in entries])
                pipe.ltrim(self._log_key(session), -LOG_LIMIT, -1)
                pipe.expire(self._log_key(session), self.retention)
                pipe.expire(self._seq_key(session), self.retention)
                await pipe.execute()
        return entries

    async def erase(self, session: str) -> None:
        await self.redis.delete(self._session_key(session), self._log_key(session),
                                self._seq_key(session))

    async def since(self, session: str, after: int) -> list[dict[str, object]]:
        raw = await self.redis.lrange(self._log_key(session), 0, -1)
        return [e for e in (json.loads(r) for r in raw) if int(e["seq"]) > after]


class WebchatChannel(Channel):
    name = CHANNEL
    # A session ends with the browser tab, so nobody can be reached here later (no notices).
    capabilities = Capabilities(buttons=True, max_reply_chars=4000, reachable_later=False)

    def __init__(self, context: ChannelContext) -> None:
        super().__init__(context)
        self.engine = context.engine
        self.store = WebchatStore(context.redis, context.keys,
                                  context.settings.retention_seconds)
        self.languages = context.engine.languages
        self.content = context.engine.content
        settings = context.settings
        self.settings = settings
        self.limits = Limits(context.redis, settings.key_prefix)
        self.addresses = ClientAddresses(settings.trusted_proxies, settings.limit_exempt)

    async def _limited(self, request: web.Request, name: str, limit: int) -> str | None:
        """The client's address for per-address limits (None when exempt); a 429 over one."""
        address = self.addresses.of(request)
        if address is None or self.addresses.exempt(address):
            return None
        verdict = await self.limits.hit(name, str(address), limit, 60)
        if verdict.over:
            raise too_many(f"Too many {name} from your address; try again in "
                           f"{verdict.retry_after} seconds.", verdict.retry_after)
        return str(address)

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/webchat/sessions", self.create_session),
            web.post("/webchat/sessions/{session}/messages", self.post_message),
            web.get("/webchat/sessions/{session}/messages", self.get_messages),
            web.get("/webchat/languages", self.list_languages),
            web.get("/", self.page),
            web.static("/static", STATIC_DIR),
            widget_route(self.content, self.languages),
        ]

    async def erase(self, session: str) -> None:
        await self.store.erase(session)

    async def deliver(self, session: str, replies: Sequence[Reply]) -> None:
        """Messages sent outside a request (coach replies, reminders) join the session's log."""
        await self.store.append(session, replies)

    async def create_session(self, request: web.Request) -> web.Response:
        body = await json_object(request, allow_empty=True)
        language = body.get("language")
        if language is not None and not self.languages.is_enabled(language):
            raise bad_request(f"Unsupported language {language!r}; "
                              f"use one of {', '.join(self.languages.enabled)}.")
        await self._limited(request, "sessions", self.settings.limit_sessions_per_minute)
        session = await self.store.create(language, self.settings.idle_session_minutes * 60)
        return web.json_response({"session": session}, status=201)

    async def post_message(self, request: web.Request) -> web.Response:
        session = request.match_info["session"]
        hint = await self.store.language(session)
        if hint is None:
            return error(404, "Unknown chat session. Start a new one with POST /webchat/sessions.")
        body = await json_object(request)
        text, payload = body.get("text"), body.get("payload")
        if text is None and payload is None:
            raise bad_request('Send {"text": "..."} or {"payload": "..."}.')
        if (text is not None and not isinstance(text, str)) or (
                payload is not None and not isinstance(payload, str)):
            raise bad_request('"text" and "payload" must be strings.')
        if payload is not None and len(payload) > 64:
            raise bad_request('"payload" is at most 64 characters.')
        address = await self._limited(request, "messages",
                                      self.settings.limit_messages_per_minute)
        message = self.message(session, text=text or "", payload=payload or None,
                               language_hint=hint or None, language_chosen=bool(hint),
                               client_address=address)
        outcome = await self.engine.handle(message)
        if outcome.fallback == "rate_limited":
            said = outcome.replies[0].text if outcome.replies else \
                "Too many messages; wait a minute and try again."
            raise too_many(said, 60)
        if outcome.fallback != "too_long" and not outcome.erased:
            await self.store.keep(session)
            await self.store.append(session, outcome.replies)
        direction = self.languages.languages[outcome.language].direction
        return web.json_response({"replies": [r.to_json() for r in outcome.replies],
                                  "language": outcome.language, "direction": direction})

    async def get_messages(self, request: web.Request) -> web.Response:
        session = request.match_info["session"]
        if await self.store.language(session) is None:
            return error(404, "Unknown chat session. Start a new one with POST /webchat/sessions.")
        after = whole_number(request.query.get("after", "0"), "after")
        messages = await self.store.since(session, after)
        return web.json_response({"messages": messages})

    async def list_languages(self, request: web.Request) -> web.Response:
        return web.json_response({"default": self.languages.default, "languages": [
            {"code": code, "name": self.languages.languages[code].native,
             "direction": self.languages.languages[code].direction,
             "ui": self.content.ui_labels(code)}
            for code in self.languages.enabled]})

    async def page(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC_DIR / "index.html")
