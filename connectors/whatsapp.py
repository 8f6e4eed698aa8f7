"""WhatsApp through Meta's Cloud API: the webhook (verification, then every call signed with
`X-Hub-Signature-256` and checked in constant time over the raw body before anything is read or
stored), and the sender the worker runs for the outbox.

The wire format is the documented JSON, sent with the gateway's own aiohttp session (no client
library: pywa, the Python one, sends through its own httpx client and parses updates into
objects bound to that client, while every message here leaves through the outbox, the pacer
and the job queue, as Telegram's do; the few shapes Lotsen reads are checked by `check_payload`
as Telegram's updates are).

The 24-hour window: WhatsApp lets a business write freely only within 24 hours of the person's
last message. Each inbound message opens it (`Windows`, a key that expires with it). A message
the bot writes on its own (`Reply.purpose`: a reminder, a coach's reply, a notice, a campaign)
goes free-form while the window is open, and outside it as its kind's approved template in the
person's language, or the configured fallback (connectors/whatsapp_templates.py,
config/whatsapp.yml). Answers to the person's own message are free-form: they just wrote. When
the API refuses a free-form message as outside the window (131047, in its answer or in a later
`failed` status), the same message is sent once as its template: what a re-send needs is kept
per WhatsApp message id for two days (`SentMessages`, the outbox job's fields and no more).

Campaigns (`WhatsAppReach`): every campaign message goes as the `campaign` kind's approved
marketing template in the language of its text (Somali and Tigrinya by the configured fallback),
paced at LOTSEN_WHATSAPP_RATE_PER_SECOND over every worker and by day only; the `delivered` and
`failed` statuses of campaign messages are counted for their campaign.

Inbound: text; reply buttons, list rows and template quick-reply buttons carry the same payloads
as web and Telegram buttons; anything else (a photo, a voice message, a location, ...) gets one
polite answer that Lotsen reads text, and nothing of it is downloaded or kept. Every inbound
message is marked read (a job). Statuses feed the delivery metrics; a failure becomes a dead
letter with its reason (connectors/whatsapp_errors.py maps every error code).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from functools import partial
from typing import ClassVar

import aiohttp
from aiohttp import web

from bot.config import Settings
from bot.core.clock import Clock
from bot.core.content import Content
from bot.core.jobs import (
    GiveUp,
    Job,
    JobHandler,
    JobQueue,
    NewJob,
    RetryLater,
    Steps,
    object_field,
    text_field,
)
from bot.core.keys import Erasure, Keys, Owner, declare
from bot.core.messages import Capabilities, Purpose, Reply
from bot.core.metrics import DELIVERY_FAILURES, DELIVERY_STATUSES
from bot.core.outreach.campaigns import CampaignStore
from bot.core.outreach.reach import Reach, Sent
from bot.core.payloads import intent
from bot.core.redis_types import StrRedis
from bot.core.store import ConversationStore
from bot.http import bad_request, check_text, error, json_object
from connectors.base import ChannelContext, StoreContext
from connectors.inbox import Delivery
from connectors.optout import OptOuts
from connectors.outbox import send_args, send_job
from connectors.push import PushChannel
from connectors.send_limits import Pacer, paced_rate
from connectors.whatsapp_errors import (
    OUTSIDE_WINDOW,
    RATE_LIMITS,
    OutsideWindow,
    TokenRejected,
    error_code,
    failure_reason,
    raise_for,
    status_code,
)
from connectors.whatsapp_menus import LIMITS, render
from connectors.whatsapp_templates import (
    BODY_LIMIT,
    Template,
    WhatsAppTemplates,
    flatten,
    units,
)

log = logging.getLogger("lotsen.whatsapp")
CHANNEL = "whatsapp"
SIGNATURE_HEADER = "X-Hub-Signature-256"
WINDOW_SECONDS = 24 * 3600  # the customer-service window
SENT_SECONDS = 2 * 24 * 3600  # what a re-send needs is kept this long (failures come sooner)
SENT_PRUNE_AT = 20  # a person's sent records are pruned of old ones beyond this many
TOKEN_WARNING_SECONDS = 7 * 24 * 3600
MARK_READ_JOB = "whatsapp_mark_read"  # {"id"}: the inbound message's id
REPORTED = "reported"  # the step of a send job that reports a failed status as a dead letter
SMS_FALLBACK = "sms"
MARKETING = "marketing"  # the category a campaign's template must have
WA_ID = re.compile(r"[1-9][0-9]{5,14}")  # a WhatsApp id: the number in E.164 without "+"
CHALLENGE = re.compile(r"[A-Za-z0-9_.-]{1,200}")  # what a verification challenge looks like
# Kinds of message that are not the person writing to Lotsen: nothing to answer.
NOT_WRITING = frozenset({"reaction", "system", "ephemeral"})
STATUSES = frozenset({"sent", "delivered", "read", "failed"})
GRAPH_TIMEOUT = aiohttp.ClientTimeout(total=15)

WINDOW = declare("wa:window:{number}", owner=Owner.CONVERSATION,
                 expiry="24 hours after the person last wrote", erasure=Erasure.BY_OWNER,
                 note="when the person last wrote (unix time): the 24-hour window in which "
                      "Lotsen may write freely; the channel's eraser deletes it")
SENT = declare("wa:sent:{number}", owner=Owner.CONVERSATION,
               expiry="2 days after the last message sent to the number",
               erasure=Erasure.BY_OWNER,
               note="messages sent, by WhatsApp message id (the outbox job's reply, language "
                    "and force): what a later failed status needs to re-send one as its "
                    "template or make it a dead letter; the channel's eraser deletes it")
TOKEN_REJECTED = declare("wa:token-rejected", owner=Owner.SYSTEM, expiry="7 days",
                         erasure=Erasure.NOT_PERSONAL,
                         note="a digest of the access token the Graph API rejected (190): "
                              "/readyz warns while the processes still use it")


def wa_number(raw: str) -> str:
    """A person's WhatsApp user id: their number in E.164 (+46701234567), from a WhatsApp id
    (46701234567) or an imported number (+46 70-123 45 67, 0046...). ValueError if it is not
    one."""
    digits = re.sub(r"[\s().\u00a0-]", "", raw)
    if digits.startswith("00"):
        digits = digits[2:]
    digits = digits.removeprefix("+")
    if not WA_ID.fullmatch(digits):
        raise ValueError(f"{raw!r} is not a phone number in E.164 (e.g. +46701234567)")
    return f"+{digits}"


def signature(secret: str, body: bytes) -> str:
    """`X-Hub-Signature-256` as Meta computes it: HMAC-SHA256 of the raw body, hex."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


