"""Web chat: the JSON routes of spec §7, the chat page at `/` and its embed script `/widget.js`.

A session is an unguessable id. Everything the bot (or later a coach) sends to a session is also
kept, numbered, in the session's message log, so `GET .../messages?after=N` returns what arrived
later, such as coach replies and reminders.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from aiohttp import web

from bot.core import batch, json_codec
from bot.core.access.data import CHAT_LOG, Record, Section, iso
from bot.core.access.flow import access_of
from bot.core.access.render import filename, html_page, json_bytes
from bot.core.clock import Clock
from bot.core.keys import Erasure, Keys, Owner, declare
from bot.core.limits import Limits
from bot.core.messages import Capabilities, IncomingMessage, Outcome, Reply
from bot.core.redis_types import Command, StrRedis
from bot.http import ClientAddresses, bad_request, error, json_object, too_many, whole_number
from connectors.base import Channel, ChannelContext, StoreContext
from connectors.webchat_notices import notices_route
from connectors.webchat_widget import widget_route

CHANNEL = "webchat"
STATIC_DIR = Path(__file__).resolve().parent / "webchat_static"
SESSION_ID = re.compile(r"^[A-Za-z0-9_-]{20,64}$")
EXPORT_PATH = "/webchat/sessions/{user}/export"  # a copy of one's data (the export route)
LOG_LIMIT = 500
SESSION = declare("webchat:session:{session}", owner=Owner.CONVERSATION,
                  expiry="the retention period, renewed on use", erasure=Erasure.EXPIRES,
                  note="the session's opening language and creation time")
LOG = declare("conv:{conversation}:log", owner=Owner.CONVERSATION, expiry="the retention period",
              erasure=Erasure.WITH_CONVERSATION, note="what was sent to the session, numbered")
SEQ = declare("conv:{conversation}:seq", owner=Owner.CONVERSATION, expiry="the retention period",
              erasure=Erasure.WITH_CONVERSATION)

class WebchatStore:
    """Sessions and their numbered message logs in Redis. An entry's number is not stored in
    it: the session's counter says how many entries were ever added and the log keeps the
    latest, so the numbers follow from the two, read together (`since`). Appending is then
    plain commands, sent with the rest of a turn's writes."""

    def __init__(self, *, redis: StrRedis, keys: Keys, clock: Clock,
                 retention_seconds: int) -> None:
        self.redis = redis
        self.keys = keys
        self.clock = clock
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
                      mapping={"created": int(self.clock().timestamp()),
                               "language": language or ""})
            pipe.expire(self._session_key(session), idle_seconds)
            await pipe.execute()
        return session

    def session_read(self, session: str) -> Command:
        return ("HGETALL", self._session_key(session))

    @staticmethod
    def session_language(record: dict[str, str]) -> str | None:
        """The language a session was opened with ("" for none); None: no such session."""
        return (record.get("language") or "") if record else None

    async def language(self, session: str) -> str | None:
        """The language the session was opened with; None if the session does not exist."""
        if not SESSION_ID.match(session):
            return None
        return self.session_language(await self.redis.hgetall(self._session_key(session)))

    def append_writes(self, session: str, replies: Sequence[Reply],
                      keep: bool = False) -> list[Command]:
        """Add the replies to the session's log; with `keep`, the session was used: it now
        lasts the retention period."""
        commands: list[Command] = [("EXPIRE", self._session_key(session), self.retention)] \
            if keep else []
        if not replies:
            return commands
        now = int(self.clock().timestamp())
        entries = [json_codec.dumps({"ts": now, **reply.to_json()}) for reply in replies]
        log, seq = self._log_key(session), self._seq_key(session)
        return [*commands, ("INCRBY", seq, len(entries)), ("RPUSH", log, *entries),
                ("LTRIM", log, -LOG_LIMIT, -1), ("EXPIRE", log, self.retention),
                ("EXPIRE", seq, self.retention)]

    async def append(self, session: str, replies: Sequence[Reply]) -> None:
        await batch.run(self.redis, self.append_writes(session, replies))

    async def erase(self, session: str) -> None:
        await self.redis.delete(self._session_key(session), self._log_key(session),
                                self._seq_key(session))

    async def export(self, conversation: str) -> Section | None:
        """What was sent to a web chat session (the bot's replies, a coach's messages,
        reminders), for a copy of the person's data; None for another channel's conversation.
        Kept until the retention period after the last entry."""
        channel, _, session = conversation.partition(":")
        if channel != CHANNEL:
            return None
        raw = await self.redis.lrange(self._log_key(session), 0, -1)
        entries = [json_codec.loads(entry) for entry in raw]
        items: list[Record] = [{"at": iso(float(e["ts"])), "text": str(e.get("text", ""))}
                               for e in entries]
        kept = float(entries[-1]["ts"]) + self.retention if entries else None
        return Section(CHAT_LOG, items, kept)

    async def since(self, session: str, after: int) -> list[dict[str, Any]]:
        """The log's entries numbered above `after` (the first entry ever added is 1)."""
        raw, total = await batch.run(self.redis, [("LRANGE", self._log_key(session), 0, -1),
                                                  ("GET", self._seq_key(session))])
        first = int(total or 0) - len(raw) + 1
        entries = ({**json_codec.loads(entry), "seq": first + i} for i, entry in enumerate(raw))
        return [entry for entry in entries if entry["seq"] > after]


