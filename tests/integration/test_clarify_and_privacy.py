"""Below the confidence threshold the bot asks back; after two misunderstandings in a row it
offers a coach. Logs carry no message text. (Real Rasa, real Redis.)"""

from __future__ import annotations

import logging

from bot.logs import JsonFormatter, PrivacyFilter
from bot.runtime.gateway import SERVICES, create_app
from tests.conftest import Conversation, make_settings
from tests.journeys import FIXTURE_CONFIG


async def test_clarifying_menu_then_coach_offer(aiohttp_client, rasa_server, prefix, redis) -> None:
    # A threshold no parse reaches: every free-text message counts as "not understood".
    # The tests' teams have no opening hours: the ordinary handover at any real time of day.
    client = await aiohttp_client(create_app(make_settings(prefix, rasa_server,
                                                           nlu_threshold=0.9999,
                                                           config_dir=FIXTURE_CONFIG)))
    content = client.server.app[SERVICES].content
    talk = await Conversation.start(client)
    first = await talk.send("hmm kanske barn eller jobb vet inte riktigt")
    assert first["replies"][0]["text"] == content.text("clarify", "sv")
    payloads = [b["payload"] for b in first["replies"][0]["buttons"]]
    assert 2 <= len(payloads) <= 4 and payloads[-1] == "/help"  # NLU's best guesses + all
    second = await talk.send("asdf qwerty zxcv")
    assert second["replies"][0]["text"] == content.text("not_understood_twice", "sv")
    assert second["replies"][0]["buttons"][0]["payload"] == "/request_coach"
    third = await talk.send(payload="/request_coach")  # the offer leads into the handover
    assert [b["payload"] for b in third["replies"][0]["buttons"]] == ["/handover:yes",
                                                                     "/handover:no"]


async def test_logs_carry_no_message_text(chat, caplog) -> None:
    caplog.set_level(logging.INFO)
    talk = await Conversation.start(chat)
    secret_words = "Fatima Hussein bor på Rinkebystråket"
    await talk.send(secret_words)
    formatter, privacy = JsonFormatter(), PrivacyFilter()  # as `python -m bot serve` logs
    lines = [formatter.format(record) for record in caplog.records if privacy.filter(record)]
    assert any('"route": "/webchat/sessions/{session}/messages"' in line for line in lines)
    assert not any("Fatima" in line or talk.session in line for line in lines)
