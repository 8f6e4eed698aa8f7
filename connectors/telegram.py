"""Telegram with python-telegram-bot v22: the webhook (secret-token header, constant-time
compare), polling for local use, and the sender the worker runs for the outbox.

Inline keyboards carry button payloads as callback data (at most 64 bytes; longer payloads are
stored in Redis behind a short key). `/start <source>` records the campaign source (poster,
school, open preschool, or `c-<id>` from a campaign message's link); `/language`, `/help` and
`/stop` work as in every channel. Campaigns reach people through `TelegramReach`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import re
from collections.abc import Awaitable, Mapping
from typing import Any, ClassVar

from aiohttp import web
from redis.asyncio import Redis
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, Forbidden, RetryAfter, TelegramError

from bot.core.jobs import GiveUp, JobHandler, NewJob, RetryLater
from bot.core.keys import Erasure, Keys, Owner, declare
from bot.core.messages import Capabilities, Reply
from bot.core.outreach.campaigns import DEEP_LINK
from bot.core.outreach.reach import Reach, Sent, Unreachable
from bot.core.payloads import HELP, intent
from bot.http import bad_request, check_text, error, json_object
from connectors.base import BackgroundTask, ChannelContext
from connectors.inbox import Delivery
from connectors.optout import OptOuts
from connectors.outbox import send_job
from connectors.push import PushChannel
from connectors.send_limits import Pacer

log = logging.getLogger("lotsen.telegram")
CHANNEL = "telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
CALLBACK_LIMIT = 64
# Sends are paced at 95 % of Telegram's limits: the margin absorbs the jitter between a reserved
# slot and the moment the request reaches Telegram, so no second there holds more than the limit.
PACE_HEADROOM = 0.95
SOURCE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# Telegram's own commands and the payloads they stand for.
COMMANDS = {"/language": intent("change_language"), "/help": HELP, "/menu": HELP}
ANSWER_CALLBACK_JOB = "telegram_answer_callback"
LEAVE_GROUP_JOB = "telegram_leave_group"
CALLBACK = declare("tg:cb:{digest}", owner=Owner.SYSTEM, expiry="30 days",
                   erasure=Erasure.NOT_PERSONAL,
                   note="a button payload over 64 bytes behind short callback data: slot ids and "
                        "the like, the same for everyone (codes and choices fit in 64 bytes)")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_chat_message(message: object, where: str) -> None:
    if not isinstance(message, dict):
        raise bad_request(f"Malformed Telegram update: {where} must be an object.")
    chat = message.get("chat")
    if not isinstance(chat, dict) or not _is_int(chat.get("id")) or not isinstance(
            chat.get("type"), str):
        raise bad_request(f"Malformed Telegram update: {where}.chat needs an integer id "
                          "and a type.")
    for field in ("text", "caption"):
        if field in message and not isinstance(message[field], str):
            raise bad_request(f"Malformed Telegram update: {where}.{field} must be text.")
        if isinstance(message.get(field), str):
            check_text(message[field])
    _check_user(message.get("from"), f"{where}.from", required=False)


def _check_user(user: object, where: str, *, required: bool) -> None:
    if user is None and not required:
        return
    if not isinstance(user, dict) or not _is_int(user.get("id")):
        raise bad_request(f"Malformed Telegram update: {where} needs an integer id.")
    if "language_code" in user and not isinstance(user["language_code"], str):
        raise bad_request(f"Malformed Telegram update: {where}.language_code must be text.")


def check_update(data: dict[str, Any]) -> None:
    """Check the parts of an update Lotsen reads, before anything is stored or queued."""
    if not _is_int(data.get("update_id")):
        raise bad_request("Not a Telegram update: no integer update_id.")
    if "message" in data:
        _check_chat_message(data["message"], "message")
    if "callback_query" in data:
        query = data["callback_query"]
        if not isinstance(query, dict) or not isinstance(query.get("id"), str):
            raise bad_request("Malformed Telegram update: callback_query needs a text id.")
        _check_user(query.get("from"), "callback_query.from", required=True)
        if "data" in query and not isinstance(query["data"], str):
            raise bad_request("Malformed Telegram update: callback_query.data must be text.")
        if "message" in query:
            _check_chat_message(query["message"], "callback_query.message")


def make_bot(token: str, api_url: str) -> Bot:
    return Bot(token, base_url=f"{api_url.rstrip('/')}/bot")


class CallbackData:
    """Button payloads as Telegram callback data, within its 64-byte limit."""

    def __init__(self, redis: Redis, keys: Keys) -> None:
        self.redis = redis
        self.keys = keys

    async def encode(self, payload: str) -> str:
        if len(payload.encode()) <= CALLBACK_LIMIT:
            return payload
        short = "#" + hashlib.sha1(payload.encode()).hexdigest()[:20]
        await self.redis.set(self.keys(CALLBACK, digest=short), payload, ex=30 * 24 * 3600)
        return short

    async def decode(self, data: str) -> str | None:
        if not data.startswith("#"):
            return data
        return await self.redis.get(self.keys(CALLBACK, digest=data))


class TelegramChannel(PushChannel):
    name = CHANNEL
    capabilities = Capabilities(buttons=True, max_reply_chars=4096)

    def __init__(self, context: ChannelContext) -> None:
        super().__init__(context)
        settings = context.settings
        self.bot = make_bot(settings.telegram_token, settings.telegram_api_url) \
            if settings.telegram_token else None
        self.secret = settings.telegram_webhook_secret
        self.callbacks = CallbackData(context.redis, context.keys)
        self.jobs_queue = context.jobs

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/telegram/webhook", self.webhook)]

    def background(self) -> list[BackgroundTask]:
        """Polling, when there is a token but no public URL for a webhook (local use)."""
        if self.bot is None or self.context.settings.public_url:
            return []
        return [self.poll]

    def sender(self) -> TelegramSender:
        assert self.bot is not None
        settings = self.context.settings
        return TelegramSender(self.bot, self.pacer, self.optouts, self.callbacks,
                              settings.telegram_rate_per_second,
                              settings.telegram_chat_rate_per_second)

    def reach(self) -> TelegramReach:
        return TelegramReach(self)

    def jobs(self) -> dict[str, JobHandler]:
        if self.bot is None:
            return {}
        sender = self.sender()
        content = self.context.engine.content

        async def leave_group(args: dict[str, Any]) -> None:
            bot = await sender.ready_bot()
            link = f"https://t.me/{bot.username}" if bot.username else ""
            text = content.text("group_refused", str(args["language"]), link=link)
            await sender.call(bot.send_message(chat_id=int(args["chat"]), text=text))
            await sender.call(bot.leave_chat(chat_id=int(args["chat"])))

        return {send_job(CHANNEL): sender.send, ANSWER_CALLBACK_JOB: sender.answer_callback,
                LEAVE_GROUP_JOB: leave_group}

    async def webhook(self, request: web.Request) -> web.Response:
        if not self.secret or self.bot is None:
            return error(503, "Telegram is not configured (LOTSEN_TELEGRAM_TOKEN and "
                              "LOTSEN_TELEGRAM_WEBHOOK_SECRET).")
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            return error(403, "Wrong or missing secret token.")
        data = await json_object(request)
        check_update(data)
        processed = await self.once(CHANNEL, str(data["update_id"]),
                                    lambda delivery: self.process(data, delivery))
        return web.json_response({"ok": True} if processed else {"ok": True, "duplicate": True})

    async def process(self, data: dict[str, Any], delivery: Delivery | None = None) -> str:
        """One checked update (from the webhook or from polling)."""
        check_update(data)
        try:
            update = Update.de_json(data, self.bot)
        except Exception as exc:  # python-telegram-bot's parsers raise many kinds
            raise bad_request(f"Malformed Telegram update: {type(exc).__name__}") from None
        if update.callback_query is not None:
            return await self._callback(update, delivery)
        message = update.message
        if message is None or message.chat is None:
            return "ignored"
        user = message.from_user
        hint = user.language_code[:2] if user and user.language_code else None
        if message.chat.type != "private":
            await self._refuse_group(message.chat.id, hint, delivery)
            return "group_refused"
        incoming = self.message(str(message.chat.id), language_hint=hint)
        if not message.text:
            await self.inbox.reply(incoming, "non_text", delivery)
            return "non_text"
        text = message.text.strip()
        if not text.startswith("/"):
            return await self.inbox.handle(self.with_fields(incoming, text=text), delivery)
        command, _, argument = text.partition(" ")
        command = command.split("@")[0].lower()
        if command == "/start":
            source = argument.strip()
            incoming = self.with_fields(incoming, payload=intent("greet"),
                                        source=source if SOURCE.match(source) else None)
        elif command == "/stop":
            incoming = self.with_fields(incoming, text="stop")
        else:
            incoming = self.with_fields(incoming, payload=COMMANDS.get(command, HELP))
        return await self.inbox.handle(incoming, delivery)

    async def _refuse_group(self, chat_id: int, hint: str | None,
                            delivery: Delivery | None) -> None:
        """Groups would mix several people in one conversation: say once, politely, that the
        bot talks only in private chats, and leave. Nothing is stored for the group."""
        language = hint if self.context.engine.languages.is_enabled(hint) else \
            self.context.engine.languages.default
        await self.jobs_queue.schedule_many(
            [NewJob(LEAVE_GROUP_JOB, {"chat": chat_id, "language": language},
                    due=self.jobs_queue.clock().timestamp())],
            also=delivery.mark_done if delivery else None)

    async def _callback(self, update: Update, delivery: Delivery | None) -> str:
        query = update.callback_query
        assert query is not None
        await self.jobs_queue.schedule(ANSWER_CALLBACK_JOB, {"id": query.id}, due=0)
        chat = query.message.chat if query.message is not None else None
        if chat is None or chat.type != "private" or not query.data:
            return "ignored"
        payload = await self.callbacks.decode(query.data)
        if payload is None:
            payload = HELP  # an old button whose long payload has expired
        hint = query.from_user.language_code[:2] if query.from_user.language_code else None
        return await self.inbox.handle(self.message(str(chat.id), payload=payload,
                                                    language_hint=hint), delivery)

    async def poll(self, stop: asyncio.Event) -> None:
        """Long-poll getUpdates (local use, when there is no public webhook URL)."""
        assert self.bot is not None
        offset = 0
        log.info("telegram_polling")
        with contextlib.suppress(TelegramError):
            await self.bot.delete_webhook()
        while not stop.is_set():
            try:
                updates = await self.bot.get_updates(offset=offset, timeout=20,
                                                     allowed_updates=["message",
                                                                      "callback_query"])
            except TelegramError as exc:
                log.warning("telegram_poll_failed", extra={"detail": type(exc).__name__})
                await asyncio.sleep(3)
                continue
            for update in updates:
                offset = update.update_id + 1
                try:
                    await self.process(update.to_dict())
                except Exception:
                    log.exception("telegram_update_failed")


class TelegramSender:
    """The worker's side: one outbox job = one sendMessage, within Telegram's limits."""

    def __init__(self, bot: Bot, pacer: Pacer, optouts: OptOuts, callbacks: CallbackData,
                 overall_per_second: float, chat_per_second: float) -> None:
        self.bot = bot
        self.pacer = pacer
        self.optouts = optouts
        self.callbacks = callbacks
        self.overall = overall_per_second * PACE_HEADROOM
        self.per_chat = chat_per_second * PACE_HEADROOM
        self._ready = False

    async def ready_bot(self) -> Bot:
        if not self._ready:
            await self.bot.initialize()
            self._ready = True
        return self.bot

    async def call(self, request: Awaitable[object]) -> None:
        """One Bot API call with Telegram's errors mapped to the job queue's."""
        try:
            await request
        except RetryAfter as exc:
            raise RetryLater(_seconds(exc.retry_after), reason="telegram retry_after") from exc
        except Forbidden:
            return  # blocked, or no longer in the chat: nothing more to do
        except BadRequest as exc:
            raise GiveUp(f"telegram refused the call: {exc.message}") from exc

    async def within_limits(self, chat: str) -> None:
        """Wait for a slot within Telegram's limits (overall and this chat), or `RetryLater`."""
        # The per-chat scope names a digest of the chat, never the chat id itself.
        per_chat = f"{CHANNEL}:chat:{hashlib.sha256(chat.encode()).hexdigest()[:16]}"
        await self.pacer.wait_turn([(CHANNEL, self.overall), (per_chat, self.per_chat)])

    async def send(self, args: dict[str, Any]) -> None:
        chat = str(args["to"])
        if not args.get("force") and await self.optouts.opted_out(f"{CHANNEL}:{chat}"):
            return  # opted out: nothing is sent, not even broadcasts
        reply = Reply.from_json(args["reply"])
        markup = None
        if reply.buttons:
            markup = InlineKeyboardMarkup([[InlineKeyboardButton(
                b.title, callback_data=await self.callbacks.encode(b.payload))]
                for b in reply.buttons])
        bot = await self.ready_bot()  # all before the slot: nothing may delay the send after it
        await self.within_limits(chat)
        try:
            await bot.send_message(chat_id=int(chat), text=reply.text, reply_markup=markup)
        except RetryAfter as exc:
            raise RetryLater(_seconds(exc.retry_after), reason="telegram retry_after") from exc
        except Forbidden:
            await self.optouts.opt_out(f"{CHANNEL}:{chat}")  # the person blocked the bot
        except BadRequest as exc:
            raise GiveUp(f"telegram refused the message: {exc.message}") from exc

    async def answer_callback(self, args: dict[str, Any]) -> None:
        bot = await self.ready_bot()
        try:
            await bot.answer_callback_query(args["id"])
        except RetryAfter as exc:
            raise RetryLater(_seconds(exc.retry_after)) from exc
        except BadRequest:
            return  # too old to answer: nothing to do


