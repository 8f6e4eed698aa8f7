"""The satisfaction question through the real gateway and worker: people on the web chat,
Telegram and SMS (46elks) stand-ins ask for a coach, a coach closes, and each is asked in their
own language on their own channel (buttons; on SMS "reply 1–5" with no menu lines); a typed "4"
on SMS counts in GET /coach/api/stats; a number that said STOP is not asked; a second close in
the same week asks nothing. NLU is down (a closed port): none of this needs it."""

from __future__ import annotations

import asyncio
import re

import pytest
from aiohttp.test_utils import TestClient

from bot.core.keys import Keys
from bot.core.messages import Reply
from bot.core.stats.satisfaction import ASKED, NO_COMMENT, SCORE
from bot.runtime import worker
from bot.runtime.gateway import SERVICES, create_app
from connectors.sms_text import render
from tests.clock import TickingClock
from tests.conftest import Conversation
from tests.fakes import Providers
from tests.job_queue import queue_idle
from tests.journeys import CLOCK, PASSWORD, coach_logs_in, journey_settings, sms, telegram
from tests.waiting import until

PHONE, STOPPED = "+46701234567", "+46709990001"
CHAT = 424242
HANDOVER_STEPS = ("/handover:contact:chat", "/handover:district:Rinkeby", "/handover:age:20-29",
                  "/handover:topic:work")
MENU_LINE = re.compile(r"^\d+ ", re.MULTILINE)


@pytest.fixture
def clock() -> TickingClock:
    return TickingClock(CLOCK.now)


@pytest.fixture
def settings(prefix, providers, redis):
    return journey_settings(prefix, providers, telegram_chat_rate_per_second=100.0)


@pytest.fixture
async def gateway(aiohttp_client, settings, clock) -> TestClient:
    return await aiohttp_client(create_app(settings, clock=clock))


@pytest.fixture
async def running_worker(settings, clock):
    """The worker on the gateway's clock, sending the outbox to the fake providers."""
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(settings, stop, poll_seconds=0.2, clock=clock))
    yield
    stop.set()
    await asyncio.wait_for(task, 10)


async def web_asks_for_a_coach(gateway: TestClient, language: str,
                               talk: Conversation | None = None) -> Conversation:
    talk = talk or await Conversation.start(gateway, language=language)
    for payload in ("/request_coach", "/handover:yes"):
        await talk.send(payload=payload)
    await talk.send("Amina")
    for payload in HANDOVER_STEPS:
        await talk.send(payload=payload)
    return talk


async def telegram_asks_for_a_coach(gateway: TestClient, language: str) -> None:
    await telegram(gateway, chat=CHAT, button=f"/lang:{language}")
    for payload in ("/request_coach", "/handover:yes"):
        await telegram(gateway, chat=CHAT, button=payload)
    await telegram(gateway, "Amina", chat=CHAT)
    for payload in HANDOVER_STEPS:
        await telegram(gateway, chat=CHAT, button=payload)


async def sms_asks_for_a_coach(gateway: TestClient, number: str) -> None:
    """By typed numbers and words only: the topic menu (NLU is down), 7 a coach, 1 yes, a
    name, a district, 2 for 20–29, 1 for work."""
    for text in ("hej", "7", "1", "Amina", "Rinkeby", "2", "1"):
        await sms(gateway, text, number=number)


async def close(gateway: TestClient, browser: TestClient, csrf: dict, conversation: str) -> None:
    lead = await gateway.server.app[SERVICES].leads.open_for(conversation)
    assert lead is not None, conversation
    assert (await browser.post(f"/coach/api/leads/{lead.id}/claim", headers=csrf)).status == 200
    closed = await browser.post(f"/coach/api/leads/{lead.id}/close",
                                json={"outcome": "contacted"}, headers=csrf)
    assert closed.status == 200, await closed.text()


async def lead_language(gateway: TestClient, conversation: str) -> str:
    lead = await gateway.server.app[SERVICES].leads.open_for(conversation)
    assert lead is not None
    return lead.fields["language"]


def sms_to(providers: Providers, number: str) -> list[str]:
    return [m["message"] for m in providers.elks_sent if m["to"] == number]


async def operator_stats(gateway: TestClient, aiohttp_client) -> dict:
    services = gateway.server.app[SERVICES]
    await services.accounts.add("olga", PASSWORD, [], name="Olga", role="operator")
    olga = await aiohttp_client(gateway.server)
    login = await olga.post("/coach/api/login", json={"username": "olga", "password": PASSWORD})
    assert login.status == 200
    day = CLOCK.day().isoformat()
    resp = await olga.get("/coach/api/stats", params={"from": day, "to": day})
    assert resp.status == 200, await resp.text()
    return dict(await resp.json())


