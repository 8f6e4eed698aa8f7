"""Health, readiness, metrics and the chat page."""

from __future__ import annotations

from tests.conftest import Conversation


async def test_healthz_and_readyz(chat) -> None:
    assert (await chat.get("/healthz")).status == 200
    resp = await chat.get("/readyz")
    body = await resp.json()
    assert resp.status == 200, body
    assert body["checks"] == {"redis": "ok", "rasa": "ok"}


async def test_metrics_count_messages_by_channel_and_language(chat) -> None:
    talk = await Conversation.start(chat)
    await talk.say("hej")
    text = await (await chat.get("/metrics")).text()
    assert 'lotsen_messages_total{channel="webchat",language="sv"}' in text
    assert "lotsen_nlu_latency_seconds_count" in text


async def test_chat_page_and_assets_are_served(chat) -> None:
    page = await (await chat.get("/")).text()
    assert "/static/chat.js" in page and 'name="viewport"' in page
    assert (await chat.get("/static/chat.js")).status == 200
    languages = await (await chat.get("/webchat/languages")).json()
    swedish = next(item for item in languages["languages"] if item["code"] == "sv")
    assert (swedish["name"], swedish["direction"]) == ("Svenska", "ltr")
    assert swedish["ui"]["send"] == "Skicka"
    assert [item["code"] for item in languages["languages"]] == ["sv", "en", "ar", "so", "fa",
                                                                 "ti", "uk"]