class TelegramReach(Reach):
    """Campaigns on Telegram: free messages (no quiet hours), each with the bot's deep link
    `https://t.me/<bot>?start=c-<campaign>`; opening it counts as a reply to the campaign.
    The Bot API answers only once the message is in the chat, so an accepted message counts
    as delivered."""

    channel = CHANNEL
    import_names: ClassVar[Mapping[str, str]] = {CHANNEL: ""}

    def __init__(self, telegram: TelegramChannel) -> None:
        self.telegram = telegram
        self._sender: TelegramSender | None = None

    @property
    def available(self) -> bool:
        return self.telegram.bot is not None

    def address(self, raw: str) -> str:
        if not re.fullmatch(r"[1-9][0-9]{0,14}", raw):
            raise ValueError(f"{raw!r} is not a Telegram chat id (a positive number)")
        return raw

    async def opted_out(self, user_id: str) -> bool:
        return await self.telegram.optouts.opted_out(f"{CHANNEL}:{user_id}")

    @property
    def per_second(self) -> float:
        return float(self.telegram.context.settings.telegram_rate_per_second) * PACE_HEADROOM

    def _the_sender(self) -> TelegramSender:
        if self._sender is None:
            self._sender = self.telegram.sender()
        return self._sender

    async def wait_turn(self, user_id: str) -> None:
        await self._the_sender().ready_bot()  # before the slot: getMe must not delay the send
        await self._the_sender().within_limits(user_id)

    async def send(self, user_id: str, text: str, campaign: str) -> Sent:
        bot = await self._the_sender().ready_bot()
        if bot.username:
            text = f"{text}\n\nhttps://t.me/{bot.username}?start={DEEP_LINK}{campaign}"
        try:
            message = await bot.send_message(chat_id=int(user_id), text=text)
        except RetryAfter as exc:
            raise RetryLater(_seconds(exc.retry_after), reason="telegram retry_after") from exc
        except Forbidden as exc:
            await self.telegram.optouts.opt_out(f"{CHANNEL}:{user_id}")  # blocked the bot
            raise Unreachable("blocked") from exc
        except BadRequest as exc:
            raise GiveUp(f"telegram refused the message: {exc.message}") from exc
        return Sent(str(message.message_id), delivered=True)


def _seconds(value: object) -> float:
    total = getattr(value, "total_seconds", None)
    return float(total()) if callable(total) else float(value)  # type: ignore[arg-type]