async def test_asked_on_web_telegram_and_sms_in_their_languages_and_a_typed_4_counts(
        gateway, aiohttp_client, providers, running_worker, redis, prefix, clock) -> None:
    content = gateway.server.app[SERVICES].content
    talk = await web_asks_for_a_coach(gateway, "ar")
    await telegram_asks_for_a_coach(gateway, "uk")
    await sms_asks_for_a_coach(gateway, PHONE)
    web, tg, text = f"webchat:{talk.session}", f"telegram:{CHAT}", f"sms:{PHONE}"
    assert [await lead_language(gateway, c) for c in (web, tg, text)] == ["ar", "uk", "sv"]
    before = (await talk.messages())[-1]["seq"]
    browser, csrf = await coach_logs_in(gateway, aiohttp_client)
    for conversation in (web, tg, text):
        await close(gateway, browser, csrf, conversation)

    # The web chat: the close, then the question with its five buttons, in Arabic.
    after = await talk.messages(after=before)
    assert [m["text"] for m in after] == [content.text("handover_closed", "ar"),
                                          content.text("satisfaction_question", "ar")]
    assert [b["payload"] for b in after[-1]["buttons"]] == list(SCORE.values())
    # Telegram: in Ukrainian, as an inline keyboard.
    question_uk = content.text("satisfaction_question", "uk")
    sent = await until(lambda: [m for m in providers.telegram_sent
                                if m["chat_id"] == CHAT and m["text"] == question_uk],
                       what="the question on Telegram")
    keyboard = sent[0]["reply_markup"]["inline_keyboard"]
    assert [b["callback_data"] for row in keyboard for b in row] == list(SCORE.values())
    # SMS: the short form in Swedish, "reply 1–5", and no numbered menu in either message.
    short = content.catalogs.gettext("sv", content.templates["satisfaction_question"].short or "")
    question_sms = render(Reply(short))
    await until(lambda: question_sms in sms_to(providers, PHONE), what="the question by SMS")
    closed_sms = render(Reply(content.text("handover_closed", "sv")))
    assert sms_to(providers, PHONE)[-2:] == [closed_sms, question_sms]
    assert "1-5" in question_sms and not MENU_LINE.search(question_sms)

    await sms(gateway, "4", number=PHONE)
    thanks = render(Reply(content.catalogs.gettext(
        "sv", content.templates["satisfaction_thanks"].short or "")))
    await until(lambda: sms_to(providers, PHONE)[-1] == thanks, what="the thanks by SMS")
    await talk.send(payload=SCORE[5])
    await talk.send(payload=NO_COMMENT)
    await telegram(gateway, chat=CHAT, button=SCORE[2])
    await until(lambda: queue_idle(redis, prefix, clock.timestamp()), what="every reply sent")

    stats = await operator_stats(gateway, aiohttp_client)
    assert stats["totals"]["satisfaction"] == {"1": 0, "2": 1, "3": 0, "4": 1, "5": 1}
    by_row = {(r["channel"], r["language"]): r["satisfaction"] for r in stats["days"]}
    assert by_row[("sms", "sv")]["4"] == 1
    assert by_row[("webchat", "ar")]["5"] == 1 and by_row[("telegram", "uk")]["2"] == 1
    assert stats["key_figures"]["satisfaction_answers"] == 3


async def test_a_stopped_number_is_not_asked_and_a_second_close_in_a_week_asks_nothing(
        gateway, aiohttp_client, providers, running_worker, redis, prefix, clock) -> None:
    content = gateway.server.app[SERVICES].content
    services = gateway.server.app[SERVICES]
    browser, csrf = await coach_logs_in(gateway, aiohttp_client)

    await sms_asks_for_a_coach(gateway, STOPPED)
    await sms(gateway, "STOP", number=STOPPED)
    await close(gateway, browser, csrf, f"sms:{STOPPED}")
    await until(lambda: queue_idle(redis, prefix, clock.timestamp()), what="every reply sent")
    assert not await redis.exists(Keys(prefix)(ASKED, conversation=f"sms:{STOPPED}"))
    state = await services.engine.store.load(f"sms:{STOPPED}")
    assert state.flow != "satisfaction" and SCORE[1] not in state.menu
    short = content.catalogs.gettext("sv", content.templates["satisfaction_question"].short or "")
    assert render(Reply(short)) not in sms_to(providers, STOPPED)

    talk = await web_asks_for_a_coach(gateway, "sv")
    await close(gateway, browser, csrf, f"webchat:{talk.session}")
    asked = content.text("satisfaction_question", "sv")
    assert (await talk.messages())[-1]["text"] == asked
    await talk.send("4")
    await web_asks_for_a_coach(gateway, "sv", talk)  # the same person, the same week
    before = (await talk.messages())[-1]["seq"]
    await close(gateway, browser, csrf, f"webchat:{talk.session}")
    after = await talk.messages(after=before)
    assert [m["text"] for m in after] == [content.text("handover_closed", "sv")]
    assert [b["payload"] for b in after[0]["buttons"]] == list(content.menus["main"])
    stats = await operator_stats(gateway, aiohttp_client)
    assert stats["totals"]["satisfaction"] == {"1": 0, "2": 0, "3": 0, "4": 1, "5": 0}
