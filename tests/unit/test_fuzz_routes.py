"""2,000 malformed requests on every public route: random bytes, JSON nested 10,000 deep,
numbers over 4,300 digits, wrong types, lone surrogates, right-to-left and zero-width marks,
10 kB of emoji, bad multipart bodies and non-UTF-8 forms. None may get a 5xx; each 4xx says
why. Seeded, so a failure can be replayed."""

from __future__ import annotations

import json
import random

from bot.runtime.gateway import create_app
from tests.conftest import make_settings
from tests.fakes import TELEGRAM_TOKEN, elks_auth

SECRET, ELKS_SECRET = "tg-secret", "elks-secret"


def nasty_values(rng: random.Random) -> list[object]:
    return [None, True, 0, -1, 1e308, "", "²", "٣", "\u200f\u200b",
            "\u202eevil", "😀" * 2500, "x" * 20000, [], {}, [[[]]], {"a": {"b": {}}},
            rng.random(), "/book:ok:" + "9" * 60, "/erase:yes", "%00", "\x00"]


def nasty_bodies(rng: random.Random) -> list[bytes]:
    deep = b"[" * 10000 + b"]" * 10000
    huge_number = b'{"text": ' + b"9" * 5000 + b"}"
    surrogate = b'{"text": "\\ud800 lone"}'
    bodies = [deep, huge_number, surrogate, b"", b"null", b"[]", b'"text"', b"{", b"\xff\xfe",
              b'{"text": "\\udfff"}', b'{"payload": "\\ud83d"}', b'{"text": 5}',
              b'{"language": ["sv"]}', b'{"update_id": 1, "message": 7}',
              b'{"update_id": 1, "message": {"chat": {"id": null}, "text": "hej"}}',
              b'{"username": {"$ne": 1}, "password": []}']
    bodies.append(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300))))
    value = rng.choice(nasty_values(rng))
    key = rng.choice(["text", "payload", "language", "username", "password", "outcome",
                      "update_id", "message", "callback_query"])
    bodies.append(json.dumps({key: value}).encode())
    return bodies


async def test_2000_malformed_requests_get_no_5xx(aiohttp_client, providers, prefix,
                                                  redis) -> None:
    settings = make_settings(prefix, telegram_token=TELEGRAM_TOKEN,
                             telegram_webhook_secret=SECRET, telegram_api_url=providers.url,
                             elks_webhook_secret=ELKS_SECRET, elks_status_secret=ELKS_SECRET,
                             twilio_auth_token="tw", public_url="http://lotsen.test",
                             rate_limit_per_minute=100000)
    client = await aiohttp_client(create_app(settings))
    session = (await (await client.post("/webchat/sessions", json={})).json())["session"]
    rng = random.Random(20261123)
    json_routes = ["/webchat/sessions", f"/webchat/sessions/{session}/messages",
                   "/webchat/sessions/%ff/messages", "/api/nlu/parse", "/coach/api/login",
                   "/telegram/webhook", "/coach/api/leads/x/claim"]
    form_routes = ["/sms/46elks", "/sms/46elks/status", "/sms/twilio", "/sms/twilio/status"]
    get_routes = [f"/webchat/sessions/{session}/messages?after=", "/staff/api/bookings?date=",
                  "/webchat/languages?", "/coach/api/leads?"]
    headers = {"X-Telegram-Bot-Api-Secret-Token": SECRET, "Content-Type": "application/json",
               "Authorization": "Bearer test-admin"}
    failures: list[str] = []
    sent = 0
    while sent < 2000:
        kind = rng.random()
        if kind < 0.55:
            route, body = rng.choice(json_routes), rng.choice(nasty_bodies(rng))
            resp = await client.post(route, data=body, headers=headers)
        elif kind < 0.8:
            route = rng.choice(form_routes)
            body = rng.choice([b"from=%ff%fe&message=\xff\xfe&id=1", b"--x\r\nbroken",
                               b"from=%2B46701&to=1&message=" + "😀".encode() * 3000 + b"&id=2",
                               b"from=&message=&id=", bytes(rng.randrange(256)
                                                            for _ in range(100))])
            content_type = rng.choice(["application/x-www-form-urlencoded",
                                       "multipart/form-data; boundary=x",
                                       "multipart/form-data", "text/plain"])
            resp = await client.post(route, data=body, headers={
                **elks_auth(ELKS_SECRET), "Content-Type": content_type,
                "X-Twilio-Signature": "x"})
        else:
            value = rng.choice(["²", "-1", "9" * 5000, "%ff", "\u202e", "1e9", "0x10",
                                "0000-00-00", "🙂" * 100, ""])
            resp = await client.get(rng.choice(get_routes) + value, headers=headers)
        sent += 1
        if resp.status >= 500:
            failures.append(f"{resp.method} {resp.url.path} -> {resp.status}: "
                            f"{(await resp.text())[:120]}")
        elif resp.status >= 400 and resp.content_type == "application/json":
            assert (await resp.json()).get("error"), resp.url
    assert failures == [], failures[:10]