# ------------------------------------------------------------------ the payload's shape
def _bad(where: str, what: str) -> web.HTTPBadRequest:
    return bad_request(f"Malformed WhatsApp webhook: {where} {what}.")


def _objects(value: object, where: str) -> list[Mapping[str, object]]:
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise _bad(where, "must be a list of objects")
    return value


def _object(container: Mapping[str, object], name: str, where: str) -> Mapping[str, object]:
    value = container.get(name)
    if not isinstance(value, dict):
        raise _bad(f"{where}.{name}", "must be an object")
    return value


def _text(container: Mapping[str, object], name: str, where: str) -> str:
    value = container.get(name)
    if not isinstance(value, str):
        raise _bad(f"{where}.{name}", "must be text")
    return check_text(value)


def _check_message(message: Mapping[str, object], where: str) -> None:
    _text(message, "id", where)
    _text(message, "type", where)
    if "from" in message:
        _text(message, "from", where)
    kind = message["type"]
    if kind == "text":
        _text(_object(message, "text", where), "body", f"{where}.text")
    elif kind == "interactive":
        chosen = _object(message, "interactive", where)
        which = _text(chosen, "type", f"{where}.interactive")
        if which in ("button_reply", "list_reply"):
            reply = _object(chosen, which, f"{where}.interactive")
            _text(reply, "id", f"{where}.interactive.{which}")
    elif kind == "button":
        button = _object(message, "button", where)
        for field in ("payload", "text"):
            if field in button:
                _text(button, field, f"{where}.button")


def check_payload(data: Mapping[str, object]) -> None:
    """Check the parts of a webhook call Lotsen reads, before anything is stored or queued."""
    if data.get("object") != "whatsapp_business_account":
        raise bad_request("Not a WhatsApp webhook: 'object' must be 'whatsapp_business_account'.")
    for e, entry in enumerate(_objects(data.get("entry"), "entry")):
        for c, change in enumerate(_objects(entry.get("changes"), f"entry[{e}].changes")):
            where = f"entry[{e}].changes[{c}]"
            value = change.get("value")
            if not isinstance(change.get("field"), str) or not isinstance(value, dict):
                raise _bad(where, "needs a text 'field' and an object 'value'")
            if change["field"] != "messages":
                continue
            metadata = value.get("metadata")
            if not isinstance(metadata, dict):
                raise _bad(f"{where}.value.metadata", "must be an object")
            _text(metadata, "phone_number_id", f"{where}.value.metadata")
            for m, message in enumerate(_objects(value.get("messages", []),
                                                 f"{where}.value.messages")):
                _check_message(message, f"{where}.value.messages[{m}]")
            for s, status in enumerate(_objects(value.get("statuses", []),
                                                f"{where}.value.statuses")):
                for field in ("id", "status"):
                    _text(status, field, f"{where}.value.statuses[{s}]")
                if "errors" in status:
                    _objects(status["errors"], f"{where}.value.statuses[{s}].errors")


# ------------------------------------------------------------------ the window
@dataclass(frozen=True)
class Window:
    """A conversation's 24-hour window: open until `until`, or closed (`until` None)."""

    open: bool
    last_inbound: datetime | None = None
    until: datetime | None = None


