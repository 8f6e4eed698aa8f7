"""Telegram with python-telegram-bot v22: the webhook (secret-token header, constant-time
compare), polling for local use, and the sender the worker runs for the outbox.

Inline keyboards carry button payloads as callback data (at most 64 bytes; longer payloads are
stored in Redis behind a short key). `/start <source>` records the campaign source (poster,
school, open preschool, or `c-<id>` from a campaign message's link); `/language`, `/help` and
`/stop` work as in every channel. Campaigns reach people through `TelegramReach`. A copy of
one's data (`data_access`) comes as a document in the chat (`DataCopySender`, sendDocument).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import logging
import re
from collections.abc import Mapping
from typing import ClassVar

from aiohttp import web
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import TelegramError

from bot.core.access.collect import Access
from bot.core.access.flow import access_of, document_job
from bot.core.access.render import filename, html_page
from bot.core.content import Content
from bot.core.jobs import (
    GiveUp,
    Job,
    JobHandler,
    NewJob,
    int_field,
    object_field,
    text_field,
)
from bot.core.keys import Erasure, Keys, Owner, declare
from bot.core.messages import Capabilities, Reply
from bot.core.outreach.campaigns import DEEP_LINK
from bot.core.outreach.reach import Reach, Sent, Unreachable
from bot.core.payloads import HELP, intent
from bot.core.redis_types import StrRedis
from bot.http import bad_request, check_text, error, json_object
from connectors.base import BackgroundTask, ChannelContext
from connectors.inbox import Delivery
from connectors.optout import OptOuts
from connectors.outbox import send_job
from connectors.push import PushChannel
from connectors.send_limits import Pacer, paced_rate
from connectors.telegram_errors import Blocked, telegram_outcome

log = logging.getLogger("lotsen.telegram")
CHANNEL = "telegram"
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
CALLBACK_LIMIT = 64
SOURCE = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
# Telegram's own commands and the payloads they stand for.
COMMANDS = {"/language": intent("change_language"), "/help": HELP, "/menu": HELP}
ANSWER_CALLBACK_JOB = "telegram_answer_callback"
LEAVE_GROUP_JOB = "telegram_leave_group"  # {"chat", "language"}: the refusal, then leaveChat
REFUSAL_SENT = "refusal_sent"  # the leave job's first step
GROUP_REFUSED_SECONDS = 600  # longer than the leave job's retries and Telegram's redeliveries
CALLBACK = declare("tg:cb:{digest}", owner=Owner.SYSTEM, expiry="30 days",
                   erasure=Erasure.NOT_PERSONAL,
                   note="a button payload over 64 bytes behind short callback data: slot ids and "
                        "the like, the same for everyone (codes and choices fit in 64 bytes)")
GROUP_REFUSED = declare("tg:group:{chat}:refused", owner=Owner.SYSTEM, expiry="10 minutes",
                        erasure=Erasure.EXPIRES,
                        note="a group chat being refused and left (its chat id, never a "
                             "member's): one refusal however many members write at once")


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


def check_update(data: dict[str, object]) -> None:
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

    def __init__(self, *, redis: StrRedis, keys: Keys) -> None:
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
    capabilities = Capabilities(buttons=True, max_reply_chars=4096, documents=True)

    def __init__(self, context: ChannelContext) -> None:
        super().__init__(context)
        settings = context.settings
        self.bot = make_bot(settings.telegram_token, settings.telegram_api_url) \
            if settings.telegram_token else None
        self.secret = settings.telegram_webhook_secret
        self.callbacks = CallbackData(redis=context.redis, keys=context.keys)
        self.jobs_queue = context.jobs

    def routes(self) -> list[web.AbstractRouteDef]:
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
        leaving = GroupLeaver(sender, self.context.engine.content)
        handlers: dict[str, JobHandler] = {
            send_job(CHANNEL): sender.send, ANSWER_CALLBACK_JOB: sender.answer_callback,
            LEAVE_GROUP_JOB: leaving.leave}
        access = access_of(self.context.engine.flows)
        if access is not None:  # a copy of one's data, as a document in the chat
            handlers[document_job(CHANNEL)] = DataCopySender(
                sender, access, self.context.engine.content).send
        return handlers

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
                                    lambda delivery: self._process(data, delivery))
        return web.json_response({"ok": True} if processed else {"ok": True, "duplicate": True})

    async def process(self, data: dict[str, object]) -> str:
        """One update from polling: checked, then processed."""
        check_update(data)
        return await self._process(data, None)

    async def _process(self, data: dict[str, object], delivery: Delivery | None) -> str:
        """One update already checked (`check_update`), from the webhook or from polling."""
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
            refused = await self._refuse_group(message.chat.id, hint, delivery)
            return "group_refused" if refused else "group_already_refused"
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
                            delivery: Delivery | None) -> bool:
        """Groups would mix several people in one conversation: say once, politely, that the
        bot talks only in private chats, and leave. One refusal per group: the first message
        sets the group's marker and queues the job; members writing meanwhile find the marker
        and add nothing. Nothing is stored about the group's members. False: refused already."""
        marker = self.context.keys(GROUP_REFUSED, chat=chat_id)
        languages = self.context.engine.languages
        language = hint if languages.is_enabled(hint) else languages.default
        if not await self.context.redis.set(marker, 1, nx=True, ex=GROUP_REFUSED_SECONDS):
            return False
        try:
            await self.jobs_queue.schedule_many(
                [NewJob(LEAVE_GROUP_JOB, {"chat": chat_id, "language": language},
                        due=self.jobs_queue.clock().timestamp())],
                also=delivery.mark_done if delivery else None)
        except BaseException:
            await self.context.redis.delete(marker)  # not queued: the provider's retry will
            raise
        return True

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
        self.overall = overall_per_second
        self.per_chat = chat_per_second
        self._ready = False

    async def ready_bot(self) -> Bot:
        if not self._ready:
            await self.bot.initialize()
            self._ready = True
        return self.bot

    async def within_limits(self, chat: str) -> None:
        """Wait for a slot within Telegram's limits (overall and this chat), or `RetryLater`."""
        # The per-chat scope names a digest of the chat, never the chat id itself.
        per_chat = f"{CHANNEL}:chat:{hashlib.sha256(chat.encode()).hexdigest()[:16]}"
        await self.pacer.wait_turn([(CHANNEL, self.overall), (per_chat, self.per_chat)])

    async def send(self, job: Job) -> None:
        """The outbox job: {"to", "reply", "force"}."""
        chat = text_field(job.payload, "to")
        if not job.payload.get("force") and await self.optouts.opted_out(f"{CHANNEL}:{chat}"):
            return  # opted out: nothing is sent, not even broadcasts
        reply = Reply.from_json(object_field(job.payload, "reply"))
        markup = None
        if reply.buttons:
            markup = InlineKeyboardMarkup([[InlineKeyboardButton(
                b.title, callback_data=await self.callbacks.encode(b.payload))]
                for b in reply.buttons])
        bot = await self.ready_bot()  # all before the slot: nothing may delay the send after it
        await self.within_limits(chat)
        try:
            with telegram_outcome("sendMessage"):
                await bot.send_message(chat_id=int(chat), text=reply.text, reply_markup=markup)
        except Blocked:
            await self.optouts.opt_out(f"{CHANNEL}:{chat}")  # the person blocked the bot

    async def answer_callback(self, job: Job) -> None:
        """Stops the button's spinner: {"id"}. Too old to answer, or blocked: nothing to do."""
        bot = await self.ready_bot()
        with contextlib.suppress(GiveUp), telegram_outcome("answerCallbackQuery"):
            await bot.answer_callback_query(text_field(job.payload, "id"))


