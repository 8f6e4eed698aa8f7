"""Bad input gets a clear 4xx (or a polite reply) and changes nothing; never a stack trace."""

from __future__ import annotations

import pytest

from bot.core.keys import CONV_RATE
from tests.conftest import Conversation
from tests.redis_keys import conversation_keys


def assert_clean_error(body: str) -> None:
    assert "Traceback" not in body and "File \"" not in body


async def test_unknown_session_is_404(chat) -> None:
    resp = await chat.post("/webchat/sessions/" + "x" * 32 + "/messages", json={"text": "hej"})
    assert resp.status == 404
    body = await resp.json()
    assert "Unknown chat session" in body["error"]
    resp = await chat.get("/webchat/sessions/not-a-session/messages")
    assert resp.status == 404


@pytest.mark.parametrize(("raw", "message"), [
    (b"", "empty"), (b"{not json", "not valid JSON"), (b"[1, 2]", "JSON object"),
    (b'{"foo": 1}', '"text"'), (b'{"text": 5}', "strings"),
])
async def test_malformed_message_bodies_are_400(chat, raw: bytes, message: str) -> None:
    talk = await Conversation.start(chat)
    resp = await chat.post(f"/webchat/sessions/{talk.session}/messages", data=raw,
                           headers={"Content-Type": "application/json"})
    text = await resp.text()
    assert resp.status == 400 and message in (await resp.json())["error"]
    assert_clean_error(text)


async def test_unsupported_session_language_is_400(chat) -> None:
    resp = await chat.post("/webchat/sessions", json={"language": "klingon"})
    assert resp.status == 400 and "Unsupported language" in (await resp.json())["error"]


async def test_bad_after_parameter_is_400(chat) -> None:
    talk = await Conversation.start(chat)
    resp = await chat.get(f"/webchat/sessions/{talk.session}/messages?after=abc")
    assert resp.status == 400


async def test_100_kb_message_gets_polite_reply_and_nothing_is_stored(chat, redis, prefix) -> None:
    talk = await Conversation.start(chat)
    data = await talk.send("a" * 100_000)
    assert "too long" in data["replies"][0]["text"] or "för långt" in data["replies"][0]["text"]
    assert await conversation_keys(redis, prefix, without=[CONV_RATE]) == []
    assert await talk.messages() == []


async def test_body_over_a_megabyte_is_413_json(chat) -> None:
    talk = await Conversation.start(chat)
    resp = await chat.post(f"/webchat/sessions/{talk.session}/messages",
                           data=b'{"text": "' + b"a" * 1_100_000 + b'"}',
                           headers={"Content-Type": "application/json"})
    assert resp.status == 413 and "too large" in (await resp.json())["error"]


async def test_unknown_route_and_wrong_method_are_json(chat) -> None:
    resp = await chat.get("/nope")
    assert resp.status == 404 and (await resp.json())["error"]
    resp = await chat.delete("/webchat/sessions")
    assert resp.status == 405 and (await resp.json())["error"]


async def test_admin_parse_needs_the_token(chat) -> None:
    resp = await chat.post("/api/nlu/parse", json={"text": "hej"})
    assert resp.status == 401
    resp = await chat.post("/api/nlu/parse", json={"text": "hej"},
                           headers={"Authorization": "Bearer wrong"})
    assert resp.status == 401
    resp = await chat.post("/api/nlu/parse", json={"text": "var ligger jobbtorg i kista"},
                           headers={"Authorization": "Bearer test-admin"})
    body = await resp.json()
    assert resp.status == 200
    assert body["intent"]["name"] == "ask_location" and 0 < body["intent"]["confidence"] <= 1
    assert body["language"] == "sv"
    assert {"entity": "district", "value": "Kista"} in body["entities"]