class Windows:
    """When each person last wrote: one key per number that expires with its window."""

    def __init__(self, *, redis: StrRedis, keys: Keys, clock: Clock) -> None:
        self.redis = redis
        self.keys = keys
        self.clock = clock

    def key(self, number: str) -> str:
        return self.keys(WINDOW, number=number)

    async def opened(self, number: str) -> None:
        """The person wrote now: the window is open for 24 hours."""
        await self.redis.set(self.key(number), repr(self.clock().timestamp()),
                             ex=WINDOW_SECONDS)

    async def get(self, number: str) -> Window:
        raw = await self.redis.get(self.key(number))
        if raw is None:
            return Window(open=False)
        last = float(raw)
        ends = last + WINDOW_SECONDS
        if self.clock().timestamp() >= ends:
            return Window(open=False, last_inbound=datetime.fromtimestamp(last, UTC))
        return Window(open=True, last_inbound=datetime.fromtimestamp(last, UTC),
                      until=datetime.fromtimestamp(ends, UTC))

    async def close(self, number: str) -> None:
        """WhatsApp says the window is closed (131047), whatever Lotsen counted."""
        await self.redis.delete(self.key(number))


# ------------------------------------------------------------------ messages sent
@dataclass(frozen=True)
class SentRecord:
    """What re-sending a message needs: the outbox job's reply, language and force, and
    whether it already went as a template (a template is never re-sent as one); for a
    campaign message its campaign id, so that its delivery is counted for it."""

    reply: Reply
    language: str
    force: bool
    template: bool
    at: float
    campaign: str = ""

    def to_json(self) -> str:
        data: dict[str, object] = {"reply": self.reply.to_json(), "language": self.language,
                                   "force": self.force, "template": self.template,
                                   "at": self.at}
        if self.campaign:
            data["campaign"] = self.campaign
        return json.dumps(data, ensure_ascii=False)

    @classmethod
    def from_json(cls, raw: str) -> SentRecord:
        data = json.loads(raw)
        return cls(Reply.from_json(data["reply"]), str(data["language"]), bool(data["force"]),
                   bool(data["template"]), float(data["at"]), str(data.get("campaign") or ""))


# KEYS: the person's hash. ARGV: message id, record, seconds kept, count, cutoff. The hash
# expires two days after its last record; someone written to every day keeps only the records
# of the last two days (beyond `count` of them, older ones are dropped).
REMEMBER = """
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
if redis.call('HLEN', KEYS[1]) > tonumber(ARGV[4]) then
  local all = redis.call('HGETALL', KEYS[1])
  for i = 1, #all, 2 do
    if cjson.decode(all[i + 1])['at'] < tonumber(ARGV[5]) then
      redis.call('HDEL', KEYS[1], all[i])
    end
  end
end
return 1
"""


class SentMessages:
    """Each person's messages sent in the last days, by WhatsApp message id (one hash)."""

    def __init__(self, *, redis: StrRedis, keys: Keys, clock: Clock) -> None:
        self.redis = redis
        self.keys = keys
        self.clock = clock
        self._remember = redis.register_script(REMEMBER)

    def key(self, number: str) -> str:
        return self.keys(SENT, number=number)

    async def remember(self, number: str, message_id: str, record: SentRecord) -> None:
        await self._remember(keys=[self.key(number)],
                             args=[message_id, record.to_json(), SENT_SECONDS, SENT_PRUNE_AT,
                                   repr(self.clock().timestamp() - SENT_SECONDS)])

    async def peek(self, number: str, message_id: str) -> SentRecord | None:
        """The record of a message, left in place."""
        raw = await self.redis.hget(self.key(number), message_id)
        return SentRecord.from_json(raw) if raw is not None else None

    async def take(self, number: str, message_id: str) -> SentRecord | None:
        """The record of a message, once: a second status for it (a redelivery) finds none."""
        key = self.key(number)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hget(key, message_id)
            pipe.hdel(key, message_id)
            raw, deleted = await pipe.execute()
        return SentRecord.from_json(raw) if raw is not None and deleted else None


# ------------------------------------------------------------------ the Graph API
class GraphApi:
    """`POST {api}/{phone number id}/messages`: messages and read marks. A rejected token is
    recorded (a digest of it) so that `/readyz` warns in every process that still uses it."""

    def __init__(self, http: aiohttp.ClientSession, settings: Settings, redis: StrRedis,
                 keys: Keys) -> None:
        self.http = http
        self.url = f"{settings.whatsapp_api_url.rstrip('/')}/" \
                   f"{settings.whatsapp_phone_number_id}/messages"
        self.headers = {"Authorization": f"Bearer {settings.whatsapp_token}"}
        self.token_digest = hashlib.sha256(settings.whatsapp_token.encode()).hexdigest()[:16]
        self.redis = redis
        self.flag = keys(TOKEN_REJECTED)
        self._flagged = False

    async def messages(self, body: Mapping[str, object], call: str) -> dict[str, object]:
        """The API's answer to one call; a refusal raises its outcome (whatsapp_errors)."""
        try:
            async with self.http.post(self.url, json=body, headers=self.headers,
                                      timeout=GRAPH_TIMEOUT) as resp:
                try:
                    answer: object = await resp.json(content_type=None)
                except ValueError:
                    answer = None
                status = resp.status
        except (aiohttp.ClientError, TimeoutError) as exc:
            raise RetryLater(5.0, failed=True,
                             reason=f"whatsapp {call}: {type(exc).__name__}") from exc
        if status >= 400 or not isinstance(answer, dict) or "error" in answer:
            try:
                raise_for(call, status if status >= 400 else 502, error_code(answer))
            except TokenRejected:
                await self.redis.set(self.flag, self.token_digest, ex=TOKEN_WARNING_SECONDS)
                self._flagged = True
                raise
        if self._flagged:  # accepted again: the warning is over
            await self.redis.delete(self.flag)
            self._flagged = False
        return answer

    async def warnings(self) -> list[str]:
        if await self.redis.get(self.flag) == self.token_digest:
            return ["the Cloud API rejected the access token (error 190: expired or not "
                    "valid): nothing can be sent until LOTSEN_WHATSAPP_TOKEN is renewed"]
        return []