class DataCopySender:
    """The job that sends a person a copy of their data (bot/core/access/) as a document in
    their chat: the readable page, made when it is sent, via sendDocument (multipart upload)."""

    def __init__(self, sender: TelegramSender, access: Access, content: Content) -> None:
        self.sender = sender
        self.access = access
        self.content = content

    async def send(self, job: Job) -> None:
        """{"to": chat, "language"}. Nothing for a chat that said STOP; blocked: opted out."""
        chat = text_field(job.payload, "to")
        conversation = f"{CHANNEL}:{chat}"
        if await self.sender.optouts.opted_out(conversation):
            return
        data = await self.access.collect(conversation, text_field(job.payload, "language"))
        page = html_page(data, self.content).encode()
        caption = self.content.text("access_document_caption", data.language)
        bot = await self.sender.ready_bot()
        await self.sender.within_limits(chat)
        try:
            with telegram_outcome("sendDocument"):
                await bot.send_document(chat_id=int(chat), document=page, caption=caption,
                                        filename=filename(data, "html"))
        except Blocked:
            await self.sender.optouts.opt_out(conversation)


class GroupLeaver:
    """The job that refuses a group and leaves it, in two steps: the refusal is saved as sent
    with the job (`Job.steps`), so when leaveChat fails and the job runs again, the group does
    not get the refusal twice."""

    def __init__(self, sender: TelegramSender, content: Content) -> None:
        self.sender = sender
        self.content = content

    async def leave(self, job: Job) -> None:
        chat = int_field(job.payload, "chat")
        bot = await self.sender.ready_bot()

        async def refuse() -> None:
            link = f"https://t.me/{bot.username}" if bot.username else ""
            text = self.content.text("group_refused", text_field(job.payload, "language"),
                                     link=link)
            await self.sender.within_limits(str(chat))
            with contextlib.suppress(Blocked), telegram_outcome("sendMessage"):
                await bot.send_message(chat_id=chat, text=text)

        await job.steps.run(REFUSAL_SENT, refuse)
        with contextlib.suppress(Blocked), telegram_outcome("leaveChat"):  # Blocked: gone
            await bot.leave_chat(chat_id=chat)


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
        # The pace campaign jobs are released at: their sends' slots (send_limits.spacing).
        self.per_second = paced_rate(float(telegram.context.settings.telegram_rate_per_second))

    @property
    def available(self) -> bool:
        return self.telegram.bot is not None

    def address(self, raw: str) -> str:
        if not re.fullmatch(r"[1-9][0-9]{0,14}", raw):
            raise ValueError(f"{raw!r} is not a Telegram chat id (a positive number)")
        return raw

    async def opted_out(self, user_id: str) -> bool:
        return await self.telegram.optouts.opted_out(f"{CHANNEL}:{user_id}")

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
            with telegram_outcome("sendMessage"):
                message = await bot.send_message(chat_id=int(user_id), text=text)
        except Blocked as exc:
            await self.telegram.optouts.opt_out(f"{CHANNEL}:{user_id}")  # blocked the bot
            raise Unreachable("blocked") from exc
        return Sent(str(message.message_id), delivered=True)
