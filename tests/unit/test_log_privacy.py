"""No secret or personal data in any log line at any level: Telegram, SMS and web chat traffic
through the gateway and the worker (python-telegram-bot, httpx and aiohttp included) with
logging at DEBUG, then the captured log is searched for the bot token, the webhook secrets,
the phone number, the chat id, the session id and the message texts."""

from __future__ import annotations

import io
import json
import logging

from bot import logs
from bot.runtime.gateway import create_app
from tests import journeys
from tests.fakes import ELKS_PASSWORD, TELEGRAM_TOKEN


async def test_debug_logs_hold_no_token_number_chat_id_or_text(aiohttp_client, providers,
                                                                prefix, redis) -> None:
    root = logging.getLogger()
    saved = root.handlers[:], root.level
    captured = io.StringIO()
    logs.configure("DEBUG", stream=captured)
    try:
        settings = journeys.journey_settings(prefix, providers, log_level="DEBUG")
        client = await aiohttp_client(create_app(settings))
        secret_text = "Hemlig fråga om min son Zebulon"
        await journeys.telegram(client, "/start poster_tensta", secret_text, button="/info_sfi")
        await journeys.sms(client, secret_text, "1")
        talk = await journeys.Conversation.start(client)
        await talk.send(secret_text)
        await journeys.run_worker_until_sent(settings, redis)
        assert providers.telegram_sent and providers.elks_sent
    finally:
        root.handlers[:], level = saved
        root.setLevel(level)
    text = captured.getvalue()
    lines = text.splitlines()
    assert len(lines) > 5 and any("/telegram/webhook" in line for line in lines)
    assert all(json.loads(line) for line in lines)  # one JSON object a line
    for needle in (TELEGRAM_TOKEN, TELEGRAM_TOKEN.split(":")[1], journeys.TELEGRAM_SECRET,
                   journeys.ELKS_SECRET, ELKS_PASSWORD, journeys.PHONE, "46701234567",
                   str(journeys.CHAT), talk.session, "Zebulon", "Hemlig"):
        assert needle not in text, needle