# ------------------------------------------------------------------ sending
@dataclass(frozen=True)
class Outgoing:
    """How a message of one kind would go to a person now: free-form (the window is open),
    as `template`, by the `fallback` ("sms"), or not at all (no template fits)."""

    window: Window
    free_form: bool
    template: Template | None = None
    fallback: str | None = None

    @property
    def possible(self) -> bool:
        return self.free_form or self.template is not None or self.fallback is not None


class WhatsAppSender:
    """The worker's side: one outbox job = one message (or, outside the window, its
    template), within LOTSEN_WHATSAPP_RATE_PER_SECOND over every worker."""

    def __init__(self, channel: WhatsAppChannel, api: GraphApi,
                 templates: WhatsAppTemplates) -> None:
        self.channel = channel
        self.api = api
        self.templates = templates
        self.jobs: JobQueue = channel.context.jobs
        self.pacer: Pacer = channel.pacer
        self.optouts: OptOuts = channel.optouts
        self.windows = channel.windows
        self.sent = channel.sent
        self.content: Content = channel.context.engine.content
        self.rate = channel.context.settings.whatsapp_rate_per_second

    async def wait_turn(self) -> None:
        """Wait for a slot within the rate limit (or `RetryLater` when it is far away)."""
        await self.pacer.wait_turn([(CHANNEL, self.rate)])

    async def send(self, job: Job) -> None:
        """The outbox job: {"to", "reply", "force", "language"}, and from a status webhook
        "template" (send it as its template) or "undelivered" (report it as a dead letter)."""
        number = text_field(job.payload, "to")
        force = bool(job.payload.get("force"))
        if not force and await self.optouts.opted_out(f"{CHANNEL}:{number}"):
            return  # opted out: nothing is sent, not even broadcasts
        reply = Reply.from_json(object_field(job.payload, "reply"))
        undelivered = job.payload.get("undelivered")
        if isinstance(undelivered, str) and REPORTED not in job.steps:
            await job.steps.run(REPORTED, _nothing)  # a retried dead letter is sent again
            raise GiveUp(undelivered)
        given = job.payload.get("language")
        language = await self.channel.language_of(number, given if isinstance(given, str)
                                                  else None)
        # A reply filed under nobody is the confirmation that the person's data was erased.
        keep = job.conversation is not None or reply.purpose is not None
        if job.payload.get("template") is True:
            campaign = job.payload.get("campaign")  # a campaign message sent again
            await self.as_template(number, reply, language, force=force, keep=keep,
                                   campaign=campaign if isinstance(campaign, str) else "")
            return
        await self.deliver(number, reply, language, force=force, keep=keep, steps=job.steps)

    def messages(self, reply: Reply, language: str) -> list[dict[str, object]]:
        """The reply as WhatsApp messages (connectors/whatsapp_menus.py), labelled in the
        person's language: a list opens with a short "Choose", a numbered menu says how."""
        numbered = len(reply.buttons) > LIMITS.list_rows
        prompt = self.content.text("menu_prompt" if numbered else "menu_button", language)
        return render(reply, menu_prompt=prompt,
                      more_label=self.content.text("menu_more", language))

    async def deliver(self, number: str, reply: Reply, language: str, *, force: bool = False,
                      keep: bool = True, steps: Steps | None = None) -> str:
        """Send one reply now: free-form, unless the bot writes on its own (`purpose`) outside
        the window, or WhatsApp refuses it as outside (then as its template). A reply that
        takes several messages saves each one sent as a step of its job, so a retry goes on
        where it stopped. Returns the (first) WhatsApp message id ("" by the fallback)."""
        if reply.purpose is not None and not (await self.windows.get(number)).open:
            return await self.as_template(number, reply, language, force=force, keep=keep)
        messages = self.messages(reply, language)
        record = SentRecord(reply, language, force, template=False, at=self._now()) \
            if keep else None
        first = ""
        try:
            for index, message in enumerate(messages):
                kept = record if index == 0 else None  # one re-send per reply, not per part
                if len(messages) == 1 or steps is None:
                    sent = await self.post(number, message, kept)
                else:
                    sent = await self._part(steps, index, number, message, kept)
                first = first or sent
        except OutsideWindow:
            await self.windows.close(number)
            log.info("whatsapp_outside_window")
            return await self.as_template(number, reply, language, force=force, keep=keep)
        return first

    async def _part(self, steps: Steps, index: int, number: str,
                    message: Mapping[str, object], record: SentRecord | None) -> str:
        """One message of several, unless a run of the job before sent it."""
        sent: list[str] = []

        async def post() -> None:
            sent.append(await self.post(number, message, record))
        await steps.run(f"part:{index}", post)
        return sent[0] if sent else ""

    async def as_template(self, number: str, reply: Reply, language: str, *,
                          force: bool = False, keep: bool = True, campaign: str = "") -> str:
        """The reply as its kind's template in the person's language, or the configured
        fallback; a dead letter (`GiveUp`) when neither exists."""
        kind = reply.purpose or Purpose.NOTICE
        choice = self.templates.choose(kind, language)
        if choice.template is not None:
            message = self.templates.message(choice.template, [reply.text])
            return await self.post(number, message, SentRecord(
                reply, language, force, template=True, at=self._now(),
                campaign=campaign) if keep else None)
        if choice.fallback == SMS_FALLBACK:
            await self._by_sms(number, reply, language, force=force)
            return ""
        raise GiveUp(f"whatsapp: no template for {kind} in {language} and no fallback "
                     f"(config/whatsapp.yml)")

    async def _by_sms(self, number: str, reply: Reply, language: str, *, force: bool) -> None:
        """The SMS fallback: the same text to the same number, as an SMS job (SMS's own
        opt-out list is checked by its sender), filed under the WhatsApp conversation so that
        erasure finds it."""
        settings = self.channel.context.settings
        if not (settings.elks_username or settings.twilio_account_sid):
            raise GiveUp("whatsapp: the template fallback is SMS, and SMS is not configured")
        await self.jobs.schedule(send_job(SMS_FALLBACK),
                                 send_args(number, replace(reply, buttons=()), force=force,
                                           language=language),
                                 due=self._now(), conversation=f"{CHANNEL}:{number}")

    async def post(self, number: str, message: Mapping[str, object],
                   record: SentRecord | None, *, paced: bool = True) -> str:
        """One message object (rendered, or a template) to `number`, in its turn (`paced`
        False: the caller waited for it, as a campaign send does before its critical section);
        its record kept for a later status. Returns the WhatsApp message id."""
        if paced:
            await self.wait_turn()
        answer = await self.api.messages({"messaging_product": "whatsapp",
                                          "recipient_type": "individual", "to": number,
                                          **message}, "send")
        message_id = _message_id(answer)
        if record is not None and message_id:
            await self.sent.remember(number, message_id, record)
        return message_id

    async def mark_read(self, job: Job) -> None:
        """The blue ticks for an inbound message: {"id"}. A message too old or gone: nothing
        to do (a rejected token is still recorded for /readyz)."""
        try:
            await self.api.messages({"messaging_product": "whatsapp", "status": "read",
                                     "message_id": text_field(job.payload, "id")}, "mark read")
        except GiveUp:
            return

    def _now(self) -> float:
        return self.jobs.clock().timestamp()