class UnknownSession(Exception):
    """The session in the URL does not exist (expired, or never made)."""


class OverAddressLimit(Exception):
    """The client's address sent more messages this minute than it may."""


class WebchatTurn:
    """The web chat's part of a turn (bot.core.dialogue.ChannelTurn): the session record and the
    address's message count are read with the conversation, and the session's log is written
    with it, so a message costs the engine's two Redis round trips and no more."""

    def __init__(self, store: WebchatStore, limits: Limits, session: str,
                 address: str | None, limit: int) -> None:
        self.store, self.limits, self.session = store, limits, session
        self.address, self.limit = address, limit

    def reads(self) -> list[Command]:
        session = self.store.session_read(self.session)
        if self.address is None:
            return [session]
        return [session, self.limits.used_read("messages", self.address, 60)]

    def loaded(self, message: IncomingMessage, replies: list[Any]) -> IncomingMessage:
        hint = self.store.session_language(batch.as_hash(replies[0]))
        if hint is None:
            raise UnknownSession
        if self.address is not None and int(replies[1] or 0) >= self.limit:
            raise OverAddressLimit
        return Channel.with_fields(message, language_hint=hint or None,
                                   language_chosen=bool(hint))

    def writes(self, outcome: Outcome) -> list[Command]:
        commands = self.limits.hit_writes("messages", self.address, 60) \
            if self.address is not None else []
        if outcome.fallback not in ("too_long", "rate_limited") and not outcome.erased:
            commands += self.store.append_writes(self.session, outcome.replies, keep=True)
        return commands


