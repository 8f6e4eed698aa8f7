"""Fake provider servers for tests: real HTTP on loopback, speaking each provider's wire format
(Telegram Bot API, 46elks /a1/sms, Twilio Messages API). They record what they receive."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import BasicAuth, web

TELEGRAM_TOKEN = "123456:TEST-token"
ELKS_USER, ELKS_PASSWORD = "u0123456789", "elks-secret-password"
TWILIO_SID, TWILIO_TOKEN = "AC0123456789abcdef", "twilio-auth-token"


@dataclass
class Providers:
    telegram_sent: list[dict[str, Any]] = field(default_factory=list)
    telegram_answered: list[str] = field(default_factory=list)
    telegram_left: list[int] = field(default_factory=list)
    telegram_429: int = 0          # answer this many next sendMessage calls with 429
    telegram_rejected: int = 0     # how many 429s were answered
    elks_sent: list[dict[str, str]] = field(default_factory=list)
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
        return app

    # ------------------------------------------------------------------ Telegram Bot API
    async def telegram(self, request: web.Request) -> web.Response:
        if request.match_info["token"] != TELEGRAM_TOKEN:
            return web.json_response({"ok": False, "error_code": 401,
                                      "description": "Unauthorized"}, status=401)
        params = await _params(request)
        method = request.match_info["method"]
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


def elks_auth(secret: str) -> dict[str, str]:
    """The Authorization header 46elks sends for a webhook URL with `lotsen:<secret>@`."""
    return {"Authorization": BasicAuth("lotsen", secret).encode()}


def _ok(result: Any) -> web.Response:
    return web.json_response({"ok": True, "result": result})


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