async def _nothing() -> None:
    return None


def _message_id(answer: Mapping[str, object]) -> str:
    """The id of the message the API accepted ({"messages": [{"id": ...}]})."""
    messages = answer.get("messages")
    if isinstance(messages, list) and messages and isinstance(messages[0], dict):
        found = messages[0].get("id")
        return found if isinstance(found, str) else ""
    return ""


# ------------------------------------------------------------------ the channel
class WhatsAppChannel(PushChannel):
    name = CHANNEL
    # Lists carry up to 10 choices (more become a numbered menu); the number is the person's.
    capabilities = Capabilities(buttons=True, max_reply_chars=4096, address_is_phone=True,
                                title_chars=LIMITS.reply_button_title)

    def __init__(self, context: ChannelContext) -> None:
        super().__init__(context)
        settings = context.settings
        self.configured = bool(settings.whatsapp_token and settings.whatsapp_phone_number_id
                               and settings.whatsapp_app_secret
                               and settings.whatsapp_verify_token)
        self.windows = Windows(redis=context.redis, keys=context.keys, clock=context.clock)
        self.sent = SentMessages(redis=context.redis, keys=context.keys, clock=context.clock)
        self.conversations: ConversationStore = context.engine.store
        # Campaign messages' delivered and undelivered counts (statuses).
        self.campaigns = CampaignStore(redis=context.redis, keys=context.keys,
                                       recipients_seconds=settings.retention_seconds)
        self.api = GraphApi(context.http, settings, context.redis, context.keys) \
            if self.configured else None
        # Checked at start-up (a mistake stops it with its file and line), when configured.
        self.templates = WhatsAppTemplates.load(settings.whatsapp_templates,
                                                context.engine.languages.enabled) \
            if self.configured else None
        self._sender: WhatsAppSender | None = None

    @classmethod
    async def erase(cls, stores: StoreContext, user_id: str) -> None:
        await stores.redis.delete(stores.keys(WINDOW, number=user_id),
                                  stores.keys(SENT, number=user_id))

    def routes(self) -> list[web.AbstractRouteDef]:
        return [web.get("/whatsapp/webhook", self.verify),
                web.post("/whatsapp/webhook", self.webhook)]

    def sender(self) -> WhatsAppSender:
        assert self.api is not None and self.templates is not None
        if self._sender is None:
            self._sender = WhatsAppSender(self, self.api, self.templates)
        return self._sender

    def reach(self) -> WhatsAppReach:
        return WhatsAppReach(self)

    def jobs(self) -> dict[str, JobHandler]:
        if not self.configured:
            return {}
        sender = self.sender()
        return {send_job(CHANNEL): sender.send, MARK_READ_JOB: sender.mark_read}

    async def deliver(self, user_id: str, replies: Sequence[Reply]) -> None:
        """Messages the bot writes on its own: each one has a kind (a notice unless the caller
        said which), so that outside the window it goes as that kind's template."""
        await self.outbox.send(user_id, [r if r.purpose is not None
                                         else replace(r, purpose=Purpose.NOTICE)
                                         for r in replies])

    async def warnings(self) -> list[str]:
        return await self.api.warnings() if self.api is not None else []

    # ------------------------------------------------------------------ for the staff panel
    async def window(self, user_id: str) -> Window:
        """Whether the person's 24-hour window is open, and until when."""
        return await self.windows.get(user_id)

    async def outgoing(self, user_id: str, purpose: Purpose,
                       language: str | None = None) -> Outgoing:
        """How a message of this kind would go to the person now (in their language, or
        `language`): free-form, as which template, by which fallback, or not at all."""
        window = await self.windows.get(user_id)
        if window.open or self.templates is None:
            return Outgoing(window, free_form=window.open)
        choice = self.templates.choose(purpose, await self.language_of(user_id, language))
        return Outgoing(window, free_form=False, template=choice.template,
                        fallback=choice.fallback)

    async def language_of(self, user_id: str, given: str | None = None) -> str:
        """`given` if enabled, else the conversation's language, else the default."""
        languages = self.context.engine.languages
        if given is not None and languages.is_enabled(given):
            return given
        state = await self.conversations.load(f"{CHANNEL}:{user_id}")
        return state.language if languages.is_enabled(state.language) and state.language \
            else languages.default

    # ------------------------------------------------------------------ the webhook
    async def verify(self, request: web.Request) -> web.Response:
        """Meta's verification of the callback URL: the challenge back, if the token is ours."""
        if not self.configured:
            return self._not_configured()
        query = request.query
        given = query.get("hub.verify_token", "")
        challenge = query.get("hub.challenge", "")
        token = self.context.settings.whatsapp_verify_token
        if query.get("hub.mode") == "subscribe" and CHALLENGE.fullmatch(challenge) and \
                hmac.compare_digest(given.encode(), token.encode()):
            return web.Response(text=challenge, content_type="text/plain")
        return error(403, "Wrong verify token, or not a subscription request.")

    async def webhook(self, request: web.Request) -> web.Response:
        if not self.configured:
            return self._not_configured()
        body = await request.read()  # the raw body: the signature covers exactly these bytes
        expected = signature(self.context.settings.whatsapp_app_secret, body)
        given = request.headers.get(SIGNATURE_HEADER, "")
        if not hmac.compare_digest(given.encode(), expected.encode()):
            return error(401, f"Missing or wrong {SIGNATURE_HEADER}.")
        data = await json_object(request)
        check_payload(data)
        counts = {"messages": 0, "duplicates": 0, "statuses": 0}
        for value in self._values(data):
            for status in _listed(value, "statuses"):
                await self._status(status)
                counts["statuses"] += 1
            for message in _listed(value, "messages"):
                processed = await self.once(CHANNEL, _digest(str(message["id"])),
                                            partial(self._message, message))
                counts["messages" if processed else "duplicates"] += 1
        return web.json_response({"ok": True, **counts})

    def _values(self, data: Mapping[str, object]) -> Iterator[Mapping[str, object]]:
        """The `messages` changes for this phone number (others of the account are not ours);
        `check_payload` has checked their shape."""
        ours = self.context.settings.whatsapp_phone_number_id
        for entry in _listed(data, "entry"):
            for change in _listed(entry, "changes"):
                value = change["value"]
                if change["field"] == "messages" and isinstance(value, dict) and \
                        value["metadata"]["phone_number_id"] == ours:
                    yield value

    def _not_configured(self) -> web.Response:
        return error(503, "WhatsApp is not configured (LOTSEN_WHATSAPP_TOKEN, "
                          "LOTSEN_WHATSAPP_PHONE_NUMBER_ID, LOTSEN_WHATSAPP_APP_SECRET and "
                          "LOTSEN_WHATSAPP_VERIFY_TOKEN).")

    async def _message(self, message: Mapping[str, object], delivery: Delivery) -> str:
        """One inbound message: the window opens, it is marked read, and it is answered."""
        sender = message.get("from")
        if not isinstance(sender, str) or not WA_ID.fullmatch(sender):
            return "ignored"  # no number to answer (a username-only sender, or malformed)
        number = f"+{sender}"
        kind = message["type"]
        if kind in NOT_WRITING:
            return "ignored"
        await self.windows.opened(number)
        await self.context.jobs.schedule(MARK_READ_JOB, {"id": message["id"]}, due=0,
                                         conversation=f"{CHANNEL}:{number}")
        incoming = self.message(number)
        if kind == "text":
            text = message["text"]["body"]  # type: ignore[index]  # checked
            return await self.inbox.handle(self.with_fields(incoming, text=text.strip()),
                                           delivery)
        payload = _payload(message)
        if payload is not None:
            return await self.inbox.handle(self.with_fields(incoming, payload=payload),
                                           delivery)
        if kind == "button":  # a template's quick reply without a payload: its words
            words = message["button"].get("text", "")  # type: ignore[attr-defined]
            if isinstance(words, str) and words.strip():
                return await self.inbox.handle(self.with_fields(incoming, text=words.strip()),
                                               delivery)
        # A photo, a voice message, a location, a contact, a sticker, ...: nothing of it is
        # fetched or kept, and the person learns that Lotsen reads text.
        await self.inbox.reply(incoming, "media_not_read", delivery)
        return "media"

    async def _status(self, status: Mapping[str, object]) -> None:
        """A status of a message sent: counted; a campaign message's delivery counted for its
        campaign; a failure re-sent as its template (131047), again later (a rate limit), or
        made a dead letter with its reason (and for a campaign message counted undelivered)."""
        state = str(status["status"])
        DELIVERY_STATUSES.labels(channel=CHANNEL,
                                 status=state if state in STATUSES else "other").inc()
        if state == "delivered":
            await self._delivered(status)
            return
        if state != "failed":
            return
        code = status_code(status)
        DELIVERY_FAILURES.labels(channel=CHANNEL, code=str(code)).inc()
        log.info("whatsapp_failed_status", extra={"detail": str(code)})
        number = _recipient(status)
        if number is None:
            return
        record = await self.sent.take(number, str(status["id"]))
        if record is None:
            return  # not ours, reported before, or older than the records kept
        args = send_args(number, record.reply, force=record.force, language=record.language)
        now = self.context.jobs.clock().timestamp()
        due = now
        if record.template:
            args["template"] = True  # it went as a template: it goes as one again
        if record.campaign:
            args["campaign"] = record.campaign  # a re-send's delivery still counts for it
        if code == OUTSIDE_WINDOW and not record.template:
            await self.windows.close(number)
            args["template"] = True  # the same message, once, as its template
        elif code is not None and code in RATE_LIMITS:
            due = now + RATE_LIMITS[code]  # not lost, not a failure: sent again later
        else:
            args["undelivered"] = failure_reason(code)
            if record.campaign:
                await self.campaigns.count(record.campaign, "undelivered", CHANNEL)
        await self.context.jobs.schedule_many(
            [NewJob(send_job(CHANNEL), args, due=due, conversation=f"{CHANNEL}:{number}")])

    async def _delivered(self, status: Mapping[str, object]) -> None:
        """A campaign message delivered: counted once for its campaign (its record taken,
        so a redelivered status counts nothing). Other messages' records stay as they were."""
        number = _recipient(status)
        if number is None:
            return
        message_id = str(status["id"])
        record = await self.sent.peek(number, message_id)
        if record is None or not record.campaign:
            return
        if await self.sent.take(number, message_id) is not None:
            await self.campaigns.count(record.campaign, "delivered", CHANNEL)


