"""Fake provider servers for tests: real HTTP on loopback, speaking each provider's wire format
(Telegram Bot API, 46elks /a1/sms, Twilio Messages API, WhatsApp Cloud API). They record what
they receive. The WhatsApp helpers below build webhook calls in the shapes of Meta's
documentation (the `messages` webhook reference), signed as Meta signs them."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import itertools
import json
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BasicAuth, web

TELEGRAM_TOKEN = "123456:TEST-token"
ELKS_USER, ELKS_PASSWORD = "u0123456789", "elks-secret-password"
TWILIO_SID, TWILIO_TOKEN = "AC0123456789abcdef", "twilio-auth-token"
WHATSAPP_TOKEN = "EAAGtest-whatsapp-token"
WHATSAPP_PHONE_ID = "106540352242922"
WHATSAPP_DISPLAY = "46766861299"
WHATSAPP_APP_SECRET = "whatsapp-app-secret"
WHATSAPP_VERIFY_TOKEN = "whatsapp-verify-token"
WHATSAPP_ACCOUNT = "102290129340398"
WHATSAPP_VERSION = "v26.0"
# Meta's error texts for the codes the tests ask for (the API's `message` and HTTP status).
WHATSAPP_ERRORS = {131047: ("(#131047) Re-engagement message", 400),
                   130429: ("(#130429) Rate limit hit", 400),
                   131056: ("(#131056) (Business Account, Consumer Account) pair rate limit "
                            "hit", 400),
                   131026: ("(#131026) Message Undeliverable.", 400),
                   190: ("Error validating access token: Session has expired.", 401),
                   131000: ("(#131000) Something went wrong", 500)}


@dataclass
class Providers:
    telegram_sent: list[dict[str, Any]] = field(default_factory=list)
    telegram_answered: list[str] = field(default_factory=list)
    telegram_left: list[int] = field(default_factory=list)
    # sendDocument: {"chat_id", "caption", "filename", "mime_type", "content" (bytes)}
    telegram_documents: list[dict[str, Any]] = field(default_factory=list)
    telegram_429: int = 0          # answer this many next sendMessage calls with 429
    telegram_rejected: int = 0     # how many 429s were answered
    elks_sent: list[dict[str, str]] = field(default_factory=list)
    # WhatsApp: each message accepted (the request's body with its "id"), the ids marked read,
    # the error codes to answer the next send calls with (in order), and those answered.
    whatsapp_sent: list[dict[str, Any]] = field(default_factory=list)
    whatsapp_read: list[str] = field(default_factory=list)
    whatsapp_errors: list[int] = field(default_factory=list)
    whatsapp_refused: list[int] = field(default_factory=list)
    twilio_sent: list[dict[str, str]] = field(default_factory=list)
    delay: float = 0.0  # seconds between accepting a message and answering (a slow provider)
    # (provider, recipient, time.monotonic()) of every message accepted, as it arrived
    arrivals: list[tuple[str, str, float]] = field(default_factory=list)
    in_flight: int = 0       # messages accepted and not yet answered, now
    most_in_flight: int = 0  # ... at most (above 1: the sender did not wait for each answer)

    async def _hold(self) -> None:
        """Answer after `delay`, counting how many answers are held at once."""
        self.in_flight += 1
        self.most_in_flight = max(self.most_in_flight, self.in_flight)
        try:
            await asyncio.sleep(self.delay)
        finally:
            self.in_flight -= 1

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self.telegram)
        app.router.add_post("/a1/sms", self.elks)
        app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", self.twilio)
        app.router.add_post("/{version}/{phone}/messages", self.whatsapp)
        return app

    # ------------------------------------------------------------------ Telegram Bot API
    async def telegram(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != TELEGRAM_TOKEN:
            return web.json_response({"ok": False, "error_code": 401,
                                      "description": "Unauthorized"}, status=401)
        method = request.match_info["method"]
        if method == "sendDocument":
            return await self.telegram_document(request)
        params = await _params(request)
        if method == "getMe":
            return _ok({"id": 4242, "is_bot": True, "first_name": "Lotsen",
                        "username": "lotsen_test_bot", "can_join_groups": False,
                        "can_read_all_group_messages": False, "supports_inline_queries": False})
        if method == "sendMessage":
            if self.telegram_429 > 0:
                self.telegram_429 -= 1
                self.telegram_rejected += 1
                return web.json_response({"ok": False, "error_code": 429,
                                          "description": "Too Many Requests: retry after 1",
                                          "parameters": {"retry_after": 1}}, status=429)
            markup = params.get("reply_markup")
            sent = {"chat_id": int(params["chat_id"]), "text": params["text"],
                    "reply_markup": json.loads(markup) if isinstance(markup, str) else markup}
            self.telegram_sent.append(sent)
            self.arrivals.append(("telegram", str(sent["chat_id"]), time.monotonic()))
            await self._hold()
            return _ok({"message_id": len(self.telegram_sent), "date": int(time.time()),
                        "chat": {"id": sent["chat_id"], "type": "private"},
                        "text": sent["text"]})
        if method == "answerCallbackQuery":
            self.telegram_answered.append(str(params["callback_query_id"]))
            return _ok(True)
        if method == "leaveChat":
            self.telegram_left.append(int(params["chat_id"]))
            return _ok(True)
        if method in ("deleteWebhook", "setWebhook"):
            return _ok(True)
        if method == "getUpdates":
            return _ok([])
        return web.json_response({"ok": False, "error_code": 404, "description": "Not Found"},
                                 status=404)

    async def telegram_document(self, request: web.Request) -> web.Response:
        """sendDocument with a new file, as the Bot API takes it: multipart/form-data with
        `chat_id`, an optional `caption`, and the file in the `document` part (its file name
        in the part's Content-Disposition)."""
        if request.content_type != "multipart/form-data":
            return _bad_request("there is no document in the request")
        form = await request.post()
        document, chat = form.get("document"), form.get("chat_id")
        if not isinstance(document, web.FileField) or not isinstance(chat, str):
            return _bad_request("there is no document in the request" if chat else
                                "chat_id is empty")
        content = document.file.read()
        if not content:
            return _bad_request("file must be non-empty")
        sent = {"chat_id": int(chat), "caption": str(form.get("caption") or ""),
                "filename": document.filename, "mime_type": document.content_type,
                "content": content}
        self.telegram_documents.append(sent)
        self.arrivals.append(("telegram", chat, time.monotonic()))
        number = len(self.telegram_sent) + len(self.telegram_documents)
        return _ok({"message_id": number, "date": int(time.time()),
                    "chat": {"id": sent["chat_id"], "type": "private"},
                    "document": {"file_id": f"doc{number}", "file_unique_id": f"u{number}",
                                 "file_name": document.filename,
                                 "mime_type": document.content_type,
                                 "file_size": len(content)},
                    **({"caption": sent["caption"]} if sent["caption"] else {})})

    # ------------------------------------------------------------------ 46elks
    async def elks(self, request: web.Request) -> web.Response:
        if not _basic(request, ELKS_USER, ELKS_PASSWORD):
            return web.Response(status=401, text="Missing authentication")
        form = {k: str(v) for k, v in (await request.post()).items()}
        if not all(form.get(k) for k in ("from", "to", "message")):
            return web.Response(status=400, text="Missing key from, to or message")
        self.elks_sent.append(form)
        self.arrivals.append(("46elks", form["to"], time.monotonic()))
        await self._hold()
        return web.json_response({"id": f"s{len(self.elks_sent):032x}", "status": "created",
                                  "direction": "outgoing", "from": form["from"],
                                  "to": form["to"], "message": form["message"],
                                  "created": time.strftime("%Y-%m-%dT%H:%M:%S")})

    # ------------------------------------------------------------------ Twilio
    async def twilio(self, request: web.Request) -> web.Response:
        if request.match_info["sid"] != TWILIO_SID or not _basic(request, TWILIO_SID,
                                                                   TWILIO_TOKEN):
            return web.json_response({"code": 20003, "message": "Authenticate",
                                      "status": 401}, status=401)
        form = {k: str(v) for k, v in (await request.post()).items()}
        self.twilio_sent.append(form)
        self.arrivals.append(("twilio", form.get("To", ""), time.monotonic()))
        await self._hold()
        return web.json_response({"sid": f"SM{len(self.twilio_sent):032x}", "status": "queued",
                                  "to": form.get("To"), "from": form.get("From"),
                                  "body": form.get("Body")}, status=201)


    # ------------------------------------------------------------------ WhatsApp Cloud API
    async def whatsapp(self, request: web.Request) -> web.Response:
        """`POST /{version}/{phone number id}/messages`: a message, or a read mark."""
        if request.headers.get("Authorization") != f"Bearer {WHATSAPP_TOKEN}":
            return _graph_error(190, "Invalid OAuth access token - Cannot parse access token",
                                401)
        if request.match_info["version"] != WHATSAPP_VERSION or \
                request.match_info["phone"] != WHATSAPP_PHONE_ID:
            return _graph_error(100, "Unsupported post request.", 400)
        body = await request.json()
        if body.get("messaging_product") != "whatsapp":
            return _graph_error(100, "(#100) The parameter messaging_product is required.", 400)
        if body.get("status") == "read":
            self.whatsapp_read.append(str(body["message_id"]))
            return web.json_response({"success": True})
        problem = _whatsapp_problem(body)
        if problem:
            return _graph_error(100, f"(#100) Invalid parameter: {problem}", 400)
        if self.whatsapp_errors:
            code = self.whatsapp_errors.pop(0)
            self.whatsapp_refused.append(code)
            message, status = WHATSAPP_ERRORS.get(code, (f"(#{code}) Error", 400))
            return _graph_error(code, message, status)
        digits = str(body["to"]).lstrip("+")
        message_id = whatsapp_message_id(digits)
        self.whatsapp_sent.append({**body, "id": message_id})
        self.arrivals.append(("whatsapp", digits, time.monotonic()))
        await self._hold()
        return web.json_response({"messaging_product": "whatsapp",
                                  "contacts": [{"input": body["to"], "wa_id": digits}],
                                  "messages": [{"id": message_id}]})


_wamids = itertools.count(1)


def whatsapp_message_id(digits: str) -> str:
    """A message id shaped like WhatsApp's ("wamid." and base64 naming the number)."""
    raw = f"\x0c{digits}\x15\x02\x00\x12{next(_wamids):020d}".encode()
    return "wamid.HBgL" + base64.b64encode(raw).decode()


def _graph_error(code: int, message: str, status: int) -> web.Response:
    return web.json_response({"error": {"message": message, "type": "OAuthException",
                                        "code": code, "error_data": {
                                            "messaging_product": "whatsapp",
                                            "details": message},
                                        "fbtrace_id": "AbCdEfGhIjKl"}}, status=status)


def _whatsapp_problem(body: dict[str, Any]) -> str | None:
    """What the Cloud API would refuse in a message (the limits Lotsen must keep)."""
    kind = body.get("type")
    if not body.get("to"):
        return "to"
    if kind == "text":
        text = body.get("text", {}).get("body", "")
        return None if 0 < len(text) <= 4096 else "text.body"
    if kind == "template":
        template = body.get("template", {})
        if not template.get("name") or not template.get("language", {}).get("code"):
            return "template.name or template.language.code"
        for component in template.get("components", []):
            for parameter in component.get("parameters", []):
                text = parameter.get("text", "")
                if not text or "\n" in text or "\t" in text or "     " in text:
                    return "template parameter (error 132018)"
        return None
    if kind != "interactive":
        return "type"
    interactive = body["interactive"]
    if not 0 < len(interactive.get("body", {}).get("text", "")) <= 1024:
        return "interactive.body.text"
    action = interactive.get("action", {})
    if interactive.get("type") == "button":
        buttons = action.get("buttons", [])
        titles = [b["reply"]["title"] for b in buttons]
        ok = 0 < len(buttons) <= 3 and all(0 < len(t) <= 20 for t in titles) and \
            len(set(titles)) == len(titles)
        return None if ok else "interactive.action.buttons"
    if interactive.get("type") == "list":
        rows = [row for section in action.get("sections", []) for row in section["rows"]]
        ok = 0 < len(rows) <= 10 and 0 < len(action.get("button", "")) <= 20 and all(
            0 < len(r["title"]) <= 24 and len(r.get("description", "")) <= 72 for r in rows)
        return None if ok else "interactive.action.sections"
    return "interactive.type"


# ------------------------------------------------------------------ WhatsApp webhook calls
def whatsapp_message(number: str, kind: str = "text", message_id: str | None = None,
                     **content: Any) -> dict[str, Any]:
    """One `messages[]` entry from `number` ("+46..." or digits): `kind` and its object
    (`text={"body": ...}`, `interactive={...}`, `image={...}`)."""
    digits = number.lstrip("+")
    return {"from": digits, "id": message_id or whatsapp_message_id(digits),
            "timestamp": str(int(time.time())), "type": kind, **content}


def whatsapp_text(number: str, body: str, message_id: str | None = None) -> dict[str, Any]:
    return whatsapp_message(number, "text", message_id, text={"body": body})


def whatsapp_button_reply(number: str, button_id: str, title: str = "") -> dict[str, Any]:
    """A reply button pressed (the message it answers is in `context`)."""
    return whatsapp_message(number, "interactive", context={
        "from": WHATSAPP_DISPLAY, "id": whatsapp_message_id(WHATSAPP_DISPLAY)},
        interactive={"type": "button_reply", "button_reply": {"id": button_id,
                                                               "title": title or button_id}})


def whatsapp_list_reply(number: str, row_id: str, title: str = "",
                        description: str = "") -> dict[str, Any]:
    return whatsapp_message(number, "interactive", context={
        "from": WHATSAPP_DISPLAY, "id": whatsapp_message_id(WHATSAPP_DISPLAY)},
        interactive={"type": "list_reply", "list_reply": {
            "id": row_id, "title": title or row_id, "description": description}})


def whatsapp_status(number: str, message_id: str, status: str,
                    code: int | None = None) -> dict[str, Any]:
    """One `statuses[]` entry; a `failed` one carries `errors` with `code`."""
    entry: dict[str, Any] = {"id": message_id, "status": status,
                             "timestamp": str(int(time.time())),
                             "recipient_id": number.lstrip("+")}
    if status != "failed":
        entry["conversation"] = {"id": "c0ffee", "origin": {"type": "service"}}
        entry["pricing"] = {"billable": True, "pricing_model": "PMP", "category": "service"}
    if code is not None:
        message = WHATSAPP_ERRORS.get(code, (f"Error {code}", 400))[0]
        entry["errors"] = [{"code": code, "title": message, "message": message,
                            "error_data": {"details": message},
                            "href": "https://developers.facebook.com/docs/whatsapp/cloud-api/"
                                    "support/error-codes/"}]
    return entry


def whatsapp_webhook(messages: Iterable[dict[str, Any]] = (),
                     statuses: Iterable[dict[str, Any]] = (),
                     phone_number_id: str = WHATSAPP_PHONE_ID) -> dict[str, Any]:
    """A `messages` webhook call as Meta sends it, for one or more messages or statuses."""
    listed, status_list = list(messages), list(statuses)
    value: dict[str, Any] = {"messaging_product": "whatsapp", "metadata": {
        "display_phone_number": WHATSAPP_DISPLAY, "phone_number_id": phone_number_id}}
    if listed:
        value["contacts"] = [{"profile": {"name": "Test Person"}, "wa_id": m["from"]}
                             for m in listed]
        value["messages"] = listed
    if status_list:
        value["statuses"] = status_list
    return {"object": "whatsapp_business_account", "entry": [
        {"id": WHATSAPP_ACCOUNT, "changes": [{"value": value, "field": "messages"}]}]}


def whatsapp_signed(payload: dict[str, Any], secret: str = WHATSAPP_APP_SECRET
                    ) -> tuple[bytes, dict[str, str]]:
    """The body and headers of Meta's POST: `X-Hub-Signature-256: sha256=<HMAC-SHA256 hex>`
    over the exact bytes sent."""
    body = json.dumps(payload, ensure_ascii=False).encode()
    digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return body, {"Content-Type": "application/json",
                  "X-Hub-Signature-256": f"sha256={digest}"}


def elks_auth(secret: str) -> dict[str, str]:
    """The Authorization header 46elks sends for a webhook URL with `lotsen:<secret>@`."""
    return {"Authorization": BasicAuth("lotsen", secret).encode()}


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def _bad_request(reason: str) -> web.Response:
    return web.json_response({"ok": False, "error_code": 400,
                              "description": f"Bad Request: {reason}"}, status=400)


async def _params(request: web.Request) -> dict[str, Any]:
    if request.content_type == "application/json":
        return await request.json()
    return {k: str(v) for k, v in (await request.post()).items()}


def _basic(request: web.Request, user: str, password: str) -> bool:
    try:
        auth = BasicAuth.decode(request.headers.get("Authorization", ""))
    except ValueError:
        return False
    return (auth.login, auth.password) == (user, password)
