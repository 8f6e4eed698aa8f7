"""Telegram's errors mapped once to the job queue's outcomes (connectors/telegram_errors.py),
and an update checked once on the webhook path."""

from __future__ import annotations

from datetime import timedelta

import pytest
from telegram.error import BadRequest, Forbidden, NetworkError, RetryAfter, TimedOut

from bot.core.jobs import GiveUp, RetryLater
from connectors import telegram
from connectors.telegram_errors import Blocked, telegram_outcome
from tests.conftest import make_settings
from tests.fakes import TELEGRAM_TOKEN


async def outcome(error: Exception) -> Exception:
    with pytest.raises(Exception) as raised, telegram_outcome("sendMessage"):
        raise error
    return raised.value


async def test_retry_after_waits_telegrams_seconds_without_counting() -> None:
    later = await outcome(RetryAfter(timedelta(seconds=7)))
    assert isinstance(later, RetryLater)
    assert (later.delay, later.failed) == (7.0, False)


async def test_forbidden_is_blocked_a_give_up_the_caller_may_act_on() -> None:
    blocked = await outcome(Forbidden("Forbidden: bot was blocked by the user"))
    assert isinstance(blocked, Blocked) and isinstance(blocked, GiveUp)


async def test_bad_request_gives_up_with_telegrams_reason() -> None:
    refused = await outcome(BadRequest("Chat not found"))
    assert type(refused) is GiveUp
    assert refused.reason == "telegram refused sendMessage: Chat not found"


@pytest.mark.parametrize("error", [TimedOut(), NetworkError("Bad Gateway")])
async def test_network_errors_are_counted_retries_with_backoff(error: Exception) -> None:
    later = await outcome(error)
    assert isinstance(later, RetryLater)
    assert (later.delay, later.failed) == (None, True)


async def test_a_webhook_update_is_checked_once(aiohttp_client, prefix, providers, redis,
                                                monkeypatch) -> None:
    from bot.runtime.gateway import create_app

    settings = make_settings(prefix, public_url="https://lotsen.example.org",
                             telegram_token=TELEGRAM_TOKEN, telegram_webhook_secret="s",
                             telegram_api_url=providers.url)
    client = await aiohttp_client(create_app(settings))
    checked: list[int] = []
    original = telegram.check_update

    def counting(data: dict) -> None:
        checked.append(data["update_id"])
        original(data)

    monkeypatch.setattr(telegram, "check_update", counting)
    update = {"update_id": 9, "message": {"message_id": 9, "date": 0, "text": "hej",
                                          "chat": {"id": -100999, "type": "group"}}}
    resp = await client.post("/telegram/webhook", json=update,
                             headers={"X-Telegram-Bot-Api-Secret-Token": "s"})
    assert resp.status == 200 and checked == [9]


async def test_a_bad_requests_reason_keeps_no_more_than_its_leading_words() -> None:
    """What follows the leading words can quote the message sent (a tag, a number)."""
    refused = await outcome(BadRequest(
        "Can't parse entities: unsupported start tag \"+46701234567\" at byte offset 12"))
    assert refused.reason == "telegram refused sendMessage: Can't parse entities"