def _recipient(status: Mapping[str, object]) -> str | None:
    """The number a status is about ("+" and its `recipient_id`), if it is one."""
    recipient = status.get("recipient_id")
    if not isinstance(recipient, str) or not WA_ID.fullmatch(recipient):
        return None
    return f"+{recipient}"


def _listed(data: Mapping[str, object], name: str) -> list[Mapping[str, object]]:
    """A list of objects `check_payload` has checked (none when it is absent)."""
    found = data.get(name)
    return found if isinstance(found, list) else []


def _payload(message: Mapping[str, object]) -> str | None:
    """The button payload an interactive reply or a template's quick reply carries."""
    kind = message["type"]
    if kind == "interactive":
        chosen = message["interactive"]
        assert isinstance(chosen, dict)
        which = chosen["type"]
        if which in ("button_reply", "list_reply"):
            return str(chosen[which]["id"]) or None
        return None
    if kind == "button":
        button = message["button"]
        assert isinstance(button, dict)
        payload = button.get("payload")
        return payload if isinstance(payload, str) and payload.startswith("/") else None
    if kind == "request_welcome":  # the person opened the chat for the first time
        return intent("greet")
    return None


def _digest(message_id: str) -> str:
    """A message id as the inbox's claim names it: WhatsApp's ids encode the person's number."""
    return hashlib.sha256(message_id.encode()).hexdigest()[:32]