class WebchatChannel(Channel):
    name = CHANNEL
    # A session ends with the browser tab, so nobody can be reached here later (no notices).
    # The city's posted notices are shown on the page, above the chat (GET /webchat/notices).
    capabilities = Capabilities(buttons=True, max_reply_chars=4000, reachable_later=False,
                                notices_in_page=True, download_link=EXPORT_PATH)

    def __init__(self, context: ChannelContext) -> None:
        super().__init__(context)
        self.engine = context.engine
        self.store = WebchatStore(redis=context.redis, keys=context.keys, clock=context.clock,
                                  retention_seconds=context.settings.retention_seconds)
        self.languages = context.engine.languages
        self.content = context.engine.content
        settings = context.settings
        self.settings = settings
        self.limits = Limits(redis=context.redis, keys=context.keys, clock=context.clock)
        self.addresses = ClientAddresses(settings.trusted_proxies, settings.limit_exempt)

    def _address(self, request: web.Request) -> str | None:
        """The client's address for per-address limits (None when exempt)."""
        address = self.addresses.of(request)
        if address is None or self.addresses.exempt(address):
            return None
        return str(address)

    async def _limited(self, request: web.Request, name: str, limit: int) -> str | None:
        """The client's address for per-address limits (None when exempt); a 429 over one."""
        address = self._address(request)
        if address is None:
            return None
        verdict = await self.limits.hit(name, address, limit, 60)
        if verdict.over:
            raise self._too_many(name, verdict.retry_after)
        return address

    @staticmethod
    def _too_many(name: str, retry_after: int) -> web.HTTPException:
        return too_many(f"Too many {name} from your address; try again in "
                        f"{retry_after} seconds.", retry_after)

    def routes(self) -> list[web.AbstractRouteDef]:
        return [
            web.post("/webchat/sessions", self.create_session),
            web.post("/webchat/sessions/{session}/messages", self.post_message),
            web.get("/webchat/sessions/{session}/messages", self.get_messages),
            web.get("/webchat/sessions/{session}/export", self.export),
            web.get("/webchat/languages", self.list_languages),
            web.get("/", self.page),
            web.static("/static", STATIC_DIR),
            widget_route(self.content, self.languages),
            notices_route(self.engine),
        ]

    @classmethod
    async def erase(cls, stores: StoreContext, session: str) -> None:
        await WebchatStore(redis=stores.redis, keys=stores.keys, clock=stores.clock,
                           retention_seconds=stores.settings.retention_seconds).erase(session)

    async def deliver(self, session: str, replies: Sequence[Reply]) -> None:
        """Messages sent outside a request (coach replies, reminders) join the session's log."""
        await self.store.append(session, replies)

    async def create_session(self, request: web.Request) -> web.Response:
        body = await json_object(request, allow_empty=True)
        language = body.get("language")
        if language is not None and not (isinstance(language, str)
                                         and self.languages.is_enabled(language)):
            raise bad_request(f"Unsupported language {language!r}; "
                              f"use one of {', '.join(self.languages.enabled)}.")
        await self._limited(request, "sessions", self.settings.limit_sessions_per_minute)
        session = await self.store.create(language, self.settings.idle_session_minutes * 60)
        return web.json_response({"session": session}, status=201)

    async def post_message(self, request: web.Request) -> web.Response:
        session = request.match_info["session"]
        if not SESSION_ID.match(session):
            return _unknown_session()
        body = await json_object(request)
        text, payload = body.get("text"), body.get("payload")
        if text is None and payload is None:
            raise bad_request('Send {"text": "..."} or {"payload": "..."}.')
        if (text is not None and not isinstance(text, str)) or (
                payload is not None and not isinstance(payload, str)):
            raise bad_request('"text" and "payload" must be strings.')
        if payload is not None and len(payload) > 64:
            raise bad_request('"payload" is at most 64 characters.')
        address, limit = self._address(request), self.settings.limit_messages_per_minute
        message = self.message(session, text=text or "", payload=payload or None,
                               client_address=address)
        try:
            outcome = await self.engine.handle(
                message, WebchatTurn(self.store, self.limits, session, address, limit))
        except UnknownSession:
            return _unknown_session()
        except OverAddressLimit:
            verdict = await self.limits.hit("messages", str(address), limit, 60)
            raise self._too_many("messages", verdict.retry_after) from None
        if outcome.fallback == "rate_limited":
            said = outcome.replies[0].text if outcome.replies else \
                "Too many messages; wait a minute and try again."
            raise too_many(said, 60)
        direction = self.languages.languages[outcome.language].direction
        return web.Response(body=json_codec.dumps_bytes(
            {"replies": [r.to_json() for r in outcome.replies], "language": outcome.language,
             "direction": direction}), content_type="application/json")

    async def get_messages(self, request: web.Request) -> web.Response:
        session = request.match_info["session"]
        if await self.store.language(session) is None:
            return _unknown_session()
        after = whole_number(request.query.get("after", "0"), "after")
        messages = await self.store.since(session, after)
        return web.json_response({"messages": messages})

    async def export(self, request: web.Request) -> web.Response:
        """A copy of what Lotsen keeps about this session (bot/core/access/): JSON to download,
        or `?format=html` a page to read. Only the session in the URL: an unknown one is 404."""
        session = request.match_info["session"]
        language = await self.store.language(session)
        access = access_of(self.engine.flows)
        if language is None or access is None:
            return _unknown_session()
        wanted = request.query.get("format", "json")
        if wanted not in ("json", "html"):
            raise bad_request('"format" must be json or html.')
        conversation = f"{CHANNEL}:{session}"
        data = await access.collect(conversation, await access.language_of(
            conversation, fallback=language or None))
        if wanted == "html":
            return web.Response(text=html_page(data, self.content), content_type="text/html")
        return web.Response(body=json_bytes(data), content_type="application/json", headers={
            "Content-Disposition": f'attachment; filename="{filename(data, "json")}"'})

    async def list_languages(self, request: web.Request) -> web.Response:
        return web.json_response({"default": self.languages.default, "languages": [
            {"code": code, "name": self.languages.languages[code].native,
             "direction": self.languages.languages[code].direction,
             "ui": self.content.ui_labels(code)}
            for code in self.languages.enabled]})

    async def page(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC_DIR / "index.html")


def _unknown_session() -> web.Response:
    return error(404, "Unknown chat session. Start a new one with POST /webchat/sessions.")
