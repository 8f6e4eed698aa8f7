"""All seven languages end to end: the answer comes in the language the person writes."""

from __future__ import annotations

import pytest

from bot.runtime.gateway import SERVICES
from tests.conftest import Conversation

# Fresh phrasings (not from the evaluation set) asking how to learn Swedish.
LEARN_SWEDISH = {
    "sv": "jag vill lära mig svenska",
    "en": "I want to learn the swedish language",
    "ar": "أريد أن أتعلم اللغة السويدية",
    "so": "waxaan rabaa inaan barto af iswiidhish",
    "fa": "می‌خواهم زبان سوئدی یاد بگیرم",
    "ti": "ቋንቋ ሽወደን ክመሃር እደሊ",
    "uk": "я хочу вивчати шведську мову",
}


def content(chat):
    return chat.server.app[SERVICES].engine.content


@pytest.mark.parametrize("language", sorted(LEARN_SWEDISH))
async def test_conversation_in_each_language(chat, language: str) -> None:
    talk = await Conversation.start(chat)
    data = await talk.send(LEARN_SWEDISH[language])
    assert data["language"] == language
    assert data["replies"][0]["text"] == content(chat).text("info_sfi", language)
    titles = [b["title"] for b in data["replies"][0]["buttons"]]
    assert titles == [content(chat).button(b["payload"], language).title
                      for b in data["replies"][0]["buttons"]]
    assert data["direction"] == ("rtl" if language in ("ar", "fa") else "ltr")


async def test_switching_language_mid_conversation(chat) -> None:
    talk = await Conversation.start(chat)
    await talk.send(LEARN_SWEDISH["ar"])
    assert talk.language == "ar"
    data = await talk.send(LEARN_SWEDISH["uk"])
    assert data["language"] == "uk"
    assert data["replies"][0]["text"] == content(chat).text("info_sfi", "uk")


async def test_short_replies_keep_arabic(chat) -> None:
    talk = await Conversation.start(chat)
    first = await talk.send(LEARN_SWEDISH["ar"])
    first_button = first["replies"][0]["buttons"][0]["payload"].lstrip("/")
    picked = await talk.send("1")
    assert picked["language"] == "ar"
    assert picked["replies"][0]["text"] == content(chat).text(first_button, "ar")
    for reply in ("ja", "ok", "haa"):
        assert (await talk.send(reply))["language"] == "ar", reply


async def test_language_picker_choice_wins_over_detection(chat) -> None:
    talk = await Conversation.start(chat)
    chosen = await talk.send(payload="/lang:so")
    assert chosen["language"] == "so"
    later = await talk.send("I want to learn the swedish language")
    assert later["language"] == "so"


async def test_session_opened_in_persian_answers_rtl(chat) -> None:
    talk = await Conversation.start(chat, language="fa")
    data = await talk.send(payload="/greet")
    assert data["language"] == "fa" and data["direction"] == "rtl"
    languages = await (await chat.get("/webchat/languages")).json()
    persian = next(item for item in languages["languages"] if item["code"] == "fa")
    assert persian["direction"] == "rtl" and persian["ui"]["send"] != "Send"