# ------------------------------------------------------------------ campaigns
class WhatsAppReach(Reach):
    """Campaigns on WhatsApp. A campaign is marketing and mostly reaches people outside their
    24-hour window, so every campaign message goes as the `campaign` kind's approved
    marketing template (config/whatsapp.yml), chosen here by the language of the text the
    person gets (theirs, or the campaign's fallback text in its own language). Somali and
    Tigrinya, which have no template language, go in the template the config names for them
    (its {{1}} still the text in their language). A language whose choice is "sms", or no
    marketing template at all, is not carried: the person is skipped as `no_template` (their
    consent covers WhatsApp, not SMS) and the preview names the language.

    A marketing template is paid per message and its notification can wake someone, so
    campaigns go by day only, as SMS's do (quiet hours). The pace is
    LOTSEN_WHATSAPP_RATE_PER_SECOND with the pacing margin (send_limits.spacing), shared with
    every other WhatsApp message. The slot is waited for before the campaign sender's
    critical section and the call inside it is not paced again, so nothing delays the request
    after its slot. Delivered counts come from the `delivered` statuses."""

    channel = CHANNEL
    import_names: ClassVar[Mapping[str, str]] = {CHANNEL: ""}
    quiet_hours = True

    def __init__(self, whatsapp: WhatsAppChannel) -> None:
        self.whatsapp = whatsapp
        # The pace campaign jobs are released at: their sends' slots (send_limits.spacing).
        self.per_second = paced_rate(float(whatsapp.context.settings.whatsapp_rate_per_second))

    @property
    def available(self) -> bool:
        return self.whatsapp.configured

    def address(self, raw: str) -> str:
        return wa_number(raw)

    def template(self, language: str) -> Template | None:
        """The marketing template a campaign text in `language` goes as, if any."""
        templates = self.whatsapp.templates
        if templates is None:
            return None
        chosen = templates.choose(Purpose.CAMPAIGN, language).template
        return chosen if chosen is not None and chosen.category == MARKETING else None

    def carries(self, language: str) -> bool:
        return self.template(language) is not None

    def refuses(self, language: str, text: str) -> str | None:
        """A text longer than its template leaves room for would be cut: refused instead."""
        template = self.template(language)
        templates = self.whatsapp.templates
        if template is None or templates is None:
            return None  # not carried at all: the preview counts and names it
        whole = flatten(text, len(text) * 4 + 8)  # one line, as the parameter holds it
        if _parameter(templates.message(template, [text])) == whole:
            return None
        room = units(_parameter(templates.message(template, ["x" * BODY_LIMIT])))
        return (f"it has {units(whole)} characters on one line, and the {template.name} "
                f"template in {template.language!r} leaves room for {room} (WhatsApp's "
                f"{BODY_LIMIT:,} with the template's own words)")

    async def opted_out(self, user_id: str) -> bool:
        return await self.whatsapp.optouts.opted_out(f"{CHANNEL}:{user_id}")

    def _sender(self) -> WhatsAppSender:
        return self.whatsapp.sender()

    async def wait_turn(self, user_id: str) -> None:
        await self._sender().wait_turn()

    async def send(self, user_id: str, text: str, campaign: str) -> Sent:
        """A text whose language is not given: the person's conversation language."""
        return await self.send_in(user_id, text, campaign,
                                  await self.whatsapp.language_of(user_id))

    async def send_in(self, user_id: str, text: str, campaign: str, language: str) -> Sent:
        """The campaign template with `text` as its parameter, now (the turn was waited
        for). Its record (for a later status) is kept after the call; a failure to keep it
        is logged, never raised: the message is sent, and an exception here would make the
        campaign sender send it again."""
        sender = self._sender()
        template = self.template(language)
        if template is None:
            raise GiveUp(f"whatsapp: no marketing template for campaigns in {language} "
                         "(config/whatsapp.yml)")
        message = sender.templates.message(template, [text])
        try:
            message_id = await sender.post(user_id, message, None, paced=False)
        except TokenRejected as exc:  # every message would fail alike: retried, not dropped
            raise RetryLater(None, failed=True, reason=exc.reason) from exc
        record = SentRecord(Reply(text, purpose=Purpose.CAMPAIGN), language, force=False,
                            template=True, at=self.whatsapp.context.clock().timestamp(),
                            campaign=campaign)
        try:
            if message_id:
                await self.whatsapp.sent.remember(user_id, message_id, record)
        except Exception:
            log.warning("whatsapp_campaign_record_not_kept")
        return Sent(message_id)


def _parameter(message: Mapping[str, object]) -> str:
    """The first body parameter's text of a template message object."""
    template = message.get("template")
    components = template.get("components") if isinstance(template, dict) else None
    if isinstance(components, list) and components and isinstance(components[0], dict):
        parameters = components[0].get("parameters")
        if isinstance(parameters, list) and parameters and isinstance(parameters[0], dict):
            return str(parameters[0].get("text", ""))
    return ""
